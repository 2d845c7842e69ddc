"""The u of a name the register holds once, counted on known non-matches: pairs whose valid
identifiers differ (issue 11, moved and renamed companies). The register's name counts
(Good-Turing) are the fallback when those pairs are too few to say anything."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import polars as pl
import pytest

from linkage import Linker
from linkage.company_names import CompanyNameComparison
from pipeline.business.training import (
    MIN_UNLIKE_EXPECTED,
    NameCounts,
    held_once_among_unlike,
    set_held_once,
)


def _frame(
    names: list[str], crns: list[str | None], held: list[int], forms: list[str | None] | None = None
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uid": list(range(len(names))),
            "name_core": names,
            "name_words": [[] for _ in names],
            "crn_norm": crns,
            "name_held": held,
            "legal_form": forms or ["LTD"] * len(names),
        },
        schema_overrides={"name_words": pl.List(pl.String), "legal_form": pl.String},
    )


def test_held_once_agreements_are_counted_on_pairs_whose_identifiers_differ() -> None:
    incoming = _frame(
        ["ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON"],
        ["01111111", "02222222", "03333333", None, "05555555"],
        [0] * 5,
    )
    register = _frame(
        ["ALPHA", "BETA", "GAMMA", "DELTA", "SMITH", "SMITH"],
        ["01111111", "09999999", "03333343", "04444444", "06666666", "07777777"],
        [1, 1, 1, 1, 2, 2],
    )
    pairs, agreeing, dropping = held_once_among_unlike(incoming, register, ["crn"])
    # 4 incoming records with a CRN x 6 register rows with one; of the name agreements, ALPHA
    # has the same CRN (a match), GAMMA's differ by one keystroke (a slip, not evidence), DELTA
    # has no incoming CRN: only BETA is a known non-match agreeing on a held-once name
    assert (pairs, agreeing, dropping) == (24, 1, 0)


def test_agreements_are_counted_apart_where_the_record_drops_the_legal_form() -> None:
    """The held-once levels part a record that drops the legal form its register row has
    ("BETA" for the company "BETA LTD") from one that names it; two sole traders' names
    without a form are of the first kind."""
    incoming = _frame(["ALPHA", "BETA", "GAMMA"], ["01111111", "02222222", "03333333"],
                      [0] * 3, [None, None, "LTD"])  # fmt: skip
    register = _frame(["ALPHA", "BETA", "GAMMA"], ["09999999", "08888888", "07777777"],
                      [1] * 3, [None, "LTD", "LTD"])  # fmt: skip
    assert held_once_among_unlike(incoming, register, ["crn"]) == (9, 2, 1)  # ALPHA, GAMMA; BETA


def _linker() -> tuple[Linker, SimpleNamespace, int]:
    comparison = CompanyNameComparison(
        "name_core", trading_column=None, held_column="name_held", words_column="name_words",
        name="company_name",
    )  # fmt: skip
    once = comparison.level_info()[1].gamma  # the level after the null level
    k = len(comparison.level_info()) - 1
    parameters = SimpleNamespace(m=[1.0 / k] * k, u=[0.01] * k)
    linker = SimpleNamespace(
        comparisons=[comparison],
        parameters=SimpleNamespace(comparisons={"company_name": parameters}),
    )
    return cast(Linker, linker), parameters, once


def test_enough_known_non_matches_replace_the_good_turing_frequency() -> None:
    counts = NameCounts(rows=100_000, held_once=80_000, held_twice=4_000)  # 1e-6 per name
    pairs = int(2 * MIN_UNLIKE_EXPECTED / counts.once_frequency())
    linker, parameters, once = _linker()
    facts = set_held_once(linker, counts, (pairs, 3, 0))
    assert parameters.u[once] == pytest.approx(3.5 / (pairs + 1)) == facts["frequency"]
    assert facts["good_turing_frequency"] == pytest.approx(1e-6)


def test_too_few_known_non_matches_keep_the_good_turing_frequency() -> None:
    counts = NameCounts(rows=100_000, held_once=80_000, held_twice=4_000)
    pairs = int(0.5 * MIN_UNLIKE_EXPECTED / counts.once_frequency())
    linker, parameters, once = _linker()
    set_held_once(linker, counts, (pairs, 0, 0))
    assert parameters.u[once] == pytest.approx(1e-6)


def _linker_with_forms() -> tuple[Linker, SimpleNamespace, tuple[int, int, int]]:
    comparison = CompanyNameComparison(
        "name_core", trading_column=None, held_column="name_held", words_column="name_words",
        form_column="legal_form", name="company_name",
    )  # fmt: skip
    infos = comparison.level_info()
    named, dropped = infos[1].gamma, infos[2].gamma  # after the null level
    exact = comparison.tf_gamma
    assert exact is not None and "on the right only" in infos[2].label
    k = len(infos) - 1
    m = [0.01] * k
    m[named], m[dropped], m[exact] = 0.45, 0.05, 0.2  # labelled pairs: 10% drop the form
    parameters = SimpleNamespace(m=m, u=[0.01] * k)
    linker = SimpleNamespace(
        comparisons=[comparison],
        parameters=SimpleNamespace(comparisons={"company_name": parameters}),
    )
    return cast(Linker, linker), parameters, (named, dropped, exact)


def test_m_and_u_are_split_by_how_often_matches_and_non_matches_drop_the_form() -> None:
    """m of an exact name (pooled over the exact levels, 0.7) is split as the labelled pairs
    split (10% drop the form); u as the known non-matches agreeing on a held-once name do."""
    counts = NameCounts(rows=100_000, held_once=80_000, held_twice=4_000)
    pairs = int(2 * MIN_UNLIKE_EXPECTED / counts.once_frequency())
    linker, parameters, (named, dropped, exact) = _linker_with_forms()
    facts = set_held_once(linker, counts, (pairs, 6, 9), dropped_share=0.3)
    assert parameters.m[exact] == pytest.approx(0.7)
    assert parameters.m[named] == pytest.approx(0.63) and parameters.m[dropped] == pytest.approx(
        0.07
    )
    assert parameters.u[named] == pytest.approx(6.5 / (pairs + 1))
    assert (
        parameters.u[dropped] == pytest.approx(9.5 / (pairs + 1)) == facts["frequency_form_dropped"]
    )
    assert facts["form_dropped_m_share"] == pytest.approx(0.1)


def test_without_known_non_matches_u_is_split_as_the_records_name_their_form() -> None:
    counts = NameCounts(rows=100_000, held_once=80_000, held_twice=4_000)  # 1e-6 per name
    linker, parameters, (named, dropped, _) = _linker_with_forms()
    set_held_once(linker, counts, (0, 0, 0), dropped_share=0.3)
    assert parameters.u[named] == pytest.approx(0.7e-6)
    assert parameters.u[dropped] == pytest.approx(0.3e-6)


def test_without_a_form_level_every_held_once_agreement_counts_for_the_one_level() -> None:
    """A comparison with no form column has one held-once level, which holds the pairs that
    drop the form too: their agreements are counted for it."""
    counts = NameCounts(rows=100_000, held_once=80_000, held_twice=4_000)
    pairs = int(2 * MIN_UNLIKE_EXPECTED / counts.once_frequency())
    linker, parameters, once = _linker()
    set_held_once(linker, counts, (pairs, 3, 2), dropped_share=0.3)
    assert parameters.u[once] == pytest.approx(5.5 / (pairs + 1))
