"""m of a comparison trained only in a household block, estimated again under the household
model (``Trainer._m_under_households``, issue 10).

Deduplicating W-2 forms, first name is free in one block only, the address (street number +
street name); that block's EM pass took a shared surname at its random-pair u, household
members whose first names differ fell into the match class, and a first-name disagreement
was learnt as 0.17 of matches on two noise seeds of three (0.03-0.06 in truth). Here the
first pass's result is replaced by such a contaminated m, and the refit must bring it back.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchmarks.independent.households import household_dedupe
from linkage import Linker
from linkage.passes import PassEstimate
from tests.linkage._persons import household_name_settings

ADDRESS_RULE = "block_on(street_number, street_name)"


@pytest.fixture(scope="module")
def linker() -> Linker:
    records, _ = household_dedupe(2000, seed=0)
    people = records["person_id"].unique().sort()
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    initials = letters[np.random.default_rng(5).integers(0, 26, people.len())]
    records = records.join(
        pl.DataFrame({"person_id": people, "middle_initial": initials}), on="person_id"
    )
    settings = household_name_settings("dedupe_only")
    columns = [c for c in records.columns if c not in ("person_id", "household_id")]
    trained = Linker(settings, records.select(columns))
    trained.train(seed=1)
    return trained


def _contaminate(linker: Linker, match_rate: float) -> None:
    """First name's m as a household-learning address pass would leave it."""
    params = linker.parameters.comparisons["first_name"]
    m = np.array([0.3, 0.02, 0.02, 0.02, 0.64])
    params.m = [float(v) for v in m]
    trainer = linker._trainer
    trainer.pass_estimates["first_name"] = [PassEstimate(m, match_rate, 0.0, ADDRESS_RULE)]


def test_a_household_only_m_is_refitted_under_the_household_model(linker: Linker) -> None:
    assert "last_name" in linker.parameters.dependencies  # the address is a household anchor
    _contaminate(linker, match_rate=1.0)
    assert "first_name" in linker._trainer._without_household_passes()
    assert linker.parameters.comparisons["first_name"].m[0] < 0.05


def test_a_refit_expecting_more_matches_than_the_first_pass_is_not_used(
    linker: Linker,
) -> None:
    _contaminate(linker, match_rate=1e-6)  # the refit finds more matches: drifting
    assert "first_name" not in linker._trainer._without_household_passes()
    assert linker.parameters.comparisons["first_name"].m[0] == pytest.approx(0.3)
