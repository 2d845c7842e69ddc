"""Surname's m trained outside the household (issue 10, census vs W-2/1099).

Files with an address and names but no date of birth, blocked as the independent benchmark's
census vs W-2/1099 task is (street number + street name, first name + surname, first name +
street name): the address block holds surname fixed (households share it), the name block
blocks on it and the first name + street block holds it (the street goes with the
household). Only a supplementary block on two other keys can train it, and the obvious one,
first name + middle initial, was refused: random pairs agree on first name and surname more
often than independence predicts, but because some of them are the same person (the checks
left such a pair in when it agreed on little else, as a match at a new address with a blank
middle initial does). Surname then kept its starting m, the one comparison no pass trained.

The data come from ``benchmarks/independent/households.py`` (families sharing surname and
address, people who move); each person gets a middle initial, left blank on 30% of records.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchmarks.independent.households import household_link_pair
from linkage import Linker
from tests.linkage._persons import household_name_settings

COLUMNS = ("record_id", "first_name", "middle_initial", "last_name", "street_number", "street_name")
ADDRESS_PARTS = {"last_name", "street_number", "street_name"}


def _as_census_and_w2(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """A middle initial per person, blank on 30% of records, and first names as varied as
    pseudopeople's (the generator draws from 120: random pairs sharing one would be too
    common for the few matches among them to show)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    person = frame["person_id"].to_numpy()
    per_person = np.random.default_rng(0).integers(0, 26, size=(2, int(person.max()) + 1))
    initial, suffix = (pl.Series(letters[drawn[person]].tolist()) for drawn in per_person)
    blank = np.random.default_rng(seed).random(frame.height) < 0.3
    middle = initial.alias("middle_initial")
    return frame.with_columns(
        middle.set(pl.Series(blank), None),  # type: ignore[arg-type]
        first_name=pl.col("first_name") + suffix,
    )


@pytest.fixture(scope="module")
def trained() -> tuple[Linker, pl.DataFrame]:
    left, right, truth = household_link_pair(4000, seed=4, move_rate=0.4)
    left, right = _as_census_and_w2(left, 1), _as_census_and_w2(right, 2)
    linker = Linker(
        household_name_settings("link_only"), left.select(COLUMNS), right.select(COLUMNS)
    )
    linker.train(seed=1)
    matches = (
        truth.join(left.select(pl.col("record_id").alias("id_l"), "last_name"), on="id_l")
        .join(right.select(pl.col("record_id").alias("id_r"), "last_name"), on="id_r")
        .drop_nulls()
    )
    return linker, matches


def test_surname_is_trained_by_a_pass_free_of_the_household(
    trained: tuple[Linker, pl.DataFrame],
) -> None:
    linker, _ = trained
    warnings = {(w.code, w.comparison) for w in linker.training_warnings}
    assert ("m_not_estimated", "last_name") not in warnings
    passes = [p for p in linker.diagnostics.passes if p.used and "last_name" in p.trained]
    assert passes
    # no pass training it blocks on it or on the address that moves with it
    for record in passes:
        assert not any(part in record.rule for part in ADDRESS_PARTS)


def test_surname_m_is_near_its_share_among_true_matches(
    trained: tuple[Linker, pl.DataFrame],
) -> None:
    linker, matches = trained
    true_agree = float((matches["last_name"] == matches["last_name_right"]).mean())  # type: ignore[arg-type]
    m = linker.parameters.comparisons["last_name"].m
    assert m[-1] is not None and abs(m[-1] - true_agree) < 0.05
    assert m[0] is not None and m[0] < 0.05  # matches rarely have unrelated surnames
