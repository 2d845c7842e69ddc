"""The expected-F1 curve under the model's posterior, with links known to be right
(``certain``) and expected matches no cut can make (``missed``), against a direct count."""

from __future__ import annotations

import polars as pl
import pytest

from linkage.evaluate import expected_f1_curve, posterior_summary

HISTOGRAM = pl.DataFrame(
    {"probability": [0.6, 0.99, 0.2], "pairs": [2, 10, 5], "sum_probability": [1.3, 9.95, 0.9]}
)


def test_curve_counts_certain_links_and_missed_matches() -> None:
    curve = expected_f1_curve(HISTOGRAM, certain=20, missed=1.5)
    assert curve["probability"].to_list() == [0.99, 0.6, 0.2]
    true = 20 + 1.5 + 9.95 + 1.3 + 0.9
    for row, (links, right) in zip(
        curve.iter_rows(named=True), [(30, 29.95), (32, 31.25), (37, 32.15)], strict=True
    ):
        assert row["expected_links"] == links
        assert row["expected_precision"] == pytest.approx(right / links)
        assert row["expected_recall"] == pytest.approx(right / true)
        assert row["expected_f1"] == pytest.approx(2 * right / (links + true))
        assert row["expected_matches"] == pytest.approx(true)


def test_posterior_summary_is_the_curve_without_certain_links() -> None:
    summary = posterior_summary(HISTOGRAM)
    curve = expected_f1_curve(HISTOGRAM)
    best = curve.sort("expected_f1", descending=True).row(0, named=True)
    assert summary.auto_threshold == best["probability"] == 0.6
    assert summary.expected_f1 == pytest.approx(best["expected_f1"])
    assert summary.expected_matches == pytest.approx(12.15)
