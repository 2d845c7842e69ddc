"""What a recipient holds and what an intruder does with it: the delivered extracts of each run,
read back from the delivery folder, joined in every combination on every shared key
(:mod:`tests.pipeline.disclosure.linked_attack`, brute force and independent of
``pipeline.disclosure``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from tests.pipeline.disclosure.linked_attack import (
    expected_reidentifications,
    joins,
    smallest_class,
)


def deliveries(out: Path) -> list[dict[str, pl.DataFrame]]:
    """Each delivery's extracts (``<run>/<source>.parquet``), in the order they were made."""
    found = []
    for manifest_path in sorted(out.glob("run-*/manifest.json"), key=lambda p: p.stat().st_mtime):
        manifest = json.loads(manifest_path.read_text())
        folder = manifest_path.parent
        found.append(
            {
                f"{folder.name}/{source}.parquet": pl.read_parquet(folder / f"{source}.parquet")
                for source in manifest["sources"]
                if (folder / f"{source}.parquet").exists()
            }
        )
    return found


def shared_keys(frames: Mapping[str, pl.DataFrame]) -> list[str]:
    """Columns a recipient can join on: the person ID and pseudonyms."""
    return sorted(
        {c for f in frames.values() for c in f.columns if c == "person_id" or c.startswith("pid_")}
    )


def attack(
    current: Mapping[str, pl.DataFrame],
    earlier: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
) -> list[tuple[str, int, float]]:
    """(join, fewest persons any joined row matches, expected re-identifications) for every
    join of files holding at least one current file, on every shared key."""
    frames = {**earlier, **current}
    out = []
    for key, files, joined in joins(frames, shared_keys(frames), list(current)):
        columns = [f"{n}.{q}" for n in files for q in quasi_identifiers if q in frames[n].columns]
        smallest = smallest_class(joined, columns)
        if smallest is None:
            continue
        expected = expected_reidentifications(joined, columns) if columns else 0.0
        out.append((f"{key}: {'+'.join(files)}", smallest, expected))
    return out
