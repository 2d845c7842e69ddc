"""National Insurance number (NINO), per HMRC National Insurance Manual NIM39110.

Two prefix letters, six digits, a suffix A, B, C or D: "AB123456C". Input may use spaces and
any case ("ab 12 34 56 c"); the canonical form is nine upper-case characters.
Prefix rules (``bad_prefix``):
  - D, F, I, Q, U, V are never the first or second letter; O is never the second letter;
  - BG, GB, KN, NK, NT, TN and ZZ are not allocated;
  - administrative prefixes that look like NINOs but are not (CR, FY, MW, NC, PP, PY, PZ; OO is
    already excluded by the letter rules) are rejected: they do not identify one person.
QQ is HMRC's documented example prefix ("QQ 12 34 56 A ... an example only and should not be
used as an actual number"). It is reported as ``test_range`` rather than ``bad_prefix``, so that
synthetic test data can use it with ``allow_test_numbers=True``.
A missing suffix, or the old space suffix, is ``bad_format``: the canonical form always has one.
Temporary Reference Numbers (format 11 a1 11 11) are not NINOs and are ``bad_format``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

PATTERN = r"^[A-Z]{2}[0-9]{6}[A-D]$"
FORBIDDEN_FIRST = "DFIQUV"
FORBIDDEN_SECOND = "DFIOQUV"
UNALLOCATED = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
ADMINISTRATIVE = ("CR", "FY", "MW", "NC", "PP", "PY", "PZ")
EXAMPLE_PREFIX = "QQ"


def prepare(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop spaces and hyphens."""
    return exprs.compact(value, upper=True)


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout, then the example prefix, then HMRC's prefix rules."""
    prefix = scope.let("prefix", compact.str.slice(0, 2))
    first = prefix.str.slice(0, 1)
    second = prefix.str.slice(1, 1)
    failures = [(~compact.str.contains(PATTERN), Reason.BAD_FORMAT)]
    if not allow_test_numbers:
        failures.append((prefix == EXAMPLE_PREFIX, Reason.TEST_RANGE))
    bad_prefix = (
        first.is_in(list(FORBIDDEN_FIRST))
        | second.is_in(list(FORBIDDEN_SECOND))
        | prefix.is_in([*UNALLOCATED, *ADMINISTRATIVE])
    )
    failures.append((bad_prefix & (prefix != EXAMPLE_PREFIX), Reason.BAD_PREFIX))
    return Validation(canonical=compact, failures=failures)


RULE = IdentifierRule(
    name="nino",
    description="National Insurance number: 2 prefix letters, 6 digits, suffix A-D (NIM39110)",
    examples=("AB123456C", "JG103759A"),
    prepare=prepare,
    validate=validate,
)
