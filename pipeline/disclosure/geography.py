"""UK postcode parsing to sector, district, area and (dominant) region.

``linkage.standardise`` had no postcode helpers when this was written, so the parsing lives here.
Postcode areas that straddle a regional boundary (e.g. CH, SY, TD) are assigned to the region
holding most of their population: region is an approximation, never finer than the truth.
"""

from __future__ import annotations

import polars as pl

_REGIONS: dict[str, tuple[str, ...]] = {
    "North East": ("DH", "DL", "NE", "SR", "TS"),
    "North West": (
        "BB", "BL", "CA", "CH", "CW", "FY", "L", "LA", "M", "OL", "PR", "SK", "WA", "WN",
    ),
    "Yorkshire and The Humber": ("BD", "DN", "HD", "HG", "HU", "HX", "LS", "S", "WF", "YO"),
    "East Midlands": ("DE", "LE", "LN", "NG", "NN"),
    "West Midlands": ("B", "CV", "DY", "HR", "ST", "SY", "TF", "WR", "WS", "WV"),
    "East of England": ("AL", "CB", "CM", "CO", "IP", "LU", "NR", "PE", "SG", "SS", "WD"),
    "London": (
        "E", "EC", "N", "NW", "SE", "SW", "W", "WC",
        "BR", "CR", "EN", "HA", "IG", "RM", "SM", "TW", "UB",
    ),
    "South East": (
        "BN", "CT", "DA", "GU", "HP", "KT", "ME", "MK", "OX", "PO", "RG", "RH", "SL", "SO", "TN",
    ),
    "South West": ("BA", "BH", "BS", "DT", "EX", "GL", "PL", "SN", "SP", "TA", "TQ", "TR"),
    "Wales": ("CF", "LD", "LL", "NP", "SA"),
    "Scotland": (
        "AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA", "PH", "TD",
        "ZE",
    ),
    "Northern Ireland": ("BT",),
    "Crown Dependencies": ("GY", "JE", "IM"),
}  # fmt: skip

AREA_TO_REGION: dict[str, str] = {a: r for r, areas in _REGIONS.items() for a in areas}
REGIONS: tuple[str, ...] = tuple(_REGIONS)

_POSTCODE = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$"


def _compact(expr: pl.Expr) -> pl.Expr:
    compact = expr.cast(pl.String).str.to_uppercase().str.replace_all(r"\s+", "")
    return pl.when(compact.str.contains(_POSTCODE)).then(compact).otherwise(None)


def postcode_sector(expr: pl.Expr) -> pl.Expr:
    """``"SW1A 1AA"`` -> ``"SW1A 1"``; invalid postcodes become null."""
    c = _compact(expr)
    return pl.concat_str(
        [c.str.extract(_POSTCODE, 1), c.str.extract(_POSTCODE, 2).str.slice(0, 1)], separator=" "
    )


def postcode_district(expr: pl.Expr) -> pl.Expr:
    """``"SW1A 1AA"`` -> ``"SW1A"`` (the outward code); invalid postcodes become null."""
    return _compact(expr).str.extract(_POSTCODE, 1)


def postcode_area(expr: pl.Expr) -> pl.Expr:
    """``"SW1A 1AA"`` -> ``"SW"``; invalid postcodes become null."""
    return _compact(expr).str.extract(r"^([A-Z]{1,2})[0-9]", 1)


def postcode_region(expr: pl.Expr) -> pl.Expr:
    """``"SW1A 1AA"`` -> ``"London"``; unknown areas and invalid postcodes become null."""
    return postcode_area(expr).replace_strict(AREA_TO_REGION, default=None, return_dtype=pl.String)
