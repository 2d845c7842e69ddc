"""The threshold check's calibration table: probabilistic links binned by probability, the
model's mean against the share that is right."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.business.threshold_check import calibration


def test_calibration_bins_probabilistic_links_only() -> None:
    judged = pl.DataFrame(
        {
            "status": ["matched_probabilistic"] * 5 + ["matched_exact"],
            "match_probability": [0.55, 0.58, 0.95, 0.995, 1.0, None],
            "ok": [True, False, True, True, True, False],
        }
    )
    rows = calibration(judged)
    assert [r["bin"] for r in rows] == ["0.5-0.6", "0.9-0.99", "0.99-1"]
    assert [r["links"] for r in rows] == [2, 1, 2]
    assert rows[0]["mean_p"] == pytest.approx(0.565) and rows[0]["precision"] == 0.5
    assert rows[2]["precision"] == 1.0
