"""Property tests: independent scalar references, idempotence, robustness on arbitrary text.

The reference implementations below are written from the published algorithms, one value at a
time in plain Python, sharing no code with pseudonym.identifiers.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pseudonym.identifiers import IDENTIFIER_TYPES, check, check_expr
from pseudonym.identifiers.exprs import is_digits

SEPARATOR = re.compile(r"[\s\-\u2010-\u2015]")


def reference_nhs(raw: str | None, allow_test_numbers: bool = False) -> tuple[str | None, str]:
    """(normalised, reason) for one NHS number, per the NHS Data Dictionary algorithm."""
    digits = "" if raw is None else SEPARATOR.sub("", raw)
    if not digits:
        return None, "missing"
    if not re.fullmatch(r"[0-9]{10}", digits):
        return None, "bad_format"
    if len(set(digits)) == 1:
        return None, "placeholder"
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check_digit = 11 - total % 11
    if check_digit == 11:
        check_digit = 0
    if check_digit == 10 or check_digit != int(digits[9]):
        return None, "bad_check_digit"
    prefix = int(digits[:3])
    if prefix >= 900:
        return (digits, "") if allow_test_numbers else (None, "test_range")
    if (
        400 <= prefix <= 499
        or 600 <= prefix <= 799
        or 3_200_000_001 <= int(digits) <= 3_999_999_999
    ):
        return digits, ""
    return None, "out_of_range"


def reference_utr(digits: str) -> bool:
    """HMRC UTR check: the first digit from S mod 11 through HMRC's table."""
    table = [2, 1, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    total = sum(int(d) * w for d, w in zip(digits[1:], (6, 7, 8, 9, 10, 5, 4, 3, 2), strict=True))
    return table[total % 11] == int(digits[0])


def reference_vat(digits: str) -> bool:
    """HMRC modulus 97 / 97-55 check, transcribed from HMRC's loop (subtract 97 while > 97)."""

    def expected(total: int) -> int:
        while total > 97:
            total -= 97
        return 97 - total

    total = sum(int(d) * w for d, w in zip(digits[:7], range(8, 1, -1), strict=True))
    return int(digits[7:9]) in (expected(total), expected(total + 55))


def as_pairs(frame: pl.DataFrame) -> list[tuple[str | None, str]]:
    return [(n, r or "") for n, r in frame.rows()]


nine_digits = st.from_regex(r"[0-9]{9}", fullmatch=True)


def with_nhs_check_digit(stem: str) -> str:
    total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
    return stem + str((11 - total % 11) % 11 % 10)


@given(
    st.lists(
        st.one_of(
            st.from_regex(r"[0-9]{10}", fullmatch=True),
            nine_digits.map(with_nhs_check_digit),  # mostly valid check digits
            nine_digits.map(lambda s: f"{s[:3]} {s[3:6]}-{with_nhs_check_digit(s)[6:]}"),
            st.text(alphabet="0123456789 -+x", max_size=14),
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_nhs_matches_independent_reference(values: list[str], allow_test_numbers: bool) -> None:
    result = check("nhs", pl.Series(values, dtype=pl.String), allow_test_numbers=allow_test_numbers)
    assert as_pairs(result) == [reference_nhs(v, allow_test_numbers) for v in values]


def test_nhs_reference_on_a_large_random_sample() -> None:
    """100 000 random 10-digit strings across the whole space, including leading zeros."""
    rng = np.random.default_rng(20261123)
    numbers = rng.integers(0, 10**10, 100_000)
    values = [f"{n:010d}" for n in numbers]
    # Force ~half to carry a correct check digit so every later rule is exercised.
    values = [with_nhs_check_digit(v[:9]) if i % 2 else v for i, v in enumerate(values)]
    result = as_pairs(check("nhs", pl.Series(values)))
    expected = [reference_nhs(v) for v in values]
    assert result == expected
    reasons = {r for _, r in expected}
    assert {"", "bad_check_digit", "out_of_range", "test_range"} <= reasons


@given(st.lists(st.from_regex(r"[0-9]{10}", fullmatch=True), min_size=1, max_size=40))
def test_utr_check_digit_matches_reference(values: list[str]) -> None:
    reasons = check("utr", pl.Series(values))["reason"].to_list()
    for value, reason in zip(values, reasons, strict=True):
        if len(set(value)) == 1:
            assert reason == "placeholder"
        else:
            assert (reason is None) == reference_utr(value), value


@given(st.lists(st.from_regex(r"[0-9]{9}", fullmatch=True), min_size=1, max_size=40))
def test_vat_check_digits_match_reference(values: list[str]) -> None:
    reasons = check("vat", pl.Series(values))["reason"].to_list()
    for value, reason in zip(values, reasons, strict=True):
        if value[:7] == "0000000":
            assert reason == "placeholder"
        else:
            assert (reason is None) == reference_vat(value), value


arbitrary_text = st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"[0-9A-Za-z /\-]{0,16}"))


@given(st.sampled_from(sorted(IDENTIFIER_TYPES)), st.lists(arbitrary_text, max_size=30))
def test_any_text_gives_a_reason_or_a_normal_form_never_an_error(
    id_type: str, values: list[str | None]
) -> None:
    result = check(id_type, pl.Series(values, dtype=pl.String))
    assert result.height == len(values)
    for (normalised, reason), value in zip(result.rows(), values, strict=True):
        assert (normalised is None) != (reason is None)
        # Python's str.strip() also strips ASCII control characters \x1c-\x1f; the rules
        # strip Unicode White_Space only, so compare on ordinary whitespace.
        if value is None or not value.strip(" \t\r\n\f\v\u00a0"):
            assert reason == "missing"
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    # The public expression form, and the purely inline form check() is an optimisation of
    # (no staging, no digits-only fast path): all three must agree row for row.
    for normalised_expr, reason_expr in (
        check_expr(id_type, pl.col("v")),
        IDENTIFIER_TYPES[id_type].exprs(pl.col("v")),
    ):
        other = frame.select(normalised_expr.alias("normalised"), reason_expr.alias("reason"))
        assert other.equals(result)


def _decorate(example: str, spaces: list[int], lower: bool) -> str:
    """Insert spaces at the given offsets and optionally lower-case: a typist's version."""
    chars = list(example.replace(" ", ""))
    for offset in sorted(spaces, reverse=True):
        chars.insert(offset % (len(chars) + 1), " ")
    text = "".join(chars)
    return text.lower() if lower else text


examples = st.sampled_from(
    [(name, ex) for name, rule in sorted(IDENTIFIER_TYPES.items()) for ex in rule.examples]
)


@given(examples, st.lists(st.integers(0, 20), max_size=4), st.booleans())
def test_spacing_and_case_do_not_change_the_normal_form(
    case: tuple[str, str], spaces: list[int], lower: bool
) -> None:
    id_type, example = case
    if id_type == "paye":
        spaces = []  # spaces inside the reference part are not separators for PAYE
    decorated = _decorate(example, spaces, lower)
    assert check(id_type, pl.Series([decorated])).row(0) == (example, None)


@given(st.sampled_from(sorted(IDENTIFIER_TYPES)), st.lists(arbitrary_text, max_size=30))
def test_normalisation_is_idempotent(id_type: str, values: list[str | None]) -> None:
    first = check(id_type, pl.Series(values, dtype=pl.String))
    valid = first["normalised"].drop_nulls()
    second = check(id_type, valid)
    assert second["normalised"].to_list() == valid.to_list()
    assert second["reason"].null_count() == valid.len()


@given(examples)
def test_normal_forms_of_examples_are_fixed_points(case: tuple[str, str]) -> None:
    id_type, example = case
    once = check(id_type, pl.Series([example]))
    twice = check(id_type, once["normalised"])
    assert once.row(0) == twice.row(0) == (example, None)


@given(st.lists(st.text(max_size=14), min_size=1, max_size=40), st.integers(1, 12))
def test_is_digits_matches_a_regex(values: list[str], length: int) -> None:
    got = pl.DataFrame({"v": values}).select(is_digits(pl.col("v"), length))["v"].to_list()
    assert got == [re.fullmatch(f"[0-9]{{{length}}}", v) is not None for v in values]


digit_types = sorted(name for name, rule in IDENTIFIER_TYPES.items() if rule.digits_only)


@given(
    st.sampled_from(digit_types),
    st.lists(st.from_regex(r"[0-9 \-kK]{0,16}", fullmatch=True), min_size=1, max_size=40),
)
def test_digit_fast_path_agrees_with_plain_expressions(id_type: str, values: list[str]) -> None:
    """check() skips or shortcuts compaction for digit types; the plain expressions never do."""
    fast = check(id_type, pl.Series(values, dtype=pl.String))
    normalised, reason = IDENTIFIER_TYPES[id_type].exprs(pl.col("v"))
    plain = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        normalised.alias("normalised"), reason.alias("reason")
    )
    assert fast.equals(plain)
