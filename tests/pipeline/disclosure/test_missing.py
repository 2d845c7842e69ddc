"""Table checks with missing contributions: dominance and thresholds on the non-missing values,
cells that cannot be checked are never ``pass``, and counts stay whole numbers."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from pipeline.disclosure import (
    TableCheckSettings,
    TableSpec,
    TableSpecError,
    check_counts,
    check_table,
    report_dict,
    report_html,
    report_json,
)

INTERIOR = TableSpec(("a", "b"), "sum", "v", margins=False)


def _one_cell(values: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"a": ["x"] * len(values), "b": ["p"] * len(values), "v": values},
        schema={"a": pl.String, "b": pl.String, "v": pl.Float64},
    )


def test_issue_reproduction_nulls_no_longer_hide_dominance() -> None:
    # Issue 12: nulls sorted first were read as the two largest contributions (0 and 0).
    with_nulls = check_table(_one_cell([1000.0] + [1.0] * 11 + [None, None]), INTERIOR)
    without = check_table(_one_cell([1000.0] + [1.0] * 11), INTERIOR)
    for result in (with_nulls, without):
        cell = result.cells.row(0, named=True)
        assert cell["status"] == "fail"
        assert any(r.startswith("p% rule") for r in cell["reasons"])
        assert any(r.startswith("nk dominance") for r in cell["reasons"])
        assert cell["published"] is None
    assert with_nulls.cells["top1"][0] == 1000.0
    assert with_nulls.cells["top2"][0] == 1.0


def test_nan_counts_as_missing_like_null() -> None:
    frame = _one_cell([1000.0] + [1.0] * 11 + [math.nan, math.nan])
    cell = check_table(frame, INTERIOR).cells.row(0, named=True)
    assert cell["contributors"] == 12
    assert cell["status"] == "fail"


@pytest.mark.parametrize("statistic", ["mean", "sum", "median"])
def test_threshold_counts_contributors_not_records(statistic: str) -> None:
    # Issue 12: a mean over 8 non-missing values from 12 records passed threshold 10.
    values: list[float | None] = [float(3 * i + 10) for i in range(8)] + [None] * 4
    spec = TableSpec(("a", "b"), statistic, "v", margins=False)  # type: ignore[arg-type]
    cell = check_table(_one_cell(values), spec).cells.row(0, named=True)
    assert (cell["n"], cell["contributors"]) == (12, 8)
    assert cell["status"] == "fail"
    assert "threshold: fewer than 10 contributors" in cell["reasons"]
    # ...and 10 contributors among 14 records pass the threshold.
    values = [float(3 * i + 10) for i in range(10)] + [None] * 4
    cell = check_table(_one_cell(values), spec).cells.row(0, named=True)
    assert not any(r.startswith("threshold") for r in cell["reasons"])


def test_frequency_tables_count_records() -> None:
    frame = _one_cell([None] * 9)
    cell = check_table(frame, TableSpec(("a", "b"), margins=False)).cells.row(0, named=True)
    assert cell["reasons"] == ["threshold: fewer than 10 records"]
    frame = _one_cell([None] * 10)
    cell = check_table(frame, TableSpec(("a", "b"), margins=False)).cells.row(0, named=True)
    assert cell["status"] == "pass"


def test_cell_with_every_contribution_missing_is_never_pass() -> None:
    settings = TableCheckSettings(threshold=1, accept_review=True)
    cell = check_table(_one_cell([None] * 12), INTERIOR, settings).cells.row(0, named=True)
    assert cell["status"] != "pass"
    assert "cannot be checked: every contribution is missing" in cell["reasons"]


def test_negative_contributions_are_review_not_pass() -> None:
    values = [-5.0, 20.0, 30.0, 25.0, 22.0, 28.0, 21.0, 27.0, 24.0, 26.0, 23.0]
    result = check_table(_one_cell(values), INTERIOR)
    cell = result.cells.row(0, named=True)
    assert cell["status"] == "review"
    assert "negative contributions: dominance cannot be checked" in cell["reasons"]
    assert cell["suppression"] == "primary"  # review is withheld unless accepted
    accepted = check_table(_one_cell(values), INTERIOR, TableCheckSettings(accept_review=True))
    assert accepted.verdict == "review"
    assert accepted.cells["published"][0] == pytest.approx(sum(values))


def test_missing_values_do_not_change_a_safe_cells_verdict() -> None:
    values: list[float | None] = [float(10 + i) for i in range(12)]
    safe = check_table(_one_cell(values), INTERIOR).cells.row(0, named=True)
    with_gaps = check_table(_one_cell([*values, None, None]), INTERIOR).cells.row(0, named=True)
    assert safe["status"] == with_gaps["status"] == "pass"
    assert with_gaps["published"] == safe["published"] == sum(v for v in values if v)


def test_text_variable_gets_an_error_naming_the_column() -> None:
    frame = pl.DataFrame({"a": ["x"] * 12, "income": ["1"] * 12})
    with pytest.raises(TableSpecError, match="column 'income' is String, not numeric"):
        check_table(frame, TableSpec.parse(["a"], "sum:income"))


def test_counts_are_integers_in_tables_and_reports() -> None:
    frame = pl.DataFrame({"g": ["a"] * 35 + ["b"] * 40, "v": [1.5] * 75})
    count = check_table(frame, TableSpec(("g",)))
    table = count.published_table()
    assert table.schema["count"] == pl.Int64
    assert "35.0" not in table.write_csv() and "35" in table.write_csv()
    report = json.loads(report_json(count))
    assert [c["published"] for c in report["cells"]] == [35, 40, 75]
    assert all(isinstance(c["published"], int) for c in report["cells"])
    mean = check_table(frame, TableSpec(("g",), "mean", "v"))
    assert mean.published_table().schema["n"] == pl.Int64
    rounded = check_table(frame, TableSpec(("g",)), TableCheckSettings(rounding="nearest"))
    assert rounded.published_table()["count"].to_list() == [35, 40, 75]
    counted = check_counts(pl.DataFrame({"g": ["a", "b"], "count": [35, 40]}), TableSpec(("g",)))
    assert counted.published_table().schema["count"] == pl.Int64
    assert report_dict(counted)["summary"]["cells"] == 3


def test_audit_bounds_of_counts_are_whole_numbers_and_html_prints_counts_in_full() -> None:
    # Region X (3 records) is suppressed; the audited bounds of suppressed counts are ints.
    region = ["E"] * 80 + ["N"] * 70 + ["S"] * 75 + ["W"] * 1_000_000 + ["X"] * 3
    sex = (["F", "M"] * 600_000)[: len(region)]
    result = check_table(
        pl.DataFrame({"region": region, "sex": sex}), TableSpec.parse(["region", "sex"], "count")
    )
    report = report_dict(result)
    bounds = [
        a[end] for a in report["audit"] if a["measure"] == "count" for end in ("lower", "upper")
    ]
    assert bounds and all(b is None or isinstance(b, int) for b in bounds)
    page = report_html(report)
    assert f"<td>{len(region)}</td>" in page  # the grand total, not 1.00023e+06
    assert "e+06" not in page
