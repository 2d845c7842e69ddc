"""The deliver stage on its own: what goes in each file, the quarantine's order, the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.manifest import read_manifest, write_manifest
from pipeline.stages.deliver import deliver, update_index
from pipeline.stages.parts import Part, PartSet
from pseudonym.digests import file_sha256
from tests.pipeline.run_facts_support import run_facts, two_source_config


def extract() -> pl.DataFrame:
    """De-identified rows of both sources, as the deidentify stage decides them."""
    return pl.DataFrame(
        {
            "_source": ["hospital"] * 3 + ["gp"] * 2,
            "pid_nhs": [f"research1_{i:026d}" for i in range(5)],
            "ethnicity": ["A1", "B2", "A1", None, None],
            "region_code": [None, None, None, "R1", "R2"],
        }
    )


OWN = {"hospital": ["ethnicity"], "gp": ["region_code"]}


def parts(folder: Path, frame: pl.DataFrame, chunk: int = 2) -> PartSet:
    """``frame`` as the deidentify stage writes it: per source, parts of ``chunk`` rows with
    the source's own columns as delivered (``_source`` as ``source_dataset``)."""
    out = PartSet(folder)
    out.start()
    listed = []
    for n, (source, own) in enumerate(OWN.items()):
        rows = frame.filter(pl.col("_source") == source).select("_source", "pid_nhs", *own)
        rows = rows.rename({"_source": "source_dataset"})
        for start in range(0, rows.height, chunk):
            name = f"{n:05d}-{start:05d}.parquet"
            out.write(name, rows.slice(start, chunk))
            listed.append(Part(name, source, rows.slice(start, chunk).height))
    out.finish(listed)
    return out


def test_each_sources_parts_become_one_file_and_the_manifest_checks_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = run_facts(two_source_config(tmp_path, monkeypatch))
    out = tmp_path / "staging" / facts.run_id
    out.mkdir(parents=True)
    (out / "stale.parquet").write_text("from a killed run")
    seen_at_timing: list[list[str]] = []

    def stage_seconds() -> dict[str, float]:
        seen_at_timing.append(sorted(p.name for p in out.iterdir()))
        return {"deliver": 0.25}

    manifest = deliver(
        out, parts(tmp_path / "parts", extract()), facts, stage_seconds=stage_seconds
    )
    names = ["gp.parquet", "hospital.parquet", "quarantine.parquet"]
    assert seen_at_timing == [names]  # timed once, after the extracts were written
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "manifest.json", "report.html"])
    hospital, gp = pl.read_parquet(out / "hospital.parquet"), pl.read_parquet(out / "gp.parquet")
    assert hospital.columns == ["source_dataset", "pid_nhs", "ethnicity"] and hospital.height == 3
    assert gp.columns == ["source_dataset", "pid_nhs", "region_code"] and gp.height == 2
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert quarantine.columns == ["source_dataset", "file", "row", "stage", "column", "reason"]
    # CSV records count the header as 1 inside a run; delivered rows count data rows
    assert quarantine.select("source_dataset", "row", "column").rows() == [
        ("gp", 1, "nhs_no"),
        ("hospital", 2, "dob"),
        ("hospital", 6, "nhs_no"),
    ]
    assert list(manifest["outputs"]) == ["hospital.parquet", "gp.parquet", "quarantine.parquet"]
    for name, entry in manifest["outputs"].items():
        assert entry["sha256"] == file_sha256(out / name)
    assert manifest["outputs"]["quarantine.parquet"]["rows"] == 3
    assert read_manifest(out / "manifest.json") == manifest
    assert manifest["kind"] == "pipeline-run" and manifest["stage_seconds"] == {"deliver": 0.25}
    assert facts.run_id in (out / "report.html").read_text()


def test_a_source_without_files_in_the_batch_gets_no_extract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = run_facts(two_source_config(tmp_path, monkeypatch), gp_files=False)
    hospital_only = parts(tmp_path / "parts", extract().filter(pl.col("_source") == "hospital"))
    manifest = deliver(tmp_path / "out", hospital_only, facts, stage_seconds=dict)
    assert sorted(manifest["outputs"]) == ["hospital.parquet", "quarantine.parquet"]
    assert not (tmp_path / "out" / "gp.parquet").exists()
    assert manifest["sources"]["gp"]["files"] == 0


def test_the_extracts_bytes_do_not_depend_on_the_part_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = run_facts(two_source_config(tmp_path, monkeypatch))
    many = pl.concat([extract()] * 100_000).with_columns(  # more than one row group
        pl.format("research1_{}", pl.int_range(pl.len())).alias("pid_nhs")
    )
    digests = []
    for chunk in (1_000_000, 70_001, 30_000):
        out = tmp_path / f"out-{chunk}"
        delivered = parts(tmp_path / f"parts-{chunk}", many, chunk)
        manifest = deliver(out, delivered, facts, stage_seconds=dict)
        digests.append({n: e["sha256"] for n, e in manifest["outputs"].items()})
    assert digests[0] == digests[1] == digests[2]
    assert pl.read_parquet(tmp_path / "out-30000/hospital.parquet").height == 300_000


def _delivered_run(delivery: Path, run_id: str) -> None:
    (delivery / run_id).mkdir(parents=True)
    body = {"run_id": run_id, "outputs": {"a.parquet": {}}, "totals": {"input_rows": 1}}
    write_manifest(delivery / run_id / "manifest.json", "pipeline-run", body)


def test_the_index_keeps_delivery_order_and_ends_with_the_latest(tmp_path: Path) -> None:
    _delivered_run(tmp_path, "run-bbbb")
    update_index(tmp_path, "run-bbbb")
    _delivered_run(tmp_path, "run-aaaa")  # made in the same second, sorts first by name
    index = update_index(tmp_path, "run-aaaa")
    assert [r["run_id"] for r in index["runs"]] == ["run-bbbb", "run-aaaa"]
    assert index["latest"]["manifest"] == "run-aaaa/manifest.json"
    assert json.loads((tmp_path / "index.json").read_text()) == index
    (tmp_path / "index.json").write_text("{not json")  # rebuilt from the manifests
    _delivered_run(tmp_path, "run-0000")
    rebuilt = update_index(tmp_path, "run-0000")
    assert [r["run_id"] for r in rebuilt["runs"]][-1] == "run-0000"
    assert len(rebuilt["runs"]) == 3
