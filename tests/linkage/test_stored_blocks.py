"""Blocks inside a prediction block are read from the stored comparison vectors
(linkage/stored_blocks.py).

At 3M x 3M the supplementary pass that trains date of birth (first name + postcode) was a
join of both inputs (13 s) and the household-key counts a GROUP BY over both inputs each
(13 s in all); their pairs are among the postcode block's, where the stored vectors already
say which agree on the other columns. These tests hold the shortcut to exactly what the
joins give, and to the joins where the vectors cannot say it.
"""

from __future__ import annotations

import numpy as np
import pytest

from linkage import Linker, block_on
from linkage.blocking import BlockingRule, agreement_count_sql
from linkage.comparisons import Comparison
from linkage.stored_blocks import same_column_keys
from linkage.tables import LEFT_TABLE
from linkage.training import Trainer
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons


@pytest.fixture(scope="module")
def linker() -> Linker:
    left, right, _ = generate_person_pair(4_000, 4_000, overlap=0.8, seed=5)
    linker = Linker(person_settings(), prepare_persons(left), prepare_persons(right))
    linker.estimate_u(seed=1)  # the pass's comparisons are chosen with the random sample
    linker.ensure_gammas()
    return linker


def _used(linker: Linker, rule: BlockingRule) -> list[Comparison]:
    return linker._trainer._pass_comparisons(rule)


def _stored(linker: Linker, rule: BlockingRule) -> object:
    columns = same_column_keys(rule)
    return None if columns is None else linker._trainer._stored_agreeing(columns)


def _joined(
    linker: Linker, rule: BlockingRule, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray, np.ndarray]:
    with monkeypatch.context() as m:
        m.setattr(Trainer, "_stored_agreeing", lambda self, columns: None)
        return linker._trainer._rule_patterns(rule, None, _used(linker, rule))


INSIDE = [
    ("first_name", "postcode"),  # postcode's block, first names equal
    ("postcode", "house_number", "town"),  # two comparisons' exact levels
    ("first_name", "dob", "surname"),  # the (first name, dob) block, surnames equal
    ("postcode", "street"),  # street's top level is exact too (then Jaro-Winkler)
]


@pytest.mark.parametrize("columns", INSIDE)
def test_pass_inside_a_prediction_block_counts_as_the_join(
    linker: Linker, monkeypatch: pytest.MonkeyPatch, columns: tuple[str, ...]
) -> None:
    rule = block_on(*columns)
    assert _stored(linker, rule) is not None
    patterns, counts = linker._trainer._rule_patterns(rule, None, _used(linker, rule))
    joined_patterns, joined_counts = _joined(linker, rule, monkeypatch)
    assert counts.sum() > 100  # the block is not empty: the comparison means something
    np.testing.assert_array_equal(patterns, joined_patterns)
    np.testing.assert_array_equal(counts, joined_counts)


@pytest.mark.parametrize("columns", [*INSIDE, ("postcode", "house_number", "surname")])
def test_agreeing_pairs_inside_a_prediction_block_count_as_the_group_by(
    linker: Linker, columns: tuple[str, ...]
) -> None:
    # the household-key counts: every record pair equal on the columns, from the vectors
    trainer = linker._trainer
    sql = agreement_count_sql(columns, "link_only", LEFT_TABLE, trainer.right_table)
    expected = int(linker.backend.rows(sql)[0][0])
    assert expected > 100
    assert trainer._agreeing_pairs(columns) == expected


@pytest.mark.parametrize(
    "rule",
    [
        block_on("surname", "town"),  # no prediction block on a subset of these columns
        block_on("postcode", "dob_year"),  # dob_year is no comparison's exact level
        BlockingRule("l.postcode = r.postcode AND l.town <> r.town"),  # not equalities
    ],
)
def test_other_blocks_are_joined(linker: Linker, rule: BlockingRule) -> None:
    assert _stored(linker, rule) is None


def test_rows_are_what_the_rule_finds(linker: Linker) -> None:
    # the shortcut's count is the number of pairs the rule's SQL finds in the inputs
    rule = block_on("first_name", "postcode")
    _, counts = linker._trainer._rule_patterns(rule, None, _used(linker, rule))
    keys = ["first_name", "postcode"]
    left, right = (
        linker.backend.frame(f"SELECT first_name, postcode FROM {table}").drop_nulls()
        for table in (LEFT_TABLE, linker._trainer.right_table)
    )
    assert counts.sum() == left.join(right, on=keys).height


def test_pairs_present_on_other_columns(linker: Linker) -> None:
    # equal on postcode and surname, neither house number null: what the missing-part
    # counts of a household key ask for
    stored = linker._trainer._stored_agreeing(
        frozenset({"postcode", "surname"}), frozenset({"house_number"})
    )
    assert stored is not None
    left, right = (
        linker.backend.frame(f"SELECT postcode, surname, house_number FROM {table}")
        .drop_nulls()
        .select("postcode", "surname")
        for table in (LEFT_TABLE, linker._trainer.right_table)
    )
    expected = left.join(right, on=["postcode", "surname"]).height
    assert 100 < stored.pairs == expected
    everyone = linker._trainer._stored_agreeing(frozenset({"postcode", "surname"}))
    assert everyone is not None and everyone.pairs > stored.pairs  # some house numbers null
    # a column no comparison's null level tests cannot be said from the vectors
    assert (
        linker._trainer._stored_agreeing(frozenset({"postcode"}), frozenset({"dob_year"})) is None
    )
