"""The key refit takes a name pass's other comparisons at their u given the blocked name
(linkage/key_refits.py).

Deduplicating pseudopeople's census, ACS and CPS, same-named strangers fill the first name
+ surname pass's match class: people sharing a first name are born close together (names go
in and out of fashion) and share a middle initial twice as often as random pairs, so at
their random-pair u the pass took "born within ten years" for something matches do (m
0.06-0.10 where 0-1 in a hundred true pairs are there). Here first names are drawn by
birth decade and three in ten middle initials follow the first name: the pass with only
the key dependents (middle initial and sex) given the first name put "within ten years" at
0.62, where 0.008 of the true pairs are; given the first name, dob's levels move too, and
the refit puts it at 0.03.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarks.independent.households import FEMALE, MALE, household_dedupe
from tests.linkage._persons import name_pass_dob

#: first names per sex and birth decade (1940s to 2010s)
PER_DECADE = 7


def _by_cohort(records: pl.DataFrame) -> pl.DataFrame:
    """Each person's first name drawn from their sex's names of their birth decade, and
    their middle initial (blank on 30% of records) that name's favourite letter half the
    time, else any letter; sex misrecorded on 2% of records."""
    rng = np.random.default_rng(7)
    people = records.sort("record_id").unique("person_id", keep="first").sort("person_id")
    born = people["dob"].str.to_date(strict=False).dt.year().fill_null(1980).to_numpy()
    decade = np.clip((born - 1940) // 10, 0, 7).astype(int)
    pick = rng.integers(0, PER_DECADE, size=people.height)
    female, male = np.array(FEMALE), np.array(MALE)
    index = decade * PER_DECADE + pick
    first = np.where(people["sex"].to_numpy() == "f", female[index], male[index])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    favourite = letters[[sum(map(ord, name)) % 26 for name in first]]
    initial = np.where(
        rng.random(people.height) < 0.3, favourite, letters[rng.integers(0, 26, people.height)]
    )
    names = pl.DataFrame({"person_id": people["person_id"], "first": first, "initial": initial})
    blank = pl.Series(rng.random(records.height) < 0.3)
    flip = pl.Series(rng.random(records.height) < 0.02)
    return (
        records.join(names, on="person_id", how="left")
        .with_columns(
            first_name="first",
            middle_initial=pl.when(blank).then(None).otherwise(pl.col("initial")),
            sex=pl.when(flip)
            .then(pl.when(pl.col("sex") == "f").then(pl.lit("m")).otherwise(pl.lit("f")))
            .otherwise("sex"),
        )
        .drop("first", "initial")
    )


def _within_ten_years() -> tuple[float, float]:
    """m of "born within ten years" (not within a year) from the first name + surname pass,
    and its share among the true duplicates."""
    records, truth = household_dedupe(3000, seed=2)
    m, years = name_pass_dob(_by_cohort(records), truth)
    return float(m[1]), float(((years > 1) & (years <= 10)).mean())  # type: ignore[arg-type]


def test_the_name_pass_puts_same_named_strangers_born_close_outside_the_matches() -> None:
    m, share = _within_ten_years()
    assert m < 0.05
    assert share < 0.02
