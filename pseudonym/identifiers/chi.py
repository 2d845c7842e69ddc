"""Scottish CHI (Community Health Index) number.

Ten digits: DDMMYY date of birth, two digits, a sex digit (odd male, even female) and a modulus 11
check digit computed exactly as for NHS numbers (weights 10..2, 11 -> 0, 10 invalid). The leading
zero of days 01-09 is part of the number and is kept: store CHI numbers as text.

The date must exist: day 01-31 within the month's length, month 01-12, and 29 February only in
years divisible by 4 (YY = 00 is accepted: 2000 was a leap year though 1900 was not). This
follows Public Health Scotland's ``phsmethods::chi_check``.
Repeated-digit fillers (e.g. 1111111111, a valid date with a passing check digit) are
"placeholder". Nine-digit values are not zero-padded: a lost leading zero is reported as
``bad_format`` rather than guessed.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.nhs import mod11_valid
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

LENGTH = 10


def prepare(value: pl.Expr) -> pl.Expr:
    """Drop spaces and hyphens between digit groups."""
    return exprs.compact(value)


def valid_ddmmyy(number: pl.Expr) -> pl.Expr:
    """True where the first six digits of a 10-digit number are a calendar date DDMMYY."""
    day = number // 100_000_000
    month = (number // 1_000_000) % 100
    year = (number // 10_000) % 100
    month_length = (
        pl.when(month == 2)
        .then(pl.when(year % 4 == 0).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    return month.is_between(1, 12) & (day >= 1) & (day <= month_length)


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Format, placeholder, date of birth, then check digit. CHI has no test range."""
    number = scope.let("number", exprs.to_int(compact))
    failures = [
        (~exprs.is_digits(compact, LENGTH, number), Reason.BAD_FORMAT),
        (exprs.repeated_digit(number, LENGTH), Reason.PLACEHOLDER),
        (~valid_ddmmyy(number), Reason.BAD_DATE),
        (~mod11_valid(number), Reason.BAD_CHECK_DIGIT),
    ]
    return Validation(canonical=compact, failures=failures)


RULE = IdentifierRule(
    name="chi",
    description="Scottish CHI number: DDMMYY date of birth + 4 digits, modulus 11 check digit",
    examples=("0101011237", "2902201230"),
    prepare=prepare,
    validate=validate,
    digits_only=LENGTH,
)
