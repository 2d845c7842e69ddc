"""Polars expression helpers shared by the identifier rules.

Everything here builds expressions; nothing runs a Python loop per row. Check digits are computed
arithmetically: the digit string is cast to an integer once, split into chunks of up to five
digits, and each chunk's weighted digit sum is read from a lookup table (two gathers for an NHS
number instead of ten string slices, about 9x faster).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import polars as pl

# Whitespace (including no-break space) and the hyphen/dash characters people type between groups.
SEPARATORS = r"[\s\-\u2010-\u2015]"


def as_text(value: pl.Expr) -> pl.Expr:
    """The value as a string column (integers lose leading zeros: store identifiers as text)."""
    return value.cast(pl.String)


def compact(value: pl.Expr, *, upper: bool = False) -> pl.Expr:
    """Remove separators (whitespace, hyphens and dashes); optionally upper-case."""
    text = as_text(value)
    if upper:
        text = text.str.to_uppercase()
    return text.str.replace_all(SEPARATORS, "")


def is_digits(text: pl.Expr, length: int, number: pl.Expr | None = None) -> pl.Expr:
    """True where ``text`` is exactly ``length`` ASCII digits (cheaper than a regex).

    Relies on the integer cast rejecting everything but an optional sign and digits; the sign is
    ruled out separately. ``length`` must be at most 18 so the value fits in an Int64. Pass
    ``number`` (``to_int(text)``) when it is already computed.
    """
    if not 1 <= length <= 18:
        raise ValueError("length must be between 1 and 18")
    return (
        (text.str.len_bytes() == length)
        & (to_int(text) if number is None else number).is_not_null()
        & ~text.str.starts_with("+")
        & ~text.str.starts_with("-")
    ).fill_null(False)


def to_int(text: pl.Expr) -> pl.Expr:
    """Digits as Int64 (null where not a number)."""
    return text.cast(pl.Int64, strict=False)


def weighted_digit_sum(number: pl.Expr, weights: Sequence[int]) -> pl.Expr:
    """Sum of digit * weight over a ``len(weights)``-digit number, weights from the left.

    ``number`` is the integer value of the digit string (leading zeros allowed). The number is
    split into chunks of up to five digits from the right; each chunk's weighted sum is one
    gather from a precomputed table (at most 100 000 entries).
    """
    # Digits beyond len(weights) are ignored and negative numbers give null, so the gathers can
    # never go out of bounds whatever string the number was parsed from.
    number = pl.when(number >= 0).then(number)
    total: pl.Expr | None = None
    remaining = list(weights)
    power = 0
    while remaining:
        chunk_weights, remaining = remaining[-_CHUNK:], remaining[:-_CHUNK]
        table = _chunk_table(tuple(chunk_weights))
        shifted = number // (10**power) if power else number
        term = pl.lit(table).gather(shifted % (10 ** len(chunk_weights)))
        total = term if total is None else total + term
        power += len(chunk_weights)
    if total is None:
        raise ValueError("weights must not be empty")
    return total


_CHUNK = 5


@lru_cache(maxsize=64)
def _chunk_table(weights: tuple[int, ...]) -> pl.Series:
    """Weighted digit sum of every number with ``len(weights)`` digits, indexed by the number."""
    sums = np.zeros(10 ** len(weights), dtype=np.int32)
    values = np.arange(10 ** len(weights))
    for position, weight in enumerate(reversed(weights)):
        sums += (values // 10**position % 10 * weight).astype(np.int32)
    return pl.Series(sums)


def repeated_digit(number: pl.Expr, length: int) -> pl.Expr:
    """True where a ``length``-digit number is one digit repeated (0000000000, 1111111111, ...)."""
    repunit = int("1" * length)
    return number % repunit == 0


def mod11_check_digit(weighted_sum: pl.Expr) -> pl.Expr:
    """NHS/CHI modulus 11 check digit: 11 - (sum mod 11), 11 -> 0. A result of 10 is invalid."""
    return (11 - weighted_sum % 11) % 11
