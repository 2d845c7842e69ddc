"""Validation and normalisation of UK operational identifiers, as vectorised polars expressions.

>>> import polars as pl
>>> from pseudonym.identifiers import check
>>> check("nino", pl.Series(["ab 12 34 56 c", "QQ123456C"])).rows()
[('AB123456C', None), (None, 'test_range')]

Types: nhs, chi, nino, vat, utr, paye, aoref, crn, entref, ruref, luref, postcode. Each rule's
module docstring gives its format, check-digit algorithm, ranges and sources. Messages and
exceptions name the type and reason code, never the value.
"""

from pseudonym.identifiers.errors import InvalidIdentifier, UnknownIdentifierType
from pseudonym.identifiers.reasons import Reason
from pseudonym.identifiers.registry import (
    IDENTIFIER_TYPES,
    check,
    check_expr,
    get_rule,
    normalise_one,
)
from pseudonym.identifiers.rule import IdentifierRule

__all__ = [
    "IDENTIFIER_TYPES",
    "IdentifierRule",
    "InvalidIdentifier",
    "Reason",
    "UnknownIdentifierType",
    "check",
    "check_expr",
    "get_rule",
    "normalise_one",
]
