"""check-output as a library call (pipeline/disclosure/output_check.py), no click."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from pipeline.disclosure.errors import UnsafeTable
from pipeline.disclosure.output_check import OutputCheckOptions, check_output
from pipeline.errors import ConfigError


@pytest.fixture
def microdata(tmp_path: Path) -> Path:
    regions = ["North"] * 30 + ["South"] * 25 + ["East"] * 22 + ["Isles"] * 3
    path = tmp_path / "cohort.csv"
    pl.DataFrame({"region": regions, "income": [1000.0 + 37 * i for i in range(80)]}).write_csv(
        path
    )
    return path


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    path = tmp_path / "counts.csv"
    pl.DataFrame({"region": ["North", "South", "Isles"], "n": [30, 25, 3]}).write_csv(path)
    return path


def test_microdata_is_checked_treated_and_written(microdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = check_output(OutputCheckOptions(out, data=microdata, by=("region",)))
    assert report.unsafe == [] and report.table is not None and report.models == []
    assert report.report == json.loads((out / "disclosure.json").read_text())
    assert report.report["summary"]["primary_suppressions"] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "disclosure.html", "disclosure.json", "table.csv", "table.parquet",
    ]  # fmt: skip
    assert report.summary_line() == (
        f"pass: 5 cells, 1 primary and 1 secondary suppressions -> {out}"
    )
    report.raise_if_unsafe()  # safe: no error


def test_unsafe_outputs_are_reported_for_the_caller_to_act_on(
    microdata: Path, tmp_path: Path
) -> None:
    options = OutputCheckOptions(
        tmp_path / "o", data=microdata, by=("region",), secondary=False,
        residual_dof=("logit=412", "8"),
    )  # fmt: skip
    report = check_output(options)
    assert report.unsafe == ["table", "regression outputs"]
    assert [(m.name, m.status) for m in report.models] == [("logit", "pass"), ("model 2", "fail")]
    assert "2 models, 1 below 10 residual degrees of freedom" in report.summary_line()
    with pytest.raises(UnsafeTable, match="table and regression outputs not safe to release"):
        report.raise_if_unsafe()


def test_counted_cells_and_what_they_cannot_give(counts: Path, tmp_path: Path) -> None:
    options = OutputCheckOptions(tmp_path / "c", table=counts, by=("region",), count_column="n")
    report = check_output(options)
    assert report.table is not None and report.report["summary"]["primary_suppressions"] >= 1
    # Asking for dominance at its default value is still asking: an explicit value, not None.
    with pytest.raises(ConfigError) as raised:
        check_output(replace(options, p_ratio=0.1, nk=(2, 0.9), stat="sum:n", cell_key="k"))
    problems = raised.value.problems
    assert len(problems) == 3 and "--p-ratio and --nk: dominance" in problems[2]


def test_request_problems_are_listed_at_once(microdata: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        check_output(
            OutputCheckOptions(tmp_path, data=microdata, table=microdata, count_column="n")
        )
    assert raised.value.problems == [
        "give --data (microdata) or --table (counted cells), not both",
        "--by: give at least one group-by column",
    ]
    with pytest.raises(ConfigError, match="nothing to check"):
        check_output(OutputCheckOptions(tmp_path))
    with pytest.raises(ConfigError, match="threshold"):
        check_output(OutputCheckOptions(tmp_path, data=microdata, by=("region",), threshold=0))
    with pytest.raises(ConfigError, match="given more than once"):
        check_output(OutputCheckOptions(tmp_path, residual_dof=("a=20", "a=30")))
