"""``pprl demo`` end to end: delivers, accounts for every row, leaks nothing, keeps no secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.demo import IDENTIFYING_COLUMNS, MASTER_KEY_ENV
from pipeline.leakscan import known_values, scan_paths


def _run(out: Path, rows: int = 400) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--rows", str(rows)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One 400-row demo (its folder and console output) for the tests that only read it."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    code, output = _run(out)
    assert code == 0, output
    return out, output


def test_demo_delivers_and_accounts_for_every_row(demo: tuple[Path, str]) -> None:
    out, output = demo
    manifest_path = next((out / "delivery").glob("run-*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    totals = manifest["totals"]
    inputs = pl.read_csv(out / "inputs" / "hospital_episodes.csv", infer_schema_length=0).height
    inputs += pl.read_parquet(out / "inputs" / "gp_register.parquet").height
    assert totals["input_rows"] == inputs
    assert totals["delivered"] + totals["quarantined"] == inputs
    assert totals["linked"] > 0.5 * totals["delivered"]  # most people are in both files
    delivered = sum(
        pl.read_parquet(p).height
        for p in manifest_path.parent.glob("*.parquet")
        if p.name != "quarantine.parquet"
    )
    assert delivered == totals["delivered"]
    assert (manifest_path.parent / "report.html").exists()
    assert "leak scan" in output


def test_demo_outputs_and_console_hold_no_identifying_value(demo: tuple[Path, str]) -> None:
    out, output = demo
    hospital = pl.read_csv(out / "inputs" / "hospital_episodes.csv", infer_schema_length=0)
    gp = pl.read_parquet(out / "inputs" / "gp_register.parquet")
    values = known_values(hospital, IDENTIFYING_COLUMNS["hospital"])
    values |= known_values(gp, IDENTIFYING_COLUMNS["gp"])
    assert len(values) > 1000  # the scan has something to look for
    assert scan_paths([out / "delivery"], values) == []
    assert not [v for v in values if len(v) >= 6 and v in output]


def test_demo_keeps_no_master_key_anywhere(demo: tuple[Path, str]) -> None:
    out, _ = demo
    assert MASTER_KEY_ENV not in os.environ
    keystore_files = [p for p in (out / "keystore").rglob("*") if p.is_file()]
    assert keystore_files and not any(p.suffix == ".key" for p in keystore_files)


def test_demo_reruns_from_scratch_but_refuses_foreign_folders(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert _run(out, rows=200)[0] == 0
    assert _run(out, rows=200)[0] == 0  # an earlier demo folder is replaced
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious.csv").write_text("a,b\n")
    code, output = _run(foreign, rows=200)
    assert code == 2
    assert "not a pprl demo folder" in output
    assert (foreign / "precious.csv").exists()


def test_demo_gives_each_nhs_number_one_person_and_each_person_one_nhs_number_per_source(
    tmp_path: Path,
) -> None:
    # the demo at its default size (before identifiers were linkage evidence, 98 of the
    # 2,635 NHS numbers seen in both sources were split across person_ids)
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = next((out / "delivery").glob("run-*"))
    delivered = pl.concat(
        [pl.read_parquet(run / f"{s}.parquet").select("source_dataset", "pid_nhs", "person_id")
         for s in ("hospital", "gp")]
    ).drop_nulls("pid_nhs")  # fmt: skip
    per_number = delivered.group_by("pid_nhs").agg(
        pl.col("person_id").n_unique().alias("people"), pl.col("source_dataset").n_unique()
    )
    assert per_number.filter(pl.col("source_dataset") == 2).height > 2000  # seen in both sources
    assert (per_number["people"] == 1).all()
    per_person = delivered.group_by("person_id", "source_dataset").agg(pl.col("pid_nhs").n_unique())
    assert (per_person["pid_nhs"] == 1).all()
    manifest = json.loads((run / "manifest.json").read_text())
    # every record holding a number, but the first of each number, joined the first
    assert manifest["linkage"]["identifier_links"] == delivered.height - per_number.height
    assert manifest["linkage"]["match_threshold_setting"] == "auto"
    assert 0.0 < manifest["linkage"]["match_threshold"] < 1.0
    assert f"warnings: {len(manifest['warnings'])}" in result.output


def test_demo_refuses_to_empty_its_folder_once_something_else_wrote_there(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    assert _run(out, rows=200)[0] == 0
    (out / "run-from-a-config").mkdir()  # e.g. a config whose delivery points here
    (out / "run-from-a-config" / "manifest.json").write_text("{}")
    code, output = _run(out, rows=200)
    assert code == 2 and "did not create (run-from-a-config)" in output
    assert (out / "run-from-a-config" / "manifest.json").exists()
    assert (out / "delivery").is_dir()  # nothing of the earlier demo was removed either


def test_demo_steps_are_announced_in_order(tmp_path: Path) -> None:
    from pipeline.commands.demo import DEMO_STEPS, run_demo

    steps: list[tuple[str, int, int]] = []
    run_demo(tmp_path / "demo", rows=100, seed=1, progress=lambda *s: steps.append(s))
    assert steps == [(s, i, len(DEMO_STEPS)) for i, s in enumerate(DEMO_STEPS, start=1)]


def test_demo_config_is_a_fresh_document_each_call() -> None:
    # a caller editing one document (as the review tests do) once changed every later demo's
    # thresholds, because the linkage section was a shared module-level dict
    from pipeline.commands.demo import demo_config

    first = demo_config("in", "keys", "out")
    first["linkage"]["thresholds"]["match"] = 0.9  # type: ignore[index]
    assert demo_config("in", "keys", "out")["linkage"]["thresholds"]["match"] == "auto"  # type: ignore[index]
