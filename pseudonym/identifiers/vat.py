"""UK VAT registration number.

Forms (an optional "GB" prefix is dropped; "XI", the Northern Ireland prefix for the same
number, is dropped too):
  - 9 digits "nnnnnnncc", or 12 digits: the same 9 plus a 3-digit branch identifier, kept;
  - government departments "GD" + 3 digits, 000-499 (GD500+ is ``out_of_range``);
  - health authorities "HA" + 3 digits, 500-999 (HA000-HA499 is ``out_of_range``).
Check digits, as HMRC's own ``reference-checker`` library computes them: weights 8..2 over the
first seven digits give S; the last two digits must equal 97 - S' where S' is S reduced by
97 while above 97 (the "modulus 97" rule), or the same with S + 55 (the "97-55" rule, numbers
issued from November 2010). The branch suffix is not checked.
Our addition: a number whose first seven digits are all zero is ``placeholder`` (HMRC's checker
accepts 000000097 by arithmetic; no such number identifies a trader).
Canonical form: 9 or 12 digits, or "GD123" / "HA567".
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

WEIGHTS = (8, 7, 6, 5, 4, 3, 2)
COUNTRY_PREFIX = r"^(GB|XI)"
NUMBER = r"^([0-9]{9}|[0-9]{12})$"
GOVERNMENT = r"^(GD|HA)[0-9]{3}$"


def prepare(value: pl.Expr) -> pl.Expr:
    """Upper-case, drop separators and the GB/XI prefix."""
    return exprs.compact(value, upper=True).str.replace(COUNTRY_PREFIX, "")


def hmrc_expected(weighted_sum: pl.Expr) -> pl.Expr:
    """97 - S', S' = S reduced by 97 while above 97 (so 97 itself stays 97, and 0 stays 0)."""
    reduced = pl.when(weighted_sum == 0).then(0).otherwise((weighted_sum - 1) % 97 + 1)
    return 97 - reduced


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout; GD/HA ranges; placeholder; modulus 97 or 97-55."""
    is_number = scope.let("is_number", compact.str.contains(NUMBER).fill_null(False))
    is_government = compact.str.contains(GOVERNMENT).fill_null(False)
    base = scope.let("base", pl.when(is_number).then(exprs.to_int(compact.str.slice(0, 9))))
    government_number = exprs.to_int(compact.str.slice(2, 3))
    government_ok = (compact.str.starts_with("GD") & (government_number < 500)) | (
        compact.str.starts_with("HA") & (government_number >= 500)
    )
    weighted = exprs.weighted_digit_sum(base // 100, WEIGHTS)
    check = base % 100
    check_ok = (hmrc_expected(weighted) == check) | (hmrc_expected(weighted + 55) == check)
    failures = [
        (~(is_number | is_government), Reason.BAD_FORMAT),
        (is_government & ~government_ok, Reason.OUT_OF_RANGE),
        (is_number & (base // 100 == 0), Reason.PLACEHOLDER),
        (is_number & ~check_ok.fill_null(False), Reason.BAD_CHECK_DIGIT),
    ]
    return Validation(canonical=compact, failures=failures)


RULE = IdentifierRule(
    name="vat",
    description="UK VAT number: 9 digits (+3-digit branch), mod 97 / 97-55; or GD/HA forms",
    examples=("101747696", "101747641", "GD001", "HA500"),
    prepare=prepare,
    validate=validate,
)
