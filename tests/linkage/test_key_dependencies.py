"""Dependence on blocking keys without an address: twins (surname + dob) and sex with first name.

Files with no address (census vs SSA in the independent benchmark) block on first name +
dob, surname + dob and first name + surname; every one of those blocks is mostly matches, so
no household anchor is found, and the model took surname and dob as independent among
non-matches. Twins share both: a twin pair (first names disagreeing) scored as a likely
match, and the precision estimate was too high by about the number of twins linked. The
surname + dob rule's own EM pass tells its non-matches from its matches; their exact count
is the u of dob given the surname (``Trainer._match_dominated_joints``).

People sharing a first name are mostly of one sex (the generator draws first names from
separate female and male lists): random pairs sharing the first name give sex's u given it
(``linkage/sample_dependencies.py``), unless the pairs sharing the key could be mostly matches.
"""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.independent.households import household_link_pair
from linkage import LinkageSettings, Linker, block_on
from linkage import comparisons as cl

COLUMNS = ("record_id", "first_name", "last_name", "dob", "sex")


def _settings() -> LinkageSettings:
    return LinkageSettings(
        link_type="link_only",
        unique_id_column="record_id",
        comparisons=[
            cl.NameComparison("first_name", term_frequency=True),
            cl.NameComparison("last_name", term_frequency=True),
            cl.DateOfBirthComparison("dob"),
            cl.ExactComparison("sex"),
        ],
        blocking_rules=[
            block_on("first_name", "dob"),
            block_on("last_name", "dob"),
            block_on("first_name", "last_name"),
        ],
    )


def _trained(twin_rate: float, *, unique_first_names: bool = False) -> tuple[Linker, float]:
    """The trained linker and the true u of an exact dob among non-matches sharing a
    surname (from the truth, which the linker never sees)."""
    left, right, _ = household_link_pair(2000, seed=0, twin_rate=twin_rate)
    if unique_first_names:  # pairs sharing a first name are then the matches
        left, right = (f.with_columns(first_name=pl.col("person_id")) for f in (left, right))
    linker = Linker(_settings(), left.select(COLUMNS), right.select(COLUMNS))
    linker.train(seed=1)
    same_surname = left.join(right, on="last_name", suffix="_r").filter(
        pl.col("person_id") != pl.col("person_id_r")
    )
    true_u = float((same_surname["dob"] == same_surname["dob_r"]).mean())  # type: ignore[arg-type]
    return linker, true_u


def test_twins_make_dob_conditional_on_the_surname() -> None:
    linker, true_u = _trained(twin_rate=0.3)
    dep = linker.parameters.dependencies["dob"]
    assert dep.anchor == ("last_name",)
    ordinary = linker.parameters.comparisons["dob"].u[-1]
    assert dep.u_top[-1] >= 2 * ordinary
    # the joint count recovers the twins' share among same-surname non-matches
    assert true_u / 1.5 <= dep.u_top[-1] <= 1.5 * true_u
    # a twin pair (first name disagreeing, surname, dob and sex agreeing) weighs less by
    # the lift, the weight of a pair whose surname differs is unchanged
    assert dep.u_other == pytest.approx(linker.parameters.comparisons["dob"].u)


def test_without_twins_dob_stays_independent() -> None:
    linker, _ = _trained(twin_rate=0.0)
    dep = linker.parameters.dependencies.get("dob")
    assert dep is None or "last_name" not in dep.anchor


def test_sex_is_conditional_on_the_first_name() -> None:
    linker, _ = _trained(twin_rate=0.3)
    dep = linker.parameters.dependencies["sex"]
    assert dep.anchor == ("first_name",)
    u = linker.parameters.comparisons["sex"].u
    disagree, agree = dep.u_top
    # strangers sharing a first name are almost always of one sex (0.5 among random pairs)
    assert disagree < 0.1 * u[0]
    assert agree > 0.9
    # so an agreeing sex adds almost nothing to a same-name pair, and a disagreeing one
    # counts less against it than among random pairs
    assert abs(dep.weights("top")[1]) < 0.2
    assert dep.weights("top")[0] > dep.weights("other")[0]


def test_a_key_shared_mostly_by_matches_is_not_a_sample_of_non_matches() -> None:
    linker, _ = _trained(twin_rate=0.3, unique_first_names=True)
    assert "first_name" not in {
        a for d in linker.parameters.dependencies.values() for a in d.anchor
    }


def test_an_estimate_resting_on_m_not_estimated_is_unreliable() -> None:
    """With few twins this generator's no-address blocks train nothing (every pass is
    discarded): the model keeps its starting m, and its posterior is no estimate."""
    linker, _ = _trained(twin_rate=0.05)
    assert "m_not_estimated" in {w.code for w in linker.training_warnings}
    summary = linker.posterior_summary()
    assert not summary.reliable and "m_not_estimated" in summary.unreliable_because
