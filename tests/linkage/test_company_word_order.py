"""The company-name level for the same words in another order (issue 11: administrative files
swap a name's words, "SON & WEBSTER" for "WEBSTER & SON")."""

from __future__ import annotations

import pytest

from linkage.company_names import CompanyNameComparison, CompanyWordOrderLevel
from linkage.errors import SettingsError
from linkage.levels import level_from_dict
from linkage.sql import DUCKDB
from tests.linkage.test_company_names import RARE_FREQUENCY, evaluate, evaluate_sql

N, T = "name_std", "trading_name_std"


def test_same_words_in_another_order() -> None:
    pairs = [
        (("Son & Webster Ltd", None), ("WEBSTER AND SON LIMITED", None)),
        (("Jones C Dental Practice", None), ("C JONES DENTAL PRACTICE LTD", None)),
        (("Webster & Son", None), ("WEBSTER & SONS", None)),  # another word
        (("Webster Son Plumbing", None), ("WEBSTER SON", None)),  # a word dropped
        (("Webster", None), ("THE WEBSTER", None)),  # a single word
        ((None, None), ("WEBSTER SON", None)),
    ]
    assert evaluate(CompanyWordOrderLevel(N), pairs) == [True, True, False, False, False, False]


def test_word_order_through_a_trading_name() -> None:
    pairs = [(("Bloggs Ltd", "Cafe Zephyr North"), ("North Zephyr Cafe", None))]
    assert evaluate(CompanyWordOrderLevel(N, T), pairs) == [True]
    assert evaluate(CompanyWordOrderLevel(N), pairs) == [False]


def test_word_order_level_in_the_comparison() -> None:
    """Placed after the exact levels and before the token levels, only when asked for: without
    it a swapped name falls to the same-rare-tokens level with names that share only their rare
    words."""
    plain = CompanyNameComparison(rare_frequency=RARE_FREQUENCY)
    ordered = CompanyNameComparison(rare_frequency=RARE_FREQUENCY, word_order=True)
    assert len(ordered.levels) == len(plain.levels) + 1
    labels = [i.label for i in ordered.level_info()]
    assert "another order" in labels[3] and "rare" in labels[4]
    pairs = [
        (("Quorvex Halberd Ltd", None), ("HALBERD QUORVEX LTD", None)),
        (("Quorvex Halberd", None), ("Quorvex Halberd", None)),
        (("Quorvex Halberd Services", None), ("Halberd Quorvex Systems", None)),
    ]
    assert evaluate_sql(ordered.gamma_sql(DUCKDB), pairs) == [4, 6, 3]
    assert evaluate_sql(plain.gamma_sql(DUCKDB), pairs) == [3, 5, 3]
    for level in ordered.levels:
        assert level_from_dict(level.to_dict()) == level


@pytest.mark.parametrize("column", ["", None])
def test_word_order_level_checks_its_column(column: object) -> None:
    with pytest.raises(SettingsError):
        CompanyWordOrderLevel(column)  # type: ignore[arg-type]
