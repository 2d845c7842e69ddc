"""UK postcode (format only: a well-formed postcode may still not exist).

Outward code in one of six patterns (A = letter, 9 = digit): A9, A99, A9A, AA9, AA99, AA9A; then
the inward code 9AA. Letter restrictions (Royal Mail / BS 7666, as in the GOV.UK data standard):
  position 1: not Q, V, X;  position 2 (AA.. forms): not I, J, Z;
  position 3 of A9A: A B C D E F G H J K P S T U W;  position 4 of AA9A: A B E H M N P R V W X Y;
  inward letters: not C, I, K, M, O, V.
Input of any case and spacing is accepted ("sw1a1aa", "SW1A  1AA"); the canonical form is
upper case with one space before the inward code: "SW1A 1AA".
Girobank's "GIR 0AA" is accepted. "BFPO 1234" is a forces routing number, not a postcode, and is
``bad_format`` (BFPO addresses also have ordinary "BF1" postcodes, which are accepted). The
overseas territories' non-standard codes (e.g. "ASCN 1ZZ", "TKCA 1ZZ") are ``bad_format``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

SHAPE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
_FIRST = "[A-PR-UWYZ]"
_SECOND = "[A-HK-Y]"
OUTWARD = (
    f"{_FIRST}[0-9]{{1,2}}",  # A9, A99
    f"{_FIRST}[0-9][A-HJKPSTUW]",  # A9A
    f"{_FIRST}{_SECOND}[0-9]{{1,2}}",  # AA9, AA99
    f"{_FIRST}{_SECOND}[0-9][ABEHMNPRVWXY]",  # AA9A
)
INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"
VALID = rf"^(({'|'.join(OUTWARD)}){INWARD}|GIR0AA)$"


def prepare(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop all whitespace."""
    return exprs.as_text(value).str.to_uppercase().str.replace_all(r"\s", "")


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Letter restrictions by position; canonical spacing."""
    valid = compact.str.contains(VALID).fill_null(False)
    canonical = compact.str.head(-3) + " " + compact.str.tail(3)
    return Validation(canonical=canonical, failures=[(~valid, Reason.BAD_FORMAT)])


RULE = IdentifierRule(
    name="postcode",
    description="UK postcode: outward A9/A99/A9A/AA9/AA99/AA9A + inward 9AA, 'SW1A 1AA' form",
    examples=("SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"),
    prepare=prepare,
    validate=validate,
)
