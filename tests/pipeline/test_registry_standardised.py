"""The registry keeps each record's standardised link columns, so a later batch does not
standardise the earlier records it reads again: same deliveries as before, and a registry
written before the columns were kept is rewritten with them.

Two projects share one keystore and the same synthetic batches (:func:`write_demo_sources`,
split into four runs, the last repeating known patients). ``before`` runs as pprl did before
the change: the registry keeps no standardised column (``BlockKeys.stored`` empty), so each
earlier record read is standardised again. ``after`` runs its first two runs the same way,
then the current code: the registry those runs wrote is rewritten when first opened, and the
last two runs read the kept columns. Every delivered file and clerical-review file must be
equal, run by run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import pipeline.stages.link_records as link_records
from pipeline.commands.demo import demo_config
from pipeline.config import load_config
from pipeline.registry import MANIFEST, REGISTRY_DIR, STD_PREFIX
from pipeline.runner import run_pipeline
from pipeline.stages.link_keys import BlockKeys
from synthetic import split_demo_sources, write_demo_sources
from tests.pipeline.runner_support import demo_keys, without_chart_rendering

BATCHES = [
    ["hospital/ep-0.csv", "gp/reg-0.parquet"],
    ["hospital/ep-1.csv", "gp/reg-1.parquet"],
    ["hospital/ep-2.csv"],
    ["hospital/ep-3.csv"],  # the last 150 episodes again: known patients
]
OLD_RUNS = {"before": 4, "after": 2}  # runs made without the kept columns


def _project(root: Path, name: str) -> Path:
    """A project in ``root/name`` with the same relative paths as the other (record ids, and
    so record keys, depend on them), sharing the keystore ``root/keys``."""
    config = demo_config(".", "../keys", "out")
    config["sources"][0]["path"] = "in/hospital/*.csv"  # type: ignore[index]
    config["sources"][1]["path"] = "in/gp/*.parquet"  # type: ignore[index]
    config["sources"][1]["allow_empty"] = True  # type: ignore[index]
    config["delivery"] = {"path": "out", "work_dir": "work"}
    config["disclosure"]["quasi_identifiers"] = []  # type: ignore[index]
    (root / name / "in" / "hospital").mkdir(parents=True)
    (root / name / "in" / "gp").mkdir()
    path = root / name / "pprl.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


_FOR_SPEC = BlockKeys.for_spec


def _without_kept_columns(spec: Any) -> BlockKeys:
    """The registry keys as pprl computed them before: no standardised column kept."""
    return BlockKeys(_FOR_SPEC(spec).keys)


def _counting(counted: list[int]) -> Any:
    real = link_records.standardise_view

    def standardise(view: pl.DataFrame) -> pl.DataFrame:
        counted.append(view.height)
        return real(view)

    return standardise


def _run(root: Path, name: str, patch: pytest.MonkeyPatch, n: int) -> dict[str, Any]:
    for f in BATCHES[n]:
        (root / name / "in" / f).write_bytes((root / "split" / f).read_bytes())
    counted: list[int] = []
    with patch.context() as inner:
        if n < OLD_RUNS[name]:
            inner.setattr(BlockKeys, "for_spec", staticmethod(_without_kept_columns))
        inner.setattr(link_records, "standardise_view", _counting(counted))
        summary = run_pipeline(load_config(root / name / "pprl.yaml"))
    assert summary.delivery_dir is not None and summary.run_id is not None
    manifest = json.loads((summary.delivery_dir / "manifest.json").read_text(encoding="utf-8"))
    review = root / name / "work" / "review" / f"{summary.run_id}.csv"
    return {
        "manifest": manifest,
        "files": {
            f.name: pl.read_parquet(f) for f in sorted(summary.delivery_dir.glob("*.parquet"))
        },
        "review": review.read_text(encoding="utf-8") if review.exists() else None,
        "standardised_rows": sum(counted),
        "registry_columns": _registry_columns(root / name / "work"),
        "kept": BlockKeys.for_spec(load_config(root / name / "pprl.yaml").linkage).stored,
    }


def _registry_columns(work: Path) -> set[str]:
    manifest = json.loads((work / REGISTRY_DIR / MANIFEST).read_text(encoding="utf-8"))
    return {
        c
        for p in manifest["parts"]
        for c in pl.read_parquet_schema(work / REGISTRY_DIR / p["name"])
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("kept")
    written = write_demo_sources(root / "inputs", n=600, seed=11)
    (root / "split").mkdir()
    split_demo_sources(written.hospital_path.parent, root / "split", repeat_last=150)
    out: dict[str, list[dict[str, Any]]] = {}
    with pytest.MonkeyPatch.context() as patch:
        demo_keys(root, patch)
        without_chart_rendering(patch)  # the reports are not compared
        patch.chdir(root)
        for name in OLD_RUNS:
            _project(root, name)
            out[name] = [_run(root, name, patch, n) for n in range(len(BATCHES))]
    return out


def test_deliveries_and_review_files_equal_those_of_restandardising(
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    for n, (old, new) in enumerate(zip(runs["before"], runs["after"], strict=True)):
        assert old["files"].keys() == new["files"].keys(), n
        for name, frame in old["files"].items():
            other = new["files"][name]
            differ = [c for c in frame.columns if not frame[c].equals(other[c])]
            assert not differ, (n, name, differ)
        assert old["review"] == new["review"], n
        assert old["manifest"]["linkage"] == new["manifest"]["linkage"], n
        assert old["manifest"]["totals"] == new["manifest"]["totals"], n


def test_later_runs_read_earlier_records_without_standardising_them(
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    for n in (2, 3):
        old, new = runs["before"][n], runs["after"][n]
        read = new["manifest"]["linkage"]["entities"]["earlier_records_read"]
        batch = new["manifest"]["totals"]["delivered"]
        assert read > 0 and batch > 0
        assert new["standardised_rows"] == batch  # the batch only
        assert old["standardised_rows"] == batch + read  # the batch and the history read
    assert sum(runs["after"][3]["manifest"]["linkage"]["entities"].values()) > 0


def test_a_registry_written_without_the_columns_is_rewritten_with_them(
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    assert not any(c.startswith(STD_PREFIX) for c in runs["after"][1]["registry_columns"])
    for later in runs["after"][2:]:
        kept = {c for c in later["registry_columns"] if c.startswith(STD_PREFIX)}
        assert kept == {f"{STD_PREFIX}{c}" for c in later["kept"]}
        assert {"first_name", "surname", "date_of_birth"} <= set(later["kept"])
