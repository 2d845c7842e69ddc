"""Address lines: abbreviations expanded, flat/unit and house number pulled out, street tokens."""

from __future__ import annotations

import polars as pl

from linkage.standardise._text import collapse_spaces, fold_text, per_distinct

#: Abbreviations expanded wherever they appear as a whole word.
ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE", "CL": "CLOSE",
    "CRES": "CRESCENT", "CRESC": "CRESCENT", "CT": "COURT", "CRT": "COURT", "PL": "PLACE",
    "SQ": "SQUARE", "GDNS": "GARDENS", "GRN": "GREEN", "GRV": "GROVE", "GRO": "GROVE",
    "TER": "TERRACE", "TERR": "TERRACE", "TCE": "TERRACE", "PK": "PARK", "PDE": "PARADE",
    "HSE": "HOUSE", "BLDG": "BUILDING", "BLDGS": "BUILDINGS", "STN": "STATION", "HTS": "HEIGHTS",
    "MT": "MOUNT", "WY": "WAY", "WLK": "WALK", "RDGE": "RIDGE", "HWY": "HIGHWAY",
    "ESTE": "ESTATE", "EST": "ESTATE", "IND": "INDUSTRIAL", "CTR": "CENTRE", "UPR": "UPPER",
    "LWR": "LOWER", "GT": "GREAT", "LT": "LITTLE", "NTH": "NORTH", "STH": "SOUTH",
    "APT": "FLAT", "APARTMENT": "FLAT",
}  # fmt: skip

# ST is STREET at the end of the line or of a comma-separated part ("HIGH ST, LEEDS") and
# SAINT elsewhere ("ST JOHNS ROAD"); DR is DRIVE in the same position (never "DOCTOR" here).
_END_ONLY = {"ST": "STREET", "DR": "DRIVE"}
_PADDED_ABBREVIATIONS = {
    f" {short} ": f" {full} " for short, full in {**ADDRESS_ABBREVIATIONS, "ST": "SAINT"}.items()
}

_FLAT_RE = r"\b(?:FLAT|UNIT|SUITE|ROOM|MAISONETTE)\s*([0-9]+[A-Z]?|[A-Z])\b"
_NUMBER_TOKEN_RE = r"\b[0-9]+[A-Z]?(?:-[0-9]+[A-Z]?)?\b"
_HOUSE_NUMBER_RE = r"(?:^|[\s,])([0-9]+[A-Z]?(?:-[0-9]+[A-Z]?)?)(?:$|[\s,])"


def normalise_address(expr: pl.Expr) -> pl.Expr:
    """Upper case, no accents, abbreviations expanded, commas kept as part separators.

    "12a High St., Leeds" -> "12A HIGH STREET, LEEDS"; "Flat 3, 5 St John's Rd" ->
    "FLAT 3, 5 SAINT JOHNS ROAD".
    """
    return per_distinct(expr, _normalise_address, pl.String())


def _normalise_address(expr: pl.Expr) -> pl.Expr:
    text = fold_text(expr).str.replace_all(r"['’`.]", "")
    text = text.str.replace_all(r"[^A-Z0-9,/\- ]+", " ")
    text = text.str.replace_all(r"\s*,[\s,]*", ", ")
    text = text.str.replace_all(r"([0-9]+)\s+([A-Z])(\s|,|$)", "${1}${2}${3}")  # "12 A" -> "12A"
    for abbreviation, at_end in _END_ONLY.items():
        text = text.str.replace_all(rf"\b{abbreviation}(\s*(?:,|$))", f"{at_end}$1")
    # One literal multi-pattern pass instead of a regex per abbreviation: every word gets its
    # own surrounding spaces so that adjacent words ("ST MARYS RD") can all match " WORD ".
    padded = " " + text.str.replace_all(",", " ,").str.replace_all(" ", "  ") + " "
    expanded = padded.str.replace_many(_PADDED_ABBREVIATIONS).str.replace_all(r"\s+,", ",")
    return collapse_spaces(expanded.str.strip_chars(", "))


def flat_number(expr: pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """Flat, unit or suite number: "Flat 3, 12 High St" -> "3"; null when there is none.

    Pass ``normalised=True`` when ``expr`` is already :func:`normalise_address` output (saves
    normalising the same column once per helper).
    """
    return _normalised(expr, normalised).str.extract(_FLAT_RE, 1)


def _normalised(expr: pl.Expr, normalised: bool) -> pl.Expr:
    return expr if normalised else normalise_address(expr)


def house_number(expr: pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """First house number after any flat/unit clause: "12A High Street" -> "12A".

    Ranges stay whole ("12-14 High St" -> "12-14"); "Flat 3, 12 High St" -> "12".
    """
    text = _normalised(expr, normalised).str.replace(_FLAT_RE, " ")
    return text.str.extract(_HOUSE_NUMBER_RE, 1)


def street_name(expr: pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """The street part: the first comma part with words once flat clause and numbers are gone.

    "Flat 3, 12A High St, Leeds" -> "HIGH STREET".
    """
    text = _normalised(expr, normalised).str.replace(_FLAT_RE, " ")
    # Drop numbers, then separators left at the start, so that "12A, HIGH STREET, LEEDS"
    # (columns joined with commas) gives "HIGH STREET" just as "12A HIGH STREET, LEEDS" does.
    text = text.str.replace_all(_NUMBER_TOKEN_RE, "").str.replace(r"^[\s,]+", "")
    return collapse_spaces(text.str.extract(r"^([^,]*)", 1))


def address_tokens(expr: pl.Expr) -> pl.Expr:
    """Words of the standardised address as a list, punctuation dropped (for token comparisons)."""
    text = normalise_address(expr).str.replace_all(r"[,/\-]", " ")
    return collapse_spaces(text).str.split(" ")
