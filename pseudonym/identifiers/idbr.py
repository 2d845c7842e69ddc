"""ONS Inter-Departmental Business Register (IDBR) references.

``entref``  enterprise reference, 10 digits.
``luref``   local unit reference, 9 digits.
``ruref``   reporting unit reference, 11 digits, printed on survey forms with a check letter.
ONS has not published the check-letter algorithm, so the letter is NOT verified: a trailing
letter is accepted and dropped, and the canonical form is the 11 digits (the letter is derived
from them, so dropping it loses nothing and makes "…A" and the bare digits link).
No check digits exist for entref or luref: only the layout is validated. All-zero references
are ``placeholder``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation


def _digits_rule(name: str, length: int, description: str, example: str) -> IdentifierRule:
    def prepare(value: pl.Expr) -> pl.Expr:
        return exprs.compact(value)

    def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
        number = scope.let("number", exprs.to_int(compact))
        failures = [
            (~exprs.is_digits(compact, length, number), Reason.BAD_FORMAT),
            (number == 0, Reason.PLACEHOLDER),
        ]
        return Validation(canonical=compact, failures=failures)

    return IdentifierRule(
        name=name,
        description=description,
        examples=(example,),
        prepare=prepare,
        validate=validate,
        digits_only=length,
    )


ENTREF_RULE = _digits_rule("entref", 10, "IDBR enterprise reference: 10 digits", "9900012345")
LUREF_RULE = _digits_rule("luref", 9, "IDBR local unit reference: 9 digits", "700012345")

RUREF_LENGTH = 11


def prepare_ruref(value: pl.Expr) -> pl.Expr:
    """Upper-case, drop separators and the (unverifiable) trailing check letter."""
    return exprs.compact(value, upper=True).str.replace(r"^([0-9]{11})[A-Z]$", "$1")


def validate_ruref(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout only; see the module docstring for why the check letter is not verified."""
    number = scope.let("number", exprs.to_int(compact))
    failures = [
        (~exprs.is_digits(compact, RUREF_LENGTH, number), Reason.BAD_FORMAT),
        (number == 0, Reason.PLACEHOLDER),
    ]
    return Validation(canonical=compact, failures=failures)


RUREF_RULE = IdentifierRule(
    name="ruref",
    description="IDBR reporting unit reference: 11 digits (+ check letter, not verified)",
    examples=("49900012345",),
    prepare=prepare_ruref,
    validate=validate_ruref,
    digits_only=RUREF_LENGTH,
)
