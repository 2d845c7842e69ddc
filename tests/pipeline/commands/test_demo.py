"""``pprl demo`` end to end: delivers, accounts for every row, leaks nothing, keeps no secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.demo import IDENTIFYING_COLUMNS, MASTER_KEY_ENV
from pipeline.leakscan import known_values, scan_paths


def _run(out: Path, rows: int = 400) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--rows", str(rows)])
    return result.exit_code, result.output


def test_demo_delivers_and_accounts_for_every_row(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, output = _run(out)
    assert code == 0, output
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


def test_demo_outputs_and_console_hold_no_identifying_value(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, output = _run(out)
    assert code == 0, output
    hospital = pl.read_csv(out / "inputs" / "hospital_episodes.csv", infer_schema_length=0)
    gp = pl.read_parquet(out / "inputs" / "gp_register.parquet")
    values = known_values(hospital, IDENTIFYING_COLUMNS["hospital"])
    values |= known_values(gp, IDENTIFYING_COLUMNS["gp"])
    assert len(values) > 1000  # the scan has something to look for
    assert scan_paths([out / "delivery"], values) == []
    assert not [v for v in values if len(v) >= 6 and v in output]


def test_demo_keeps_no_master_key_anywhere(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, output = _run(out)
    assert code == 0, output
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
