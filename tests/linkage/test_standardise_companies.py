"""Legal-equivalence standardisation of company names: what is removed, what is kept, and the
parts (legal form, distinguishing words, core words) exposed for the model."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.standardise.companies import (
    company_core_tokens,
    company_distinguishing_tokens,
    company_legal_form,
    normalise_company_name,
    split_trading_as,
    standardise_company_name,
    with_company_name_parts,
)


def run(function: Callable[[pl.Expr], pl.Expr], values: list[str | None]) -> list[object]:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    return frame.select(function(pl.col("x")).alias("out")).to_series().to_list()


# raw, standardised, legal form, distinguishing tokens, core tokens
CASES = [
    ("The Smith & Sons (UK) Holdings Limited", "SMITH AND SONS UK HOLDINGS", "LTD",
     ["UK", "HOLDINGS"], ["SMITH", "SONS"]),
    ("SMITH AND SONS UK HOLDINGS LTD", "SMITH AND SONS UK HOLDINGS", "LTD",
     ["UK", "HOLDINGS"], ["SMITH", "SONS"]),
    ("Novanex Textiles Holdings Ltd", "NOVANEX TEXTILES HOLDINGS", "LTD",
     ["HOLDINGS"], ["NOVANEX", "TEXTILES"]),
    ("NOVANEX TEXTILES LIMITED", "NOVANEX TEXTILES", "LTD", [], ["NOVANEX", "TEXTILES"]),
    ("Novanex Group PLC", "NOVANEX GROUP", "PLC", ["GROUP"], ["NOVANEX"]),
    ("Novanex Properties Ltd.", "NOVANEX PROPERTIES", "LTD", ["PROPERTIES"], ["NOVANEX"]),
    ("NOVANEX TRADING LTD", "NOVANEX TRADING", "LTD", ["TRADING"], ["NOVANEX"]),
    ("Thompson Builders (Leeds) Ltd", "THOMPSON BUILDERS LEEDS", "LTD",
     ["LEEDS"], ["THOMPSON", "BUILDERS"]),
    ("Acme Intl Svcs Ltd", "ACME INTERNATIONAL SERVICES", "LTD",
     ["INTERNATIONAL", "SERVICES"], ["ACME"]),
    ("Acme International Services Limited", "ACME INTERNATIONAL SERVICES", "LTD",
     ["INTERNATIONAL", "SERVICES"], ["ACME"]),
    ("Jones Bros & Co", "JONES BROTHERS AND CO", None, [], ["JONES", "BROTHERS", "CO"]),
    ("Jones Brothers and Company", "JONES BROTHERS AND CO", None, [],
     ["JONES", "BROTHERS", "CO"]),
    ("Tesco Public Limited Company", "TESCO", "PLC", [], ["TESCO"]),
    ("Tesco P.L.C.", "TESCO", "PLC", [], ["TESCO"]),
    ("Baker Tilly Limited Liability Partnership", "BAKER TILLY", "LLP", [], ["BAKER", "TILLY"]),
    ("Northern Ventures Limited Partnership", "NORTHERN VENTURES", "LP",
     ["NORTHERN", "VENTURES"], []),
    ("Hackney Food Bank Community Interest Company", "HACKNEY FOOD BANK", "CIC", [],
     ["HACKNEY", "FOOD", "BANK"]),
    ("Hackney Food Bank C.I.C.", "HACKNEY FOOD BANK", "CIC", [], ["HACKNEY", "FOOD", "BANK"]),
    ("Cwmni Da Cyf", "CWMNI DA", "LTD", [], ["CWMNI", "DA"]),
    ("Widget Ltd (in liquidation)", "WIDGET", "LTD", [], ["WIDGET"]),
    ("Foo Ltd t/a Bar Cafe", "FOO", "LTD", [], ["FOO"]),
    ("Thompson", "THOMPSON", None, [], ["THOMPSON"]),
    ("Limited", "LIMITED", None, [], ["LIMITED"]),  # only a legal form: kept, no form
    ("THEATRE ROYAL LTD", "THEATRE ROYAL", "LTD", [], ["THEATRE", "ROYAL"]),
    (None, None, None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "standardised", "form", "distinguishing", "core"), CASES)
def test_company_name_parts(
    raw: str | None,
    standardised: str | None,
    form: str | None,
    distinguishing: list[str] | None,
    core: list[str] | None,
) -> None:
    assert run(standardise_company_name, [raw]) == [standardised]
    assert run(company_legal_form, [raw]) == [form]
    assert run(company_distinguishing_tokens, [raw]) == [distinguishing]
    assert run(company_core_tokens, [raw]) == [core]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("X HOLDINGS LTD", "X LTD"),
        ("X (UK) LTD", "X LTD"),
        ("X GROUP PLC", "X PLC"),
        ("X PROPERTIES LIMITED", "X LIMITED"),
        ("X TRADING LTD", "X LTD"),
    ],
)
def test_sister_names_stay_apart_where_the_old_normaliser_merged_some(a: str, b: str) -> None:
    new = run(standardise_company_name, [a, b])
    assert new[0] != new[1]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Smith & Sons Ltd", "SMITH AND SONS LIMITED"),
        ("The Acme Co.", "ACME COMPANY"),
        ("Acme Intl PLC", "ACME INTERNATIONAL PUBLIC LIMITED COMPANY"),
        ("O'Brien Bros Ltd", "OBRIEN BROTHERS LTD"),
        ("Zoë Café Ltd", "ZOE CAFE LIMITED"),
    ],
)
def test_legally_equivalent_spellings_meet(a: str, b: str) -> None:
    new = run(standardise_company_name, [a, b])
    assert new[0] == new[1]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("MR J SMITH", "J SMITH"),
        ("Mrs. A. Patel", "A PATEL"),
        ("The Mr K Thompson", "K THOMPSON"),
        ("MISS B JONES & SONS LTD", "B JONES AND SONS LIMITED"),
    ],
)
def test_a_personal_title_before_an_initial_is_dropped(a: str, b: str) -> None:
    # Tax and survey files often write a sole trader with a title the register does not hold.
    new = run(standardise_company_name, [a, b])
    assert new[0] == new[1]


@pytest.mark.parametrize(
    ("a", "b"), [("SMITH J", "J SMITH"), ("Brown, S.", "S BROWN"), ("Mr Davies J", "J DAVIES")]
)
def test_a_surname_before_its_initial_is_turned_round(a: str, b: str) -> None:
    # Lists of sole traders often put the surname first; the register writes "J SMITH".
    new = run(standardise_company_name, [a, b])
    assert new[0] == new[1]


@pytest.mark.parametrize("name", ["MR PLUMBER LTD", "MR J", "MRS SMITHS BAKERY"])
def test_a_title_not_before_an_initial_is_part_of_the_name(name: str) -> None:
    assert run(standardise_company_name, [name])[0].startswith("MR")


def test_old_normaliser_is_unchanged_for_its_callers() -> None:
    # normalise_company_name still strips HOLDINGS and (UK): its callers see the same strings.
    assert run(normalise_company_name, ["X HOLDINGS LTD", "X (UK) LTD", "X LTD"]) == ["X"] * 3


@pytest.mark.parametrize(
    ("raw", "legal", "trading"),
    [
        ("Foo Ltd (t/a Bar Cafe)", "Foo Ltd", "Bar Cafe"),
        ("Foo Ltd - T/A Bar", "Foo Ltd", "Bar"),
        ("Foo Ltd, trading as Bar", "Foo Ltd", "Bar"),
        ("T/A Bar Cafe", None, "Bar Cafe"),
        ("X Trading Ltd", "X Trading Ltd", None),  # TRADING alone is part of the name
        ("Foo Ltd t/a Bar (Leeds)", "Foo Ltd", "Bar (Leeds)"),
    ],
)
def test_split_trading_as_brackets_and_separators(
    raw: str, legal: str | None, trading: str | None
) -> None:
    frame = pl.DataFrame({"x": [raw]})
    legal_expr, trading_expr = split_trading_as(pl.col("x"))
    assert frame.select(legal_expr.alias("l"), trading_expr.alias("t")).row(0) == (legal, trading)


def test_parts_line_up_over_many_rows_with_repeats_and_nulls() -> None:
    values = ["X HOLDINGS LTD", None, "Y (NORTH) PLC", "X HOLDINGS LTD", "", "Z"] * 50
    forms = run(company_legal_form, values)
    assert forms[:6] == ["LTD", None, "PLC", "LTD", None, None]
    assert run(company_distinguishing_tokens, values)[:6] == [
        ["HOLDINGS"], None, ["NORTH"], ["HOLDINGS"], None, [],
    ]  # fmt: skip


_WORDS = st.sampled_from(
    ["THE", "Ltd", "LIMITED", "&", "and", "Co", "Company", "plc", "(UK)", "Holdings", "Intl",
     "t/a", "Bros", "(in liquidation)", "Cyf", "LLP", "Public Limited Company", "X", "Acme",
     "-", "'", ",", "Zoë", "(Leeds)", "Group"]
)  # fmt: skip


@given(st.lists(st.lists(_WORDS, max_size=7).map(" ".join), min_size=1, max_size=20))
def test_standardise_company_name_is_idempotent(values: list[str]) -> None:
    once = run(standardise_company_name, list(values))
    again = run(standardise_company_name, [v if v is not None else "" for v in once])
    for first, second in zip(once, again, strict=True):
        if first is not None:
            assert second == first


# raw -> (core, distinguishing words, legal form) as the business model compares them
PARTS_CASES = [
    ("X HOLDINGS LTD", ("X", ["HOLDINGS"], "LTD")),
    ("The Smith & Sons (UK) Ltd", ("SMITH AND SONS", ["UK"], "LTD")),
    ("Thompson Builders (Leeds) Ltd", ("THOMPSON BUILDERS LEEDS", [], "LTD")),  # brackets dropped
    ("THOMPSON BUILDERS LEEDS LIMITED", ("THOMPSON BUILDERS LEEDS", [], "LTD")),
    ("Northern Rail Limited", ("NORTHERN RAIL", [], "LTD")),  # a leading word is the name
    ("Northern Rail Holdings PLC", ("NORTHERN RAIL", ["HOLDINGS"], "PLC")),
    ("Acme Intl Svcs Ltd", ("ACME", ["INTERNATIONAL", "SERVICES"], "LTD")),
    ("Acme Food Services Services Ltd", ("ACME FOOD", ["SERVICES", "SERVICES"], "LTD")),
    ("Acme Group (North) Ltd T/A Acme Cafe", ("ACME", ["GROUP", "NORTH"], "LTD")),
    ("Holdings Ltd", ("HOLDINGS", [], "LTD")),
    ("Tesco Public Limited Company", ("TESCO", [], "PLC")),
    ("Jones Bros & Co", ("JONES BROTHERS AND CO", [], None)),
    ("Limited", ("LIMITED", [], None)),
    ("", (None, None, None)),
    (None, (None, None, None)),
]


@pytest.mark.parametrize(("raw", "parts"), PARTS_CASES)
def test_name_parts_for_the_model(raw: str | None, parts: tuple[object, ...]) -> None:
    frame = pl.DataFrame({"x": [raw, raw]}, schema={"x": pl.String})
    out = with_company_name_parts(frame, "x", "n")
    assert out.columns == ["x", "n_core", "n_words", "n_form"]
    assert out.row(0)[1:] == parts and out.row(1) == out.row(0)


@given(st.lists(st.lists(_WORDS, max_size=7).map(" ".join), min_size=1, max_size=20))
def test_parts_hold_every_word_of_the_standardised_name(values: list[str]) -> None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    out = with_company_name_parts(frame, "x", "n")
    standardised = run(standardise_company_name, values)
    assert out["n_form"].to_list() == run(company_legal_form, values)
    for name, core, words in zip(
        standardised, out["n_core"].to_list(), out["n_words"].to_list(), strict=True
    ):
        if name is None:
            assert core is None and words is None
        else:
            assert sorted(core.split(" ") + words) == sorted(name.split(" "))
            assert words == sorted(words) and core.split(" ")[0] == name.split(" ")[0]
