"""Unique Taxpayer Reference (UTR), Self Assessment and Corporation Tax.

Ten digits; the FIRST digit is the check digit. Weights 6, 7, 8, 9, 10, 5, 4, 3, 2 over digits
2-10 give S; the check digit is looked up by S mod 11 in HMRC's table
(0->2, 1->1, 2->9, 3->8, 4->7, 5->6, 6->5, 7->4, 8->3, 9->2, 10->1), i.e. 11 - (S mod 11) with
10 -> 1 and 11 -> 2. Source: HMRC ``reference-checker`` (UtrReferenceChecker).
Accepted input forms:
  - a "K" before or after the ten digits (Self Assessment letters print "1234567890K"): dropped;
  - 13 digits (as shown in some HMRC online accounts): the first three are dropped and the last
    ten validated, as HMRC's pensions-scheme-frontend does (``UtrHelper.stripUtr``).
Repeated-digit fillers (1111111111 passes the checksum) are ``placeholder``.
Canonical form: 10 digits.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

LENGTH = 10
WEIGHTS = (6, 7, 8, 9, 10, 5, 4, 3, 2)
CHECK_TABLE = (2, 1, 9, 8, 7, 6, 5, 4, 3, 2, 1)


def prepare(value: pl.Expr) -> pl.Expr:
    """Upper-case, drop separators, one leading or trailing K, and the first 3 of 13 digits."""
    text = exprs.compact(value, upper=True).str.replace(r"^K?([0-9]+)$|^([0-9]+)K$", "$1$2")
    return pl.when(text.str.contains(r"^[0-9]{13}$")).then(text.str.slice(3)).otherwise(text)


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Format, placeholder, check digit."""
    number = scope.let("number", exprs.to_int(compact))
    remainder = exprs.weighted_digit_sum(number % 1_000_000_000, WEIGHTS) % 11
    expected = pl.lit(pl.Series(CHECK_TABLE, dtype=pl.Int64)).gather(remainder)
    failures = [
        (~exprs.is_digits(compact, LENGTH, number), Reason.BAD_FORMAT),
        (exprs.repeated_digit(number, LENGTH), Reason.PLACEHOLDER),
        (expected != number // 1_000_000_000, Reason.BAD_CHECK_DIGIT),
    ]
    return Validation(canonical=compact, failures=failures)


RULE = IdentifierRule(
    name="utr",
    description="Unique Taxpayer Reference: 10 digits, first is an HMRC modulus 11 check digit",
    examples=("2234567890", "1097172564"),
    prepare=prepare,
    validate=validate,
    digits_only=LENGTH,
)
