"""Stage 5: assemble the de-identified delivery in a staging folder; the runner promotes it.

Contract: ``extract`` holds :func:`deidentify.deidentify`'s parts (per source, the columns as
delivered: ``source_dataset``, ``person_id`` and ``linked`` when linkage ran, ``pid_*``
pseudonyms, ``record_key``, the source's approved and derived attributes; no column name
starts with ``_``, :func:`pipeline.quarantine.without_leading_underscores`); the quarantine in
:class:`~pipeline.manifest.RunFacts` has the columns of :data:`pipeline.ingest.QUARANTINE_SCHEMA`.
Writes into ``out``:

* ``<source>.parquet`` for each source with files in this batch: its parts streamed into one
  file in row groups of :data:`ROW_GROUP_ROWS` rows, so the bytes depend on the rows only,
  not on how they were chunked;
* ``quarantine.parquet`` in the published format of :mod:`pipeline.quarantine` (data row
  numbers, input column names and reasons, no values), ordered by source, file and row;
* ``manifest.json`` (:func:`pipeline.manifest.run_manifest_body`) and ``report.html``
  (:mod:`pipeline.run_report`).

Nothing here opens a keystore or a linker: key IDs and counts arrive in the facts.

After promotion the runner calls :func:`update_index`: ``<delivery>/index.json`` lists every
delivered run (folder, manifest, report, outputs, row totals) and names the latest, so a
researcher or a script finds the newest extract without listing folders.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import atomic_path, write_text_atomic, write_with_atomic
from pipeline.config import PipelineConfig
from pipeline.manifest import RunFacts, read_manifest, run_manifest_body, write_manifest
from pipeline.quarantine import published_quarantine
from pipeline.run_report import render_report
from pipeline.stages.parts import PartSet
from pseudonym.digests import file_sha256

MANIFEST_KIND = "pipeline-run"
INDEX_FILE = "index.json"
INDEX_FORMAT = "pprl-delivery-index/1"
ROW_GROUP_ROWS = 262_144
Outputs = dict[str, dict[str, Any]]  # file name -> {"sha256", "rows"}


def deliver(
    out: Path,
    extract: PartSet,
    facts: RunFacts,
    *,
    stage_seconds: Callable[[], dict[str, float]],
) -> dict[str, Any]:
    """Write the delivery into ``out`` and return its manifest.

    ``out`` is emptied first (a killed run's half-assembled folder is rebuilt).
    ``stage_seconds`` is called just before the manifest is written, so this stage's own
    seconds include writing the extracts.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    outputs = write_extracts(out, extract, facts.config, {f.source for f in facts.files})
    header_rows = {s.name: 1 if s.format == "csv" else 0 for s in facts.config.sources}
    quarantine = published_quarantine(facts.quarantine, header_rows)
    outputs["quarantine.parquet"] = _write_parquet(out / "quarantine.parquet", quarantine)
    body = run_manifest_body(facts, outputs, stage_seconds())
    manifest = write_manifest(out / "manifest.json", MANIFEST_KIND, body)
    diagnostics = facts.linking.get("diagnostics", {})
    page = render_report(manifest, facts.probabilities, diagnostics)
    write_text_atomic(out / "report.html", page)
    return manifest


def write_extracts(
    out: Path, extract: PartSet, config: PipelineConfig, batch_sources: set[str]
) -> Outputs:
    """One Parquet file per source that has files in this batch, in config order."""
    outputs: Outputs = {}
    for source in config.sources:
        parts = extract.parts(source.name)
        if source.name not in batch_sources or not parts:
            continue  # an incremental batch with no new files for this source
        name = f"{source.name}.parquet"
        with atomic_path(out / name) as tmp:
            extract.scan(parts).sink_parquet(tmp, row_group_size=ROW_GROUP_ROWS)
        outputs[name] = {"sha256": file_sha256(out / name), "rows": sum(p.rows for p in parts)}
    return outputs


def _write_parquet(path: Path, frame: pl.DataFrame) -> dict[str, Any]:
    write_with_atomic(path, frame.write_parquet)
    return {"sha256": file_sha256(path), "rows": frame.height}


def update_index(delivery_dir: Path, latest: str) -> dict[str, Any]:
    """Rewrite ``delivery_dir/index.json`` (atomically) from the delivered runs' manifests:
    runs in the order they were delivered (as the index listed them, then any it did not by
    creation time), ending with ``latest``, the run just delivered; return the index."""
    path = delivery_dir / INDEX_FILE
    entries = {
        entry["run_id"]: entry
        for entry in map(_index_entry, sorted(delivery_dir.glob("run-*/manifest.json")))
    }
    listed = [r for r in _listed_runs(path) if r in entries and r != latest]
    others = sorted(
        (r for r in entries if r not in listed and r != latest),
        key=lambda r: (str(entries[r]["created"]), r),
    )
    order = [*listed, *others, *([latest] if latest in entries else [])]
    runs = [entries[r] for r in order]
    index = {"format": INDEX_FORMAT, "latest": entries.get(latest), "runs": runs}
    write_text_atomic(path, json.dumps(index, indent=2) + "\n")
    return index


def _index_entry(manifest_path: Path) -> dict[str, Any]:
    manifest = read_manifest(manifest_path)
    folder = manifest_path.parent.name
    return {
        "run_id": manifest["run_id"],
        "created": manifest.get("created"),
        "folder": folder,
        "manifest": f"{folder}/manifest.json",
        "report": f"{folder}/report.html",
        "outputs": sorted(manifest["outputs"]),
        "totals": manifest["totals"],
    }


def _listed_runs(path: Path) -> list[str]:
    """Run IDs in the order an existing index lists them (none if it is missing or unreadable:
    the index is rebuilt from the manifests)."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        return [str(r["run_id"]) for r in index["runs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
