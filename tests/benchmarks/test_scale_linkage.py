"""The scale benchmark's harness (benchmarks/scale_linkage/): its target logic, and a whole
run at a tiny size with pprl partitioned alone (no Splink), which scores like the
unpartitioned runner on the same data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.linkage import harness as linkage_harness
from benchmarks.linkage.report import GIB, ToolRun
from benchmarks.scale_linkage import harness


def _run(tool: str, wall: float) -> ToolRun:
    r = ToolRun(tool, 3_000_000, [wall], [int(2 * GIB)], ["ok"], ["gnu-time"], [wall])
    r.metrics = {"default": {"f1": 0.9, "best_f1": 0.9, "threshold": 0.5}}
    return r


@pytest.mark.parametrize(("wall", "met"), [(29.0, True), (30.0, True), (31.0, False)])
def test_wall_target_is_three_tenths_of_splink(wall: float, met: bool) -> None:
    found = harness._targets([_run("pprl", wall), _run("splink", 100.0)])
    assert found["targets"] == {"wall <= 0.3x Splink": met}
    assert found["wall_ratio"] == pytest.approx(wall / 100.0)


def test_a_tiny_run_writes_results_like_the_unpartitioned_runner(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    common = ["--data-dir", str(tmp_path / "data"), "--seed", "5"]
    argv = ["--size", "2000", "--tools", "pprl", "--partitions", "3", "--threads", "1"]
    assert harness.main([*argv, *common, "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    (pprl,) = result["tools"]
    assert pprl["status"] == "ok" and result["pprl_partitioning"]["partitions"] == 3
    whole = tmp_path / "whole.json"
    sizes = ["--sizes", "2000", "--tools", "pprl", "--runs", "1"]
    assert linkage_harness.main([*sizes, *common, "--output", str(whole)]) == 0
    (unpartitioned,) = json.loads(whole.read_text())["sizes"][0]["tools"]
    assert pprl["metrics"]["auto"] == unpartitioned["metrics"]["auto"]
    assert pprl["pairs_scored"] == unpartitioned["pairs_scored"] > 0
