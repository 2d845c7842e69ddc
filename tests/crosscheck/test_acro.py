"""Cross-check of table output checking against ACRO 1.0 (SACRO), the checker UK TREs use.

Where the two overlap (primary checks: threshold 10, zeros, p% and (n,k) dominance on the same
count tables) they must flag the same cells. Where they differ by design the test pins the
difference: ACRO suppresses without secondary suppression and republishes margins computed
without the suppressed cells, so a true total published elsewhere recovers a suppressed cell;
pprl keeps true margins and its LP audit proves no suppressed cell is recoverable.
See tests/vectors/disclosure/acro_crosscheck.md.
"""

from __future__ import annotations

import logging

import acro  # test dependency (pyproject [test]); a missing install fails loudly
import numpy as np
import pandas as pd
import polars as pl
import pytest

from pipeline.disclosure import TableSpec, check_table

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::Warning:acro")
SEEDS = range(12)

MARGIN = {"pprl": "Total", "acro": "All"}


def _acro_primary_cells(frame: pd.DataFrame) -> set[tuple[str, str]]:
    logging.disable(logging.INFO)  # ACRO logs every table at INFO
    try:
        checker = acro.ACRO(suppress=True)
        checker.crosstab(frame["region"], frame["sex"], margins=True)
        record = list(checker.results.results.values())[-1]
    finally:
        logging.disable(logging.NOTSET)
    outcome: pd.DataFrame = record.outcome
    cells = set()
    for region in outcome.index:
        for sex in outcome.columns:
            if str(outcome.loc[region, sex]).strip() != "ok":
                cells.add((_pprl_label(str(region)), _pprl_label(str(sex))))
    return cells


def _pprl_label(label: str) -> str:
    return MARGIN["pprl"] if label == MARGIN["acro"] else label


def _table(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 60, size=5)
    region = np.repeat(np.array(list("ABCDE")), sizes)
    sex = np.where(rng.random(region.size) < rng.uniform(0.05, 0.95), "F", "M")
    return pl.DataFrame({"region": region, "sex": sex})


def test_cross_check_tables_exercise_suppression() -> None:
    flagged = [s for s in SEEDS if _acro_primary_cells(_table(s).to_pandas())]
    assert len(flagged) >= len(SEEDS) // 2  # the comparison below is not vacuous


@pytest.mark.parametrize("seed", SEEDS)
def test_primary_failures_match_acro(seed: int) -> None:
    frame = _table(seed)
    result = check_table(frame, TableSpec.parse(["region", "sex"], "count"))
    ours = {
        (row["region"], row["sex"])
        for row in result.cells.filter(pl.col("suppression") == "primary").iter_rows(named=True)
    }
    assert ours == _acro_primary_cells(frame.to_pandas())


def test_acro_margins_leave_a_cell_recoverable_where_pprl_does_not() -> None:
    # Region X has 3 records, all F: both tools suppress X/F, X/M (zero) and X/Total.
    rng = np.random.default_rng(7)
    region = np.array(["E"] * 80 + ["N"] * 70 + ["S"] * 75 + ["W"] * 75 + ["X"] * 3)
    sex = np.where(rng.random(region.size) < 0.5, "F", "M")
    sex[-3:] = "F"
    frame = pl.DataFrame({"region": region, "sex": sex})
    true_f_total = int((sex == "F").sum())

    logging.disable(logging.INFO)
    try:
        table = acro.ACRO(suppress=True).crosstab(
            frame["region"].to_pandas(), frame["sex"].to_pandas(), margins=True
        )
    finally:
        logging.disable(logging.NOTSET)
    acro_f_margin = int(table.loc["All", "F"])
    # ACRO's margin leaves out the suppressed cell, so the true total (published elsewhere,
    # e.g. a population count) gives it away exactly.
    assert true_f_total - acro_f_margin == 3

    result = check_table(frame, TableSpec.parse(["region", "sex"], "count"))
    published = result.cells.filter(pl.col("region") == "Total", pl.col("sex") == "F")
    assert published["published"].item() == true_f_total  # pprl publishes true margins...
    suppressed = result.cells.filter(pl.col("published").is_null())
    assert suppressed.height > 3  # ...and adds secondary suppression
    intervals = [iv for ivs in result.audit.values() for iv in ivs]
    assert len(intervals) == suppressed.height  # every suppressed cell was audited
    assert not any(iv.exposed for iv in intervals)
    assert all(iv.width > 0 for iv in intervals)  # none pinned to one value by the margins
