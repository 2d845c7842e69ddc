"""A whole run read in small chunks delivers the same bytes as one read whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline import run_stages
from pipeline.cli import cli
from pipeline.ingest import Chunking
from pipeline.stages.prepare import PreparedFile
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    demo_config,
    demo_workspace,
    without_chart_rendering,
)


def _run(root: Path, keystore: Path, name: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["run", str(demo_config(root, keystore, ENVIRONMENT, name))])
    assert result.exit_code == 0, result.output
    (manifest,) = (root / f"out-{name}").glob("run-*/manifest.json")
    document: dict[str, object] = json.loads(manifest.read_text(encoding="utf-8"))
    return document


def test_small_chunks_deliver_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    without_chart_rendering(monkeypatch)  # the reports are not compared
    whole = _run(root, tmp_path / "keys", "whole")
    monkeypatch.setattr(run_stages, "CHUNKING", Chunking(csv_bytes=300, parquet_rows=4))
    written: list[int] = []
    prepare = run_stages.prepare_stage.prepare_to_parts

    def counted(*args: Any) -> PreparedFile:
        result = prepare(*args)
        written.append(len(result.parts))
        return result

    monkeypatch.setattr(run_stages.prepare_stage, "prepare_to_parts", counted)
    chunked = _run(root, tmp_path / "keys", "chunked")
    assert len(written) == 3 and min(written) > 2  # every file in several parts
    assert chunked["outputs"] == whole["outputs"]  # every delivered file's bytes are equal
    assert chunked["totals"] == whole["totals"]
    assert chunked["linkage"] == whole["linkage"]  # linked in many standardised chunks
    totals = whole["totals"]
    assert isinstance(totals, dict)
    assert totals["input_rows"] == totals["delivered"] + totals["quarantined"] > 50
