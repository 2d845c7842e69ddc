"""Table checks: primary rules, LP audit, secondary suppression, rounding, reports."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.disclosure import (
    TableCheckSettings,
    TableSpec,
    audit_suppression,
    check_residual_dof,
    check_table,
    report_dict,
    report_html,
    report_json,
)
from pipeline.disclosure.recovery import coverage_matrix
from pipeline.disclosure.rounding import round_nearest, round_random


def _microdata(counts: dict[tuple[str, ...], int], names: tuple[str, ...]) -> pl.DataFrame:
    rows = [key for key, n in counts.items() for _ in range(n)]
    return pl.DataFrame(rows, schema=list(names), orient="row")


def _cell(result_cells: pl.DataFrame, **labels: str) -> dict[str, object]:
    expr = pl.all_horizontal([pl.col(k) == v for k, v in labels.items()])
    rows = result_cells.filter(expr).to_dicts()
    assert len(rows) == 1
    return rows[0]


# Dominance worked examples, computed by hand from the rules as ACRO implements them
# (acro/utils.py, agg_p_percent and agg_nk; ACRO defaults p = 0.10, (n, k) = (2, 0.9)):
#   p%:  fail when (total - x1 - x2) / x1 < p
#   nk:  fail when (x1 + ... + xn) / total > k
DOMINANCE_CASES = [
    # contributions,               p% value,            nk value,         p% fails, nk fails
    ([100.0, 5.0, 4.0, 1.0], "5/100 = 0.05", "105/110 = 0.955", True, True),
    ([50.0, 40.0, 30.0, 20.0], "50/50 = 1.0", "90/140 = 0.643", False, False),
    ([100.0, 15.0, 10.0, 10.0], "20/100 = 0.20", "115/135 = 0.852", False, False),
    ([100.0, 15.0, 10.0], "10/100 = 0.10 (not < p)", "115/125 = 0.92", False, True),
    ([60.0, 60.0, 1.0, 1.0], "2/60 = 0.033", "120/122 = 0.984", True, True),
]


@pytest.mark.parametrize("values,p_calc,nk_calc,p_fails,nk_fails", DOMINANCE_CASES)
def test_dominance_rules_match_worked_examples(
    values: list[float], p_calc: str, nk_calc: str, p_fails: bool, nk_fails: bool
) -> None:
    df = pl.DataFrame({"g": ["a"] * len(values), "v": values})
    settings = TableCheckSettings(threshold=1, secondary=False)
    result = check_table(df, TableSpec(("g",), "sum", "v", margins=False), settings)
    reasons = " ".join(result.cells["reasons"][0])
    assert ("p% rule" in reasons) is p_fails, p_calc
    assert ("nk dominance" in reasons) is nk_fails, nk_calc
    assert (result.cells["status"][0] == "fail") is (p_fails or nk_fails)


def test_threshold_zero_and_same_value_rules() -> None:
    df = pl.DataFrame(
        {
            "g": ["a"] * 9 + ["b"] * 10 + ["c"] * 12,
            "h": ["x"] * 31,
            "v": [1.0 + i for i in range(19)] + [7.0] * 12,
        }
    )
    result = check_table(df, TableSpec(("g",), "sum", "v", margins=False))
    status = dict(zip(result.cells["g"], result.cells["status"], strict=True))
    assert status == {"a": "fail", "b": "pass", "c": "fail"}
    assert "all values in the cell are the same" in result.cells["reasons"][2]
    zeros = check_table(
        pl.DataFrame({"g": ["a"] * 10 + ["b"] * 10, "h": ["x"] * 10 + ["y"] * 10}),
        TableSpec(("g", "h"), margins=False),
    )
    zero_cell = _cell(zeros.cells, g="a", h="y")
    assert zero_cell["status"] == "fail" and zero_cell["n"] == 0
    relaxed = check_table(
        pl.DataFrame({"g": ["a"] * 10 + ["b"] * 10, "h": ["x"] * 10 + ["y"] * 10}),
        TableSpec(("g", "h"), margins=False),
        TableCheckSettings(zeros_are_disclosive=False),
    )
    assert _cell(relaxed.cells, g="a", h="y")["status"] == "pass"


def test_min_max_are_withheld_unless_review_accepted() -> None:
    df = pl.DataFrame({"g": ["a"] * 12, "v": list(range(12))})
    spec = TableSpec(("g",), "max", "v", margins=False)
    withheld = check_table(df, spec)
    assert withheld.cells["status"][0] == "review"
    assert withheld.published_table()["max_v"][0] is None
    accepted = check_table(df, spec, TableCheckSettings(accept_review=True))
    assert accepted.verdict == "review" and accepted.safe
    assert accepted.published_table()["max_v"][0] == 11


def test_opensafely_redact_then_round() -> None:
    # OpenSAFELY's published practice ("Redact counts <=7 then round counts to nearest 5",
    # e.g. opensafely/medication-reviews analysis/redact_and_round.py calling
    # redact_small_numbers(df, n=7, rounding_base=5)): threshold 8, base-5 rounding.
    counts = {"g3": 3, "g7": 7, "g8": 8, "g12": 12, "g13": 13, "g22": 22, "g23": 23}
    df = pl.DataFrame({"g": [g for g, n in counts.items() for _ in range(n)]})
    settings = TableCheckSettings(threshold=8, rounding="nearest", rounding_base=5, secondary=False)
    result = check_table(df, TableSpec(("g",), margins=False), settings)
    published = dict(zip(result.cells["g"], result.published_table()["count"], strict=True))
    assert published == {
        "g12": 10.0, "g13": 15.0, "g22": 20.0, "g23": 25.0, "g3": None, "g7": None, "g8": 10.0,
    }  # fmt: skip


def test_primary_only_suppression_is_recoverable_and_secondary_fixes_it() -> None:
    # One suppressed cell in a row whose total is published: total - others = the cell.
    df = _microdata({("a",): 3, ("b",): 20, ("c",): 30}, ("g",))
    spec = TableSpec(("g",))
    naive = check_table(df, spec, TableCheckSettings(secondary=False))
    assert naive.verdict == "fail" and not naive.safe
    (interval,) = naive.audit["n"]
    assert interval.exposed and interval.lower == pytest.approx(3) == interval.upper
    fixed = check_table(df, spec)
    assert fixed.verdict == "pass"
    assert list(fixed.cells["suppression"]) == ["primary", "secondary", "", ""]
    a_interval = next(iv for iv in fixed.audit["n"] if iv.index == 0)
    assert a_interval.lower == pytest.approx(0) and a_interval.upper == pytest.approx(23)


def test_secondary_suppression_in_two_way_table_uses_a_rectangle() -> None:
    counts = {("a", "x"): 20, ("a", "y"): 3, ("a", "z"): 15,
              ("b", "x"): 12, ("b", "y"): 30, ("b", "z"): 11}  # fmt: skip
    result = check_table(_microdata(counts, ("r", "c")), TableSpec(("r", "c")))
    suppressed = {(row["r"], row["c"]) for row in result.cells.to_dicts() if row["suppression"]}
    assert suppressed == {("a", "y"), ("a", "z"), ("b", "y"), ("b", "z")}
    assert result.verdict == "pass"
    assert all(not iv.exposed for iv in result.audit["n"])
    again = check_table(_microdata(counts, ("r", "c")), TableSpec(("r", "c")))
    assert again.published_table().equals(result.published_table())  # deterministic rerun


def test_mean_table_protects_counts_and_sums() -> None:
    df = pl.DataFrame(
        {"g": ["a"] * 3 + ["b"] * 20 + ["c"] * 30, "v": [float(i % 7 + 1) for i in range(53)]}
    )
    result = check_table(df, TableSpec(("g",), "mean", "v"))
    table = result.published_table()
    assert table["mean_v"][0] is None and table["n"][0] is None
    assert table["mean_v"][1] is None  # else total mean x n - c's sum would give a's sum
    assert result.verdict == "pass"
    assert set(result.audit) == {"n", "total"}


TABLES = st.lists(
    st.lists(st.integers(0, 25), min_size=2, max_size=4), min_size=2, max_size=3
).filter(lambda rows: len({len(r) for r in rows}) == 1)


@given(TABLES)
def test_checked_tables_have_no_recoverable_suppressed_cell(grid: list[list[int]]) -> None:
    counts = {(f"r{i}", f"c{j}"): n for i, row in enumerate(grid) for j, n in enumerate(row)}
    df = _microdata(counts, ("r", "c"))
    if df.is_empty():
        return
    result = check_table(df, TableSpec(("r", "c")), TableCheckSettings(zeros_are_disclosive=False))
    cells = result.cells
    suppressed = (cells["suppression"] != "").to_numpy()
    # Every cell under the threshold is withheld...
    small = ((cells["n"] > 0) & (cells["n"] < 10)).to_numpy()
    assert not (small & ~suppressed).any()
    # ...and an independent re-audit of the final pattern finds nothing recoverable.
    cover = coverage_matrix(cells, ["r", "c"])
    audit = audit_suppression(cover, cells["n"].to_numpy().astype(float), suppressed)
    assert not any(iv.exposed for iv in audit)
    assert result.safe


def test_rounding_rules() -> None:
    assert list(round_nearest([0, 2, 3, 7, 8, 12, 13, -13], 5)) == [0, 0, 5, 5, 10, 10, 15, -15]
    assert list(round_nearest([15, -15, 25, 14], 10)) == [20, -20, 30, 10]  # ties away from 0
    values = np.full(20_000, 12.0)
    rounded = round_random(values, 5, seed=3)
    assert set(np.unique(rounded)) == {10.0, 15.0}
    assert abs(rounded.mean() - 12.0) < 0.1  # unbiased: P(15) = 2/5
    assert (round_random(values, 5, seed=3) == rounded).all()
    assert not (round_random(values, 5, seed=4) == rounded).all()


def test_residual_degrees_of_freedom() -> None:
    assert check_residual_dof(10) == "pass"
    assert check_residual_dof(9) == "fail"
    assert check_residual_dof(5, TableCheckSettings(dof_threshold=5)) == "pass"


def test_reports_never_carry_withheld_values_and_html_is_escaped() -> None:
    evil = "<script>alert('x')</script>"
    df = pl.DataFrame(
        {
            "g": [evil] * 2 + ["b"] * 20 + ["c"] * 30,
            "v": [98765.25, 1234.5] + [10.0 + i for i in range(50)],
        }
    )
    result = check_table(df, TableSpec(("g",), "sum", "v"))
    text = report_json(result, source="input.csv")
    page = report_html(report_dict(result, source="input.csv"))
    for withheld in ("98765.25", "1234.5", "99999.75", "101724.75"):  # values, sums, total
        assert withheld not in text and withheld not in page
    assert evil not in page and "&lt;script&gt;" in page
    assert "<link" not in page and "src=" not in page  # self-contained
    parsed = json.loads(text)
    assert parsed["verdict"] == "pass"
    # The evil cell fails the threshold and the grand total fails dominance (98765.25 of it).
    assert parsed["summary"]["primary_suppressions"] == 2
    assert parsed["summary"]["secondary_suppressions"] == 0
