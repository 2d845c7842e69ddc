"""``pprl run`` and the linked view: a later delivery is assessed with the earlier ones, and
disclosure control fails the run closed (exit 3, nothing delivered, no value in the message)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from tests.pipeline.attacks.intruder import attack, deliveries
from tests.pipeline.runner_support import (
    COLUMNS,
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

QIS = ["year_of_birth", "ethnicity"]


def _workspace(root: Path, monkeypatch: pytest.MonkeyPatch, **disclosure: Any) -> Path:
    keystore = make_keystore(root, monkeypatch)
    write_csv(root / "in/hospital/2026-10.csv", HEADER, people_rows(0, 40))
    write_csv(root / "in/gp/register.csv", HEADER, people_rows(0, 60))
    sources = [
        {"name": name, "path": f"in/{name}/*.csv", "columns": COLUMNS}
        for name in ("hospital", "gp")
    ]
    settings = {"derive": ["year_of_birth"], "quasi_identifiers": QIS, "k": 3}
    write_config(
        root, keystore, sources=sources, disclosure={**settings, **disclosure},
        linkage={"mode": "none"}, approved_attributes=["ethnicity", "region_code"],
    )  # fmt: skip
    return root


def _run(root: Path) -> Result:
    return CliRunner().invoke(cli, ["run", str(root / "pipeline.yaml")])


def test_a_later_delivery_is_assessed_with_the_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path, monkeypatch)
    assert _run(root).exit_code == 0
    # new episodes of persons 0-59: 0-39 were in both earlier files, 40-59 in the GP one
    write_csv(root / "in/hospital/2026-11.csv", HEADER, people_rows(0, 60))
    result = _run(root)
    assert result.exit_code == 0, result.output
    first, second = deliveries(root / "out")
    run = next(iter(second)).split("/")[0]
    manifest = json.loads((root / "out" / run / "manifest.json").read_text())
    assert manifest["disclosure"]["linked_earlier"] == sorted(first)
    attacked = attack(second, first, QIS)
    assert any(run in j and "+" in j for j, _, _ in attacked), attacked  # across the two runs
    for join, smallest, _ in attacked:
        assert smallest >= 3, join


def test_a_risk_limit_fails_the_run_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path, monkeypatch, risk={"max_expected_reidentifications": 0.5})
    result = _run(root)
    assert result.exit_code == 3
    assert "re-identification risk too high" in result.output
    assert not list((root / "out").glob("run-*"))
    assert not any(row[0] in result.output for row in people_rows(0, 40))


def test_a_changed_earlier_extract_stops_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path, monkeypatch)
    assert _run(root).exit_code == 0
    (extract,) = (root / "out").glob("run-*/gp.parquet")
    extract.write_bytes(extract.read_bytes() + b"\0")
    write_csv(root / "in/hospital/2026-11.csv", HEADER, people_rows(40, 30))
    result = _run(root)
    assert result.exit_code == 3
    assert f"{extract.parent.name}/gp.parquet" in result.output
    assert "differs from its manifest" in result.output
