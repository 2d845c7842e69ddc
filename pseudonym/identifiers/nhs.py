"""NHS number (England, Wales, Isle of Man; Northern Ireland H&C numbers share the scheme).

Ten digits, the last a modulus 11 check digit: weights 10..2 over the first nine digits,
check = 11 - (sum mod 11), 11 -> 0, and 10 means the number can never be valid.
Accepted input forms: "9434765919", "943 476 5919", "943-476-5919".

Ranges (first three digits; NHS Data Dictionary and the published allocation):
  400-499, 600-799  England, Wales, Isle of Man                           accepted
  320-399           Northern Ireland Health & Care numbers (same scheme)  accepted
  010-311           CHI numbers (Scotland), validate them as "chi"        out_of_range
  9xx               never issued to patients; 999 is the reserved test
                    range and other 9xx numbers appear only as examples   test_range
  anything else     not allocated                                         out_of_range
Repeated-digit fillers (0000000000 ... 9999999999) are "placeholder" even when mod 11 passes.
``test_range`` numbers are accepted with ``allow_test_numbers=True``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

LENGTH = 10
WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def prepare(value: pl.Expr) -> pl.Expr:
    """Drop spaces and hyphens between digit groups."""
    return exprs.compact(value)


def mod11_valid(number: pl.Expr) -> pl.Expr:
    """True where the last digit of a 10-digit number is its NHS/CHI modulus 11 check digit."""
    expected = exprs.mod11_check_digit(exprs.weighted_digit_sum(number // 10, WEIGHTS))
    return (expected != 10) & (expected == number % 10)


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Format, placeholder, check digit, then allocation range."""
    number = scope.let("number", exprs.to_int(compact))
    prefix = number // 10_000_000
    issued = prefix.is_between(400, 499) | prefix.is_between(600, 799)
    northern_ireland = number.is_between(3_200_000_001, 3_999_999_999)
    test = prefix >= 900
    failures = [
        (~exprs.is_digits(compact, LENGTH, number), Reason.BAD_FORMAT),
        (exprs.repeated_digit(number, LENGTH), Reason.PLACEHOLDER),
        (~mod11_valid(number), Reason.BAD_CHECK_DIGIT),
    ]
    if not allow_test_numbers:
        failures.append((test, Reason.TEST_RANGE))
    failures.append((~(issued | northern_ireland | test), Reason.OUT_OF_RANGE))
    return Validation(canonical=compact, failures=failures)


RULE = IdentifierRule(
    name="nhs",
    description="NHS number: 10 digits with a modulus 11 check digit (England, Wales, IoM, NI)",
    examples=("4000000004", "6000000006", "3200000015"),
    prepare=prepare,
    validate=validate,
    digits_only=LENGTH,
)
