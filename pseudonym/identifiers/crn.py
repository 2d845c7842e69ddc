"""Companies House company registration number (CRN).

Eight characters: 8 digits for companies registered in England and Wales, or a 2-character
prefix and 6 digits. Short numbers are zero-padded ("123456" -> "00123456",
"SC1234" -> "SC001234"); case and spaces are normalised. All-zero numbers are ``placeholder``;
an unknown prefix is ``bad_prefix``.

Prefixes accepted (Companies House prefix list, as reproduced by company-data publishers):
AC ZC FC GE LP OC SE SA SZ SF GS SL SO SC ES NA NZ NF GN NL NC R0 NI EN (companies, LLPs, LPs,
EEIGs, SEs, assurance and unregistered companies, overseas companies, pre-partition NI "R0"),
CE CS (charitable incorporated organisations), SG (Scottish qualifying partnerships),
IP SP NP RS (industrial and provident / registered societies), IC SI NV (investment companies
with variable capital), RC SR NR (Royal Charter bodies), NO (NI credit unions and others), FE.
Not accepted: the rare forms with letters among the last six characters (e.g. registered
societies "RS007R", some mutuals' suffixes); they are ``bad_format``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

PREFIXES = (
    "AC", "ZC", "FC", "GE", "LP", "OC", "SE", "SA", "SZ", "SF", "GS", "SL", "SO", "SC", "ES",
    "NA", "NZ", "NF", "GN", "NL", "NC", "R0", "NI", "EN", "CE", "CS", "SG", "IP", "SP", "NP",
    "RS", "IC", "SI", "NV", "RC", "SR", "NR", "NO", "FE",
)  # fmt: skip
NUMERIC = r"^[0-9]{1,8}$"
PREFIXED = r"^([A-Z][A-Z0-9])([0-9]{1,6})$"


def prepare(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop separators."""
    return exprs.compact(value, upper=True)


def validate(compact: pl.Expr, allow_test_numbers: bool, scope: Scope) -> Validation:
    """Layout, prefix, all-zero; canonical form zero-padded to 8 characters."""
    numeric = scope.let("numeric", compact.str.contains(NUMERIC).fill_null(False))
    prefixed = compact.str.contains(PREFIXED).fill_null(False)
    prefix = compact.str.slice(0, 2)
    digits = pl.when(numeric).then(compact).otherwise(compact.str.slice(2))
    canonical = (
        pl.when(numeric)
        .then(compact.str.zfill(8))
        .otherwise(prefix + compact.str.slice(2).str.zfill(6))
    )
    failures = [
        (~(numeric | prefixed), Reason.BAD_FORMAT),
        (~numeric & ~prefix.is_in(list(PREFIXES)), Reason.BAD_PREFIX),
        (exprs.to_int(digits) == 0, Reason.PLACEHOLDER),
    ]
    return Validation(canonical=canonical, failures=failures)


RULE = IdentifierRule(
    name="crn",
    description="Companies House number: 8 digits, or a known 2-character prefix + 6 digits",
    examples=("00445790", "SC123456", "OC301234", "R0000123"),
    prepare=prepare,
    validate=validate,
)
