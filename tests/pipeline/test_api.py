"""The orchestration API documented in the README: ``from pipeline import load_config,
plan_run, run_pipeline`` works, runs what ``pprl run`` runs, and ``import pipeline`` stays
cheap (the names are imported on first use)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pipeline
from tests.pipeline.runner_support import demo_config, demo_workspace

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def test_the_api_plans_and_runs_a_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import ConfigError, load_config, plan_run, run_pipeline

    root = demo_workspace(tmp_path, monkeypatch)
    config = load_config(demo_config(root, root / "keys", "research"))
    assert plan_run(config).rows == 85
    summary = run_pipeline(config)
    assert summary.status == "delivered" and summary.manifest["totals"]["input_rows"] == 85
    assert run_pipeline(config).status == "up_to_date"
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "missing.yaml")
    assert raised.value.exit_code == 2


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pipeline.nope  # noqa: B018


def test_importing_pipeline_does_not_import_the_runner() -> None:
    code = "import sys, pipeline; print('pipeline.runner' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
