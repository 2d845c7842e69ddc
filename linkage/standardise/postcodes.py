"""UK postcodes: canonical form and the area / district / sector / region hierarchy.

A postcode is an outward code (area letters + district, e.g. "SW1A") and an inward code (sector
digit + two unit letters, e.g. "1AA"). Values that do not have a valid UK shape become null.
"""

from __future__ import annotations

import polars as pl

from linkage.standardise._text import per_distinct
from linkage.standardise.regions import POSTCODE_AREA_REGION

# Shape check only (Royal Mail format A9 9AA .. AA9A 9AA); whether the postcode exists is not
# checked. Inward unit letters never include C, I, K, M, O or V.
_COMPACT_RE = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$"


def normalise_postcode(expr: pl.Expr) -> pl.Expr:
    """Upper case, one space before the 3-character inward code: "sw1a1aa" -> "SW1A 1AA".

    Spaces and punctuation anywhere are ignored. Values without a valid UK shape become null.
    """
    return per_distinct(expr, _normalise_postcode, pl.String())


def _normalise_postcode(expr: pl.Expr) -> pl.Expr:
    compact = expr.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    # Only valid postcodes gain a space, so extracting "outward inward" nulls the rest in one
    # pass (a when/then would evaluate the chain twice).
    return compact.str.replace(_COMPACT_RE, "$1 $2").str.extract(r"^(\S+ \S{3})$", 1)


def postcode_area(expr: pl.Expr) -> pl.Expr:
    """The 1-2 letter postcode area: "SW1A 1AA" -> "SW". Input may be unnormalised."""
    return normalise_postcode(expr).str.extract(r"^([A-Z]{1,2})", 1)


def postcode_district(expr: pl.Expr) -> pl.Expr:
    """The outward code: "SW1A 1AA" -> "SW1A"."""
    return normalise_postcode(expr).str.extract(r"^(\S+) ", 1)


def postcode_sector(expr: pl.Expr) -> pl.Expr:
    """Outward code plus the sector digit: "SW1A 1AA" -> "SW1A 1"."""
    return normalise_postcode(expr).str.extract(r"^(\S+ [0-9])", 1)


def postcode_region(expr: pl.Expr) -> pl.Expr:
    """The ONS region of the postcode's area ("SW1A 1AA" -> "London"); null when unknown.

    Areas straddling a regional boundary take their majority region (see
    :data:`linkage.standardise.regions.STRADDLING_AREAS`).
    """
    return postcode_area(expr).replace_strict(
        POSTCODE_AREA_REGION, default=None, return_dtype=pl.String
    )
