"""Cross-check of dominance with missing contributions against ACRO 1.0 (SACRO).

120 seeded random region x sex tables of sums and means, with 0-50% of the contributions
missing (NaN), some cells dominated by one or two large contributions, some with every
contribution missing, and a few tables with negative contributions. Requirements:

* 0 dominated cells published: every interior cell ACRO flags for p% or (n,k) dominance (or
  for negative contributions, where ACRO says dominance is undefined) is withheld by pprl;
* where no contribution is negative, pprl's p% and (n,k) failures are exactly ACRO's;
* every cell ACRO fails for its threshold is withheld by pprl too.

pprl is deliberately stricter than ACRO in two places (tests/vectors/disclosure/
acro_crosscheck.md): the threshold of a magnitude table counts contributors, not records
(ACRO passes a mean of 8 values from 12 records), and a cell whose contributions are all
missing is withheld (ACRO publishes it as NaN, "ok").
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
SEEDS = range(120)
REGIONS = list("ABCD")
DOMINANCE = ("PPercentCheck", "NKCheck")


def _table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(1000 + seed)
    frames = []
    for region in REGIONS:
        for sex in ("F", "M"):
            size = int(rng.integers(2, 30))
            values = rng.lognormal(3.0, 0.6, size)
            shape = rng.random()
            if shape < 0.3:  # one dominant contribution
                values[rng.integers(size)] *= rng.uniform(5, 200)
            elif shape < 0.4:  # two dominant contributions
                values[:2] *= rng.uniform(20, 100)
            values[rng.random(size) < rng.uniform(0.0, 0.5)] = np.nan
            if rng.random() < 0.05:
                values[:] = np.nan
            frames.append(pd.DataFrame({"region": region, "sex": sex, "v": values}))
    table = pd.concat(frames, ignore_index=True)
    if seed % 15 == 7:  # a few tables with a negative contribution
        table.loc[int(rng.integers(len(table))), "v"] = -float(rng.uniform(1, 50))
    return table


def _statistic(seed: int) -> str:
    return "sum" if seed % 2 == 0 else "mean"


def _acro_outcome(frame: pd.DataFrame, statistic: str) -> pd.DataFrame:
    logging.disable(logging.INFO)  # ACRO logs every table at INFO
    try:
        checker = acro.ACRO(suppress=True)
        checker.crosstab(
            frame["region"], frame["sex"], values=frame["v"], aggfunc=statistic, margins=False
        )
        outcome: pd.DataFrame = list(checker.results.results.values())[-1].outcome
    finally:
        logging.disable(logging.NOTSET)
    return outcome


def _flagged(outcome: pd.DataFrame, check: str) -> set[tuple[str, str]]:
    return {
        (str(r), str(s))
        for r in outcome.index
        for s in outcome.columns
        if check in str(outcome.loc[r, s])
    }


def _compare(seed: int) -> dict[str, int]:
    frame = _table(seed)
    statistic = _statistic(seed)
    outcome = _acro_outcome(frame, statistic)
    # Interior cells only, as ACRO is run without margins (margins add secondary suppression).
    spec = TableSpec(("region", "sex"), statistic, "v", margins=False)  # type: ignore[arg-type]
    cells = check_table(pl.from_pandas(frame), spec).cells
    withheld = {
        (r["region"], r["sex"]) for r in cells.iter_rows(named=True) if r["published"] is None
    }

    def ours(rule: str) -> set[tuple[str, str]]:
        hit = cells.filter(
            pl.col("reasons").list.eval(pl.element().str.starts_with(rule)).list.any()
        )
        return set(zip(hit["region"], hit["sex"], strict=True))

    dominated = _flagged(outcome, "NKCheck") | _flagged(outcome, "PPercentCheck")
    assert dominated <= withheld, f"seed {seed}: dominated cells published"
    assert _flagged(outcome, "MinimumThresholdCheck") <= withheld, f"seed {seed}"
    negatives = bool((frame["v"] < 0).any())
    if not negatives:
        assert ours("p% rule") == _flagged(outcome, "PPercentCheck"), f"seed {seed}"
        assert ours("nk dominance") == _flagged(outcome, "NKCheck"), f"seed {seed}"
    contributors = dict(
        zip(zip(cells["region"], cells["sex"], strict=True), cells["contributors"], strict=True)
    )
    records = dict(zip(zip(cells["region"], cells["sex"], strict=True), cells["n"], strict=True))
    stricter = {c for c in withheld if contributors[c] < 10 <= records[c]}
    return {
        "dominated": len(dominated),
        "dominated_with_missing": sum(
            bool(frame[(frame.region == r) & (frame.sex == s)]["v"].isna().any())
            for r, s in dominated
        ),
        "stricter_threshold": len(stricter),
        "negative_tables": int(negatives),
    }


def test_zero_dominated_cells_published_over_120_tables_with_missing_values() -> None:
    totals: dict[str, int] = {}
    for seed in SEEDS:
        for key, value in _compare(seed).items():
            totals[key] = totals.get(key, 0) + value
    # The comparison is not vacuous: many dominated cells, many of them with missing values,
    # and the documented places where pprl is stricter occur.
    assert totals["dominated"] >= 100
    assert totals["dominated_with_missing"] >= 50
    assert totals["stricter_threshold"] >= 10
    assert totals["negative_tables"] >= 5
