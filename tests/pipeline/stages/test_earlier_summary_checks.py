"""The earlier-delivery summary checked against the delivery folder: built when absent, brought
up to date, rebuilt when stale, failing closed (exit 3) when a covered extract is missing or
changed, and safe against a run killed part-way; unit labels equal to connected components
computed over every row at once."""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.config import PipelineConfig, parse_config
from pipeline.errors import DataError
from pipeline.stages.earlier_summary import INDEX, recipient_holdings
from pipeline.stages.earlier_units import UNIT, Units
from pseudonym.digests import file_sha256

QIS = ["age_band"]


def config(tmp_path: Path, recipient: str = "tre-a") -> PipelineConfig:
    doc: dict[str, Any] = {
        "project": "p",
        "environment": "e",
        "sources": [{"name": "a", "path": "a.csv", "columns": {"n": "surname", "x": "attribute"}}],
        "keystore": {"path": "k"},
        "delivery": {"path": "out", "state_dir": "state"},
        "approved_attributes": ["x"],
        "approvals": {
            "reference": "DSA-1",
            "approved_recipients": ["tre-a", "tre-b"],
            "expires": "2099-01-01",
            "recipient": recipient,
        },
    }
    return parse_config(doc, base_dir=tmp_path)


def deliver(tmp_path: Path, run: str, people: list[str], nhs: list[str | None]) -> Path:
    """A delivery folder as the pipeline writes it: one extract and its manifest."""
    folder = tmp_path / "out" / run
    folder.mkdir(parents=True)
    frame = pl.DataFrame(
        {"person_id": people, "pid_nhs": nhs, "age_band": ["0-9"] * len(people)},
        schema={"person_id": pl.String, "pid_nhs": pl.String, "age_band": pl.String},
    )
    frame.write_parquet(folder / "a.parquet")
    outputs = {"a.parquet": {"sha256": file_sha256(folder / "a.parquet"), "rows": frame.height}}
    manifest = {
        "kind": "pipeline-run",
        "run_id": run,
        "project": "p",
        "environment": "e",
        "sources": {"a": {}},
        "outputs": outputs,
        "approvals": {"recipient": "tre-a"},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def index(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "state" / "earlier" / INDEX).read_text())


def test_built_when_absent_then_brought_up_to_date(tmp_path: Path) -> None:
    deliver(tmp_path, "run-1", ["P1", "P2"], ["N1", None])
    held = recipient_holdings(config(tmp_path), QIS)
    assert list(held.files) == ["run-1/a.parquet"]
    assert held.units.count == 2
    written = (tmp_path / "state" / "earlier" / INDEX).stat().st_mtime_ns
    recipient_holdings(config(tmp_path), QIS)  # nothing new: not rewritten
    assert (tmp_path / "state" / "earlier" / INDEX).stat().st_mtime_ns == written
    deliver(tmp_path, "run-2", ["P3", "P2"], ["N1", "N2"])  # P3 joins P1 through N1
    held = recipient_holdings(config(tmp_path), QIS)
    assert list(held.files) == ["run-1/a.parquet", "run-2/a.parquet"]
    assert held.units.count == 2
    assert recipient_holdings(config(tmp_path), QIS, exclude="run-2").units.count == 2
    folder = tmp_path / "state" / "earlier"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert set(modes.values()) == {0o600}  # owner-only, as the rest of the state
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_no_summary_before_a_first_delivery(tmp_path: Path) -> None:
    assert recipient_holdings(config(tmp_path), QIS).files == {}
    assert not (tmp_path / "state" / "earlier").exists()


def test_a_missing_or_changed_covered_extract_fails_closed(tmp_path: Path) -> None:
    folder = deliver(tmp_path, "run-1", ["P1", "P2"], ["N1", None])
    recipient_holdings(config(tmp_path), QIS)
    stat = os.stat(folder / "a.parquet")
    os.utime(folder / "a.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    recipient_holdings(config(tmp_path), QIS)  # touched, same bytes: checked again, fine
    assert index(tmp_path)["files"][0]["stat"][1] == stat.st_mtime_ns + 10**9
    pl.DataFrame({"person_id": ["P9"]}).write_parquet(folder / "a.parquet")
    with pytest.raises(DataError, match=r"run-1/a\.parquet: .* differs from its manifest"):
        recipient_holdings(config(tmp_path), QIS)
    (folder / "a.parquet").unlink()
    with pytest.raises(DataError, match=r"run-1/a\.parquet: .* is missing"):
        recipient_holdings(config(tmp_path), QIS)


def test_a_stale_summary_is_rebuilt_from_the_extracts(tmp_path: Path) -> None:
    first = deliver(tmp_path, "run-1", ["P1", "P2"], ["N1", None])
    deliver(tmp_path, "run-2", ["P3"], ["N1"])
    assert recipient_holdings(config(tmp_path), QIS).units.count == 2
    for path in first.iterdir():  # a delivery withdrawn: its units go with it
        path.unlink()
    first.rmdir()
    held = recipient_holdings(config(tmp_path), QIS)
    assert list(held.files) == ["run-2/a.parquet"]
    assert held.units.count == 1
    held = recipient_holdings(config(tmp_path), ["age_band", "sex"])  # other settings
    assert index(tmp_path)["quasi_identifiers"] == ["age_band", "sex"]
    assert held.units.count == 1


def test_a_run_killed_mid_update_leaves_the_last_summary(tmp_path: Path) -> None:
    deliver(tmp_path, "run-1", ["P1", "P2"], ["N1", None])
    recipient_holdings(config(tmp_path), QIS)
    before = index(tmp_path)
    folder = tmp_path / "state" / "earlier"
    leftover = folder / f"part-{before['next_part']:06d}.parquet"  # written, never committed
    pl.DataFrame({"person_id": [1]}).write_parquet(leftover)
    # A summary naming a delivery that was never promoted (killed before the rename).
    ghost = {**before["files"][0], "label": "run-x/a.parquet"}
    doc = {**before, "files": [*before["files"], ghost]}
    (folder / INDEX).write_text(json.dumps(doc))
    deliver(tmp_path, "run-2", ["P3"], ["N1"])
    held = recipient_holdings(config(tmp_path), QIS)
    assert list(held.files) == ["run-1/a.parquet", "run-2/a.parquet"]  # rebuilt
    assert held.units.count == 2
    named = {INDEX, index(tmp_path)["units"]["merges"]}
    named |= {f["part"] for f in index(tmp_path)["files"]}
    assert {p.name for p in folder.iterdir()} == named  # leftovers removed


def _components(frames: list[pl.DataFrame], keys: list[str]) -> tuple[int, list[int]]:
    """Connected components over every row of ``frames`` at once (one label per row)."""
    rows = pl.concat([f.select(keys) for f in frames])
    n, edges, base = rows.height, [], rows.height
    for key in keys:
        codes = rows.get_column(key).cast(pl.String).cast(pl.Categorical).to_physical()
        pairs = pl.DataFrame({"row": range(n), "node": codes.cast(pl.Int64) + base}).drop_nulls()
        edges.append(pairs)
        base += int(codes.max() or 0) + 1  # type: ignore[arg-type]
    pairs = pl.concat(edges)
    a, b = pairs["row"].to_numpy(), pairs["node"].to_numpy()
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(base, base))
    labels = connected_components(graph, directed=False)[1][:n]
    return len(set(labels.tolist())), labels.tolist()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unit_labels_equal_components_over_every_row(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    keys = ["person_id", "pid_nhs"]
    units, frames, parts = Units.empty(), [], []
    for n in range(6):
        size = rng.randint(0, 40)
        frame = pl.DataFrame(
            {k: [rng.choice([None, *range(30)]) for _ in range(size)] for k in keys},
            schema=dict.fromkeys(keys, pl.Int64),
        )
        labelled = frame.with_columns(units.label(frame, keys, parts))
        path = tmp_path / f"part-{n}.parquet"
        labelled.write_parquet(path)
        parts.append((path, keys))
        frames.append(frame)
    count, expected = _components(frames, keys)
    labels = units.root(pl.concat([pl.read_parquet(p).get_column(UNIT) for p, _ in parts]))
    assert units.count == count == labels.n_unique()
    pairs = set(zip(expected, labels.to_list(), strict=True))
    assert len(pairs) == count  # the same partition of the rows


def _random_file(rng: random.Random, rows: int) -> pl.DataFrame:
    """Rows of 40 persons (a person ID and an NHS pseudonym each, sometimes missing; now and
    then a row joining one person's ID to the next one's NHS pseudonym), quasi-identifiers
    mostly the person's own, now and then another value (varying within a person)."""
    people = [rng.randrange(40) for _ in range(rows)]
    bridge = [rng.random() < 0.03 for _ in range(rows)]
    return pl.DataFrame(
        {
            "person_id": [None if rng.random() < 0.1 else f"P{p}" for p in people],
            "pid_nhs": [
                None if rng.random() < 0.1 else f"N{p + b}"
                for p, b in zip(people, bridge, strict=True)
            ],
            "age_band": [
                rng.choice(["0-9", "10-19"]) if rng.random() < 0.1 else ["0-9", "10-19"][p % 2]
                for p in people
            ],
            "sex": [["F", "M"][p // 2 % 2] for p in people],
        }
    )


def _treated(current: dict[str, pl.DataFrame], earlier: Any, keys: list[str]) -> Any:
    """Linked treatment and risk of ``current`` given ``earlier``; the error if it fails."""
    from pipeline.disclosure import KAnonymitySettings, anonymise_linked, linked_risk
    from pipeline.disclosure.errors import DisclosureError

    qis = ["age_band", "sex"]
    settings = KAnonymitySettings(k=2, quasi_identifiers=qis, suppression_budget=1.0)
    try:
        treated, report = anonymise_linked(current, settings, keys=keys, earlier=earlier)
    except DisclosureError as error:
        return str(error)
    risk = linked_risk(treated, qis, keys=keys, earlier=earlier)
    return {n: f.to_dict(as_series=False) for n, f in treated.items()}, report, risk


def test_relevant_rows_give_the_same_linked_treatment_as_whole_files(tmp_path: Path) -> None:
    from pipeline.stages.earlier import Delivered, WholeExtracts, hashed_key
    from pipeline.stages.earlier_summary import Summary

    keys, treated = ["person_id", "pid_nhs"], 0
    for seed in range(8):
        rng = random.Random(seed)
        earlier = {f"run-{n}/a.parquet": _random_file(rng, rng.randint(5, 60)) for n in range(3)}
        summary = Summary.empty(tmp_path / f"earlier-{seed}", {})
        for label, frame in earlier.items():
            path = tmp_path / f"{seed}-{label.replace('/', '-')}"
            frame.write_parquet(path)
            hashed = frame.with_columns(hashed_key(k) for k in keys)
            summary.add(Delivered(label, path, {"sha256": "-"}), hashed)
        current = {
            f"f{n}": _random_file(rng, 60).with_columns(hashed_key(k) for k in keys)
            for n in range(2)
        }
        whole = WholeExtracts(earlier).relevant(keys, current)
        part = summary.relevant(keys, current)
        held = sum(f.height for f in part.frames.values())
        assert held <= sum(f.height for f in earlier.values())
        expected = _treated(current, whole, keys)
        assert _treated(current, part, keys) == expected
        treated += not isinstance(expected, str)
    assert treated >= 4  # most seeds are treated, not refused
