"""A training block inside a prediction block is read from the stored comparison vectors.

At 3M x 3M the supplementary pass that trains date of birth (first name + postcode) cost a
join of both inputs, 13 s; its pairs are the postcode block's pairs whose first names are
equal, which the stored vectors already say. These tests hold the shortcut to exactly the
counts the join gives, and to the join where the vectors cannot say it.
"""

from __future__ import annotations

import numpy as np
import pytest

from linkage import Linker, block_on
from linkage.blocking import BlockingRule
from linkage.comparisons import Comparison
from linkage.passes import PassTraining
from linkage.tables import LEFT_TABLE
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons


@pytest.fixture(scope="module")
def linker() -> Linker:
    left, right, _ = generate_person_pair(4_000, 4_000, overlap=0.8, seed=5)
    linker = Linker(person_settings(), prepare_persons(left), prepare_persons(right))
    linker.estimate_u(seed=1)  # pass_comparisons weighs correlations among random pairs
    linker.ensure_gammas()
    return linker


def _used(linker: Linker, rule: BlockingRule) -> list[Comparison]:
    return linker._trainer._pass_comparisons(rule)


def _joined(
    linker: Linker, rule: BlockingRule, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray, np.ndarray]:
    with monkeypatch.context() as m:
        m.setattr(PassTraining, "_within_stored", lambda self, rule: None)
        return linker._trainer._rule_patterns(rule, None, _used(linker, rule))


@pytest.mark.parametrize(
    "columns",
    [
        ("first_name", "postcode"),  # postcode's block, first names equal
        ("postcode", "house_number", "town"),  # two comparisons' exact levels
        ("first_name", "dob", "surname"),  # the (first name, dob) block, surnames equal
        ("postcode", "street"),  # street's top level is exact too (then Jaro-Winkler)
    ],
)
def test_block_inside_a_prediction_block_counts_as_the_join(
    linker: Linker, monkeypatch: pytest.MonkeyPatch, columns: tuple[str, ...]
) -> None:
    rule = block_on(*columns)
    assert linker._trainer._within_stored(rule) is not None
    patterns, counts = linker._trainer._rule_patterns(rule, None, _used(linker, rule))
    joined_patterns, joined_counts = _joined(linker, rule, monkeypatch)
    assert counts.sum() > 100  # the block is not empty: the comparison means something
    np.testing.assert_array_equal(patterns, joined_patterns)
    np.testing.assert_array_equal(counts, joined_counts)


@pytest.mark.parametrize(
    "rule",
    [
        block_on("surname", "town"),  # no prediction block on a subset of these columns
        block_on("postcode", "dob_year"),  # dob_year is no comparison's exact level
        BlockingRule("l.postcode = r.postcode AND l.town <> r.town"),  # not equalities
    ],
)
def test_other_blocks_are_joined(linker: Linker, rule: BlockingRule) -> None:
    assert linker._trainer._within_stored(rule) is None


def test_rows_are_what_the_rule_finds(linker: Linker) -> None:
    # the shortcut's count is the number of pairs the rule's SQL finds in the inputs
    rule = block_on("first_name", "postcode")
    _, counts = linker._trainer._rule_patterns(rule, None, _used(linker, rule))
    keys = ["first_name", "postcode"]
    left, right = (
        linker.backend.frame(f"SELECT first_name, postcode FROM {table}").drop_nulls()
        for table in (LEFT_TABLE, linker._right_table)
    )
    assert counts.sum() == left.join(right, on=keys).height
