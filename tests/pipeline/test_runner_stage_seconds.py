"""The run manifest records wall seconds per stage (read by benchmarks/bench_pipeline.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.run_stages import stage_seconds
from pipeline.runner import run_pipeline
from tests.pipeline.runner_support import (
    HEADER,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)


def test_stage_seconds_run_from_one_start_to_the_next() -> None:
    assert stage_seconds({"a": 1.0, "b": 3.5, "c": 4.0}, 10.0) == {"a": 2.5, "b": 0.5, "c": 6.0}


def test_manifest_lists_every_stage_with_its_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 6))
    summary = run_pipeline(load_config(write_config(tmp_path, keystore)), services=fake_services())
    assert summary.delivery_dir is not None
    written = json.loads((summary.delivery_dir / "manifest.json").read_text())
    seconds = written["stage_seconds"]
    assert list(seconds) == ["ingest", "link", "pseudonymise", "deidentify", "deliver"]
    assert all(isinstance(s, float) and s >= 0 for s in seconds.values())
