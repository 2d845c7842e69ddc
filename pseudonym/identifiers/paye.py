"""PAYE employer references: the employer PAYE reference and the Accounts Office reference.

``paye``, employer PAYE reference: 3-digit HMRC tax office number, "/", then 1-10 letters and
digits, e.g. "123/AB456". Input may omit the "/" or put spaces around it; canonical form
"123/AB456" (upper case). Office "000" is ``out_of_range``. There is no check character.

``aoref``, Accounts Office reference: 13 characters "123PX00123456": 3-digit office, "P", a
check letter, then 6 digits and two digits-or-letters (the last is often "X"). Check letter as
HMRC's ``reference-checker`` (EpayeReferenceChecker) computes it: weights
9, 10, 11, 12, 0, 8, 7, 6, 5, 4, 3, 2, 1 over the 13 characters, digits as their value, letters
by HMRC's table (P = 48, X = 41, ...), sum mod 23 indexes "ABCDEFGHXJKLMNYPQRSTZVW".
Office 961 has extra layout rules (HMRC): ending in X needs "0" at position 6, otherwise the
last 8 characters are digits. Letters I and O, absent from HMRC's table, are ``bad_format`` in
the last two positions.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

# ---------------------------------------------------------------- employer PAYE reference

PAYE_PATTERN = r"^([0-9]{3})/?([A-Z0-9]{1,10})$"


def prepare_paye(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop whitespace (hyphens are kept: they are not part of the format)."""
    return exprs.as_text(value).str.to_uppercase().str.replace_all(r"\s", "")


def validate_paye(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout, then tax office range."""
    well_formed = compact.str.contains(PAYE_PATTERN).fill_null(False)
    failures = [
        (~well_formed, Reason.BAD_FORMAT),
        (compact.str.starts_with("000"), Reason.OUT_OF_RANGE),
    ]
    canonical = compact.str.replace(PAYE_PATTERN, "$1/$2")
    return Validation(canonical=canonical, failures=failures)


PAYE_RULE = IdentifierRule(
    name="paye",
    description="Employer PAYE reference: 3-digit tax office, '/', up to 10 letters or digits",
    examples=("123/AB456", "083/WA12345"),
    prepare=prepare_paye,
    validate=validate_paye,
)

# ---------------------------------------------------------------- Accounts Office reference

AOREF_PATTERN = r"^[0-9]{3}P[A-Z][0-9]{6}[0-9A-HJ-NP-Z]{2}$"
AOREF_961_X = r"^961P[A-Z]0[0-9]{5}[0-9A-HJ-NP-Z]X$"
AOREF_961_DIGITS = r"^961P[A-Z][0-9]{8}$"
CHECK_LETTERS = "ABCDEFGHXJKLMNYPQRSTZVW"
# HMRC's values for letters in weighted positions (as published, including U = 56).
LETTER_VALUES = {
    "A": 33, "B": 34, "C": 35, "D": 36, "E": 37, "F": 38, "G": 39, "H": 40, "J": 42, "K": 43,
    "L": 44, "M": 45, "N": 46, "P": 48, "Q": 49, "R": 50, "S": 51, "T": 52, "U": 56, "V": 54,
    "W": 55, "X": 41, "Y": 47, "Z": 53,
}  # fmt: skip
CHAR_VALUES = {**{str(d): d for d in range(10)}, **LETTER_VALUES}
P_WEIGHTED = LETTER_VALUES["P"] * 12


def prepare_aoref(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop separators."""
    return exprs.compact(value, upper=True)


def _char_value(char: pl.Expr) -> pl.Expr:
    return char.replace_strict(CHAR_VALUES, default=None, return_dtype=pl.Int64)


def validate_aoref(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout (including office 961 rules), then the mod 23 check letter."""
    well_formed = scope.let("well_formed", compact.str.contains(AOREF_PATTERN).fill_null(False))
    office_961 = compact.str.starts_with("961")
    layout_961 = (
        pl.when(compact.str.ends_with("X"))
        .then(compact.str.contains(AOREF_961_X))
        .otherwise(compact.str.contains(AOREF_961_DIGITS))
    )
    office = exprs.to_int(compact.str.slice(0, 3))
    middle = exprs.to_int(compact.str.slice(5, 6))
    total = (
        exprs.weighted_digit_sum(office, (9, 10, 11))
        + P_WEIGHTED
        + exprs.weighted_digit_sum(middle, (8, 7, 6, 5, 4, 3))
        + _char_value(compact.str.slice(11, 1)) * 2
        + _char_value(compact.str.slice(12, 1))
    )
    expected = pl.lit(pl.Series(list(CHECK_LETTERS))).gather(total % 23)
    failures = [
        (~well_formed | (office_961 & ~layout_961.fill_null(False)), Reason.BAD_FORMAT),
        (office == 0, Reason.OUT_OF_RANGE),
        (expected != compact.str.slice(4, 1), Reason.BAD_CHECK_DIGIT),
    ]
    return Validation(canonical=compact, failures=failures)


AOREF_RULE = IdentifierRule(
    name="aoref",
    description="Accounts Office reference: 123PX00123456, mod 23 check letter at position 5",
    examples=("123PW12345678", "450PE00923437"),
    prepare=prepare_aoref,
    validate=validate_aoref,
)
