"""Companies House company registration number (CRN).

Eight characters: 8 digits for companies registered in England and Wales, or a 2-character
prefix and 6 digits. Short numbers are zero-padded ("123456" -> "00123456",
"SC1234" -> "SC001234"); case and spaces are normalised. All-zero numbers are ``placeholder``;
a prefix not in :data:`PREFIX_REGISTERS` is ``bad_prefix``.

Prefixes accepted (:data:`PREFIX_REGISTERS`, one line each, with the register they number):
Companies House's published list of company number prefixes ("List of Company Numbers and
Prefixes" in its *Uniform Resource Identifiers (URI) Customer Guide*, v1.1, May 2012), brought
up to date with the prefixes Companies House has issued since (CE and CS for charitable
incorporated organisations, SG for Scottish qualifying partnerships, FE) and OE, the Register
of Overseas Entities (Economic Crime (Transparency and Enforcement) Act 2022, opened 1 August
2022): "OE" and 6 digits, the format Companies House's own overseas-entities service accepts
(``/^OE\\d{6}$/``). Pre-partition Northern Ireland numbers are "R0" and 6 digits.
Not accepted: the rare forms with letters among the last six characters (e.g. registered
societies "RS007R", some mutuals' suffixes); they are ``bad_format``.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import exprs
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.rule import IdentifierRule, Scope, Validation

#: Every accepted 2-character prefix and the register or kind of body it numbers.
PREFIX_REGISTERS: dict[str, str] = {
    # England and Wales
    "AC": "assurance company, England and Wales",
    "CE": "charitable incorporated organisation, England and Wales",
    "FC": "overseas company (UK establishment)",
    "GE": "European Economic Interest Grouping, England and Wales",
    "IC": "investment company with variable capital, England and Wales",
    "IP": "industrial and provident society, England and Wales",
    "LP": "limited partnership, England and Wales",
    "OC": "limited liability partnership, England and Wales",
    "RC": "Royal Charter body, England and Wales",
    "SE": "European company (Societas Europaea), England and Wales",
    "ZC": "unregistered company (not Companies Act), England and Wales",
    # Scotland
    "CS": "charitable incorporated organisation, Scotland",
    "ES": "European company (Societas Europaea), Scotland",
    "GS": "European Economic Interest Grouping, Scotland",
    "SA": "assurance company, Scotland",
    "SC": "company, Scotland",
    "SF": "overseas company registered in Scotland before October 2009",
    "SG": "Scottish qualifying partnership",
    "SI": "investment company with variable capital, Scotland",
    "SL": "limited partnership, Scotland",
    "SO": "limited liability partnership, Scotland",
    "SP": "industrial and provident society, Scotland",
    "SR": "Royal Charter body, Scotland",
    "SZ": "unregistered company (not Companies Act), Scotland",
    # Northern Ireland
    "EN": "European company (Societas Europaea), Northern Ireland",
    "GN": "European Economic Interest Grouping, Northern Ireland",
    "NA": "assurance company, Northern Ireland",
    "NC": "limited liability partnership, Northern Ireland",
    "NF": "overseas company registered in Northern Ireland before October 2009",
    "NI": "company, Northern Ireland",
    "NL": "limited partnership, Northern Ireland",
    "NO": "other body, Northern Ireland (credit unions and others)",
    "NP": "industrial and provident society, Northern Ireland",
    "NR": "Royal Charter body, Northern Ireland",
    "NV": "investment company with variable capital, Northern Ireland",
    "NZ": "unregistered company (not Companies Act), Northern Ireland",
    "R0": "company, Northern Ireland, registered before partition",
    # UK-wide
    "FE": "further education corporation",
    "OE": "overseas entity (Register of Overseas Entities)",
    "RS": "registered society",
}
PREFIXES: tuple[str, ...] = tuple(PREFIX_REGISTERS)
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
    examples=("00445790", "SC123456", "OC301234", "R0000123", "OE012345"),
    prepare=prepare,
    validate=validate,
)
