"""Property tests: every standardiser is idempotent and never raises on arbitrary text."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from linkage.standardise import (
    normalise_address,
    normalise_company_name,
    normalise_name,
    normalise_postcode,
    parse_date,
)

# Letters, digits, punctuation and words that trigger rules (titles, legal forms, T/A...).
_TOKENS = st.sampled_from(
    [
        "MR", "Dr.", "the", "The", "LTD", "L.T.D.", "Limited", "&", "and", "co", "plc", "(UK)",
        "t/a", "Holdings", "(in liquidation)", "St", "Rd", "flat", "12A", "3", "-", "'", ",",
        "O'Brien", "Zoë", "Øre", "smith", "SMITH-JONES", "  ", "jr", "MISS", "X",
    ]
)  # fmt: skip
_TEXT = st.one_of(
    st.lists(_TOKENS, max_size=8).map(" ".join),
    st.text(max_size=30),
)


def run(function: Callable[[pl.Expr], pl.Expr], values: list[str]) -> list[str | None]:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    return frame.select(function(pl.col("x"))).to_series().to_list()


# Each example is a batch of values: one polars call per example keeps the test fast.
_BATCH = st.lists(_TEXT, min_size=1, max_size=25)


def _idempotent(function: Callable[[pl.Expr], pl.Expr], values: list[str]) -> None:
    once = run(function, values)
    again = run(function, [v if v is not None else "" for v in once])
    for first, second in zip(once, again, strict=True):
        if first is not None:
            assert second == first


@given(_BATCH)
def test_normalise_name_is_idempotent(values: list[str]) -> None:
    _idempotent(normalise_name, values)


@given(_BATCH)
def test_normalise_company_name_is_idempotent(values: list[str]) -> None:
    _idempotent(normalise_company_name, values)


def test_company_name_repeated_prefixes_and_forms() -> None:
    assert run(normalise_company_name, ["THE THE ACME CO LTD", "CO LTD"]) == ["ACME", "CO"]


@given(_BATCH)
def test_normalise_address_is_idempotent(values: list[str]) -> None:
    _idempotent(normalise_address, values)


@given(st.lists(st.text(alphabet="ABDEFGHJLNPRSTUWXYZ0123456789 -abc", max_size=10), max_size=25))
def test_normalise_postcode_is_idempotent_and_canonical(values: list[str]) -> None:
    _idempotent(normalise_postcode, values)
    for value in run(normalise_postcode, values):
        if value is not None:
            outward, inward = value.split(" ")
            assert 2 <= len(outward) <= 4 and len(inward) == 3


@given(st.lists(st.text(max_size=20), max_size=25))
def test_parse_date_never_raises(values: list[str]) -> None:
    assert len(run(parse_date, values)) == len(values)
