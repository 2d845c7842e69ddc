"""Generalisation: ladders of ever-coarser recodings, top/bottom coding and recode maps.

A :class:`Ladder` lists levels for one quasi-identifier, finest first; level 0 is the finest level
allowed to leave (its floor), so geography below the floor is never delivered. The last level
of every ladder built here suppresses the variable entirely (null).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from linkage.standardise import (
    postcode_area,
    postcode_district,
    postcode_region,
    postcode_sector,
)
from pipeline.disclosure.errors import TableSpecError

Recoder = Callable[[pl.Expr], pl.Expr]
GeographyLevel = Literal["sector", "district", "area", "region"]
GEOGRAPHY_LEVELS: tuple[GeographyLevel, ...] = ("sector", "district", "area", "region")
_GEOGRAPHY_RECODERS: dict[GeographyLevel, Recoder] = {
    "sector": postcode_sector,
    "district": postcode_district,
    "area": postcode_area,
    "region": postcode_region,
}
DEFAULT_AGE_BANDS: tuple[int, ...] = (0, 16, 25, 35, 45, 55, 65, 75, 85)


def _suppress(expr: pl.Expr) -> pl.Expr:
    # Null of the column's length (a bare literal would collapse the frame to one row).
    return pl.when(pl.lit(False)).then(expr.cast(pl.String)).otherwise(None)


@dataclass(frozen=True)
class Ladder:
    """Recodings of one column, finest first. ``levels`` pairs a label with a recoder."""

    column: str
    levels: tuple[tuple[str, Recoder], ...]

    def __post_init__(self) -> None:
        if not self.levels:
            raise TableSpecError(f"ladder for {self.column!r} has no levels")

    def apply(self, level: int) -> pl.Expr:
        """The column recoded at ``level`` (0 = floor), named after the column."""
        if not 0 <= level < len(self.levels):
            raise TableSpecError(f"ladder for {self.column!r} has no level {level}")
        return self.levels[level][1](pl.col(self.column)).alias(self.column)

    def label(self, level: int) -> str:
        return self.levels[level][0]


def postcode_ladder(column: str, *, floor: GeographyLevel = "region") -> Ladder:
    """Postcode -> sector -> district -> area -> region -> suppressed, starting at ``floor``."""
    start = GEOGRAPHY_LEVELS.index(floor)
    levels = [(name, _GEOGRAPHY_RECODERS[name]) for name in GEOGRAPHY_LEVELS[start:]]
    return Ladder(column, (*levels, ("suppressed", _suppress)))


def year_of_birth(expr: pl.Expr) -> pl.Expr:
    """Date of birth -> year of birth (Int32)."""
    return expr.dt.year()


def age_in_years(expr: pl.Expr, reference_date: dt.date) -> pl.Expr:
    """Completed years of age on ``reference_date`` (birthdays on 29 Feb count on 1 Mar)."""
    ref = pl.lit(reference_date)
    had_birthday = (expr.dt.month() < ref.dt.month()) | (
        (expr.dt.month() == ref.dt.month()) & (expr.dt.day() <= ref.dt.day())
    )
    return ref.dt.year() - expr.dt.year() - pl.when(had_birthday).then(0).otherwise(1)


def age_band(
    expr: pl.Expr, reference_date: dt.date, bands: Sequence[int] = DEFAULT_AGE_BANDS
) -> pl.Expr:
    """Date of birth -> age band label on ``reference_date``: ``"25-34"``, top band ``"85+"``.

    ``bands`` are the ascending lower bounds; ages below the first bound become null.
    """
    bounds = sorted(set(bands))
    if list(bands) != bounds:
        raise TableSpecError("age bands must be strictly ascending lower bounds")
    age = age_in_years(expr, reference_date)
    labels = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bounds)]
    labels.append(f"{bounds[-1]}+")
    chain: pl.Expr = pl.lit(None, dtype=pl.String)
    # Built from the lowest band up, so the outermost test is for the highest band.
    for lower, label in zip(bounds, labels, strict=True):
        chain = pl.when(age >= lower).then(pl.lit(label)).otherwise(chain)
    return chain


def dob_ladder(
    column: str,
    reference_date: dt.date,
    *,
    bands: Sequence[int] = DEFAULT_AGE_BANDS,
    broad_bands: Sequence[int] = (0, 16, 45, 65),
    start: Literal["year", "band"] = "year",
) -> Ladder:
    """Date of birth -> year of birth -> age band -> broad age band -> suppressed."""
    levels: list[tuple[str, Recoder]] = [
        ("year_of_birth", lambda e: year_of_birth(e).cast(pl.String)),
        ("age_band", lambda e: age_band(e, reference_date, bands)),
        ("broad_age_band", lambda e: age_band(e, reference_date, broad_bands)),
        ("suppressed", _suppress),
    ]
    return Ladder(column, tuple(levels[0 if start == "year" else 1 :]))


def recode_ladder(column: str, maps: Sequence[Mapping[object, object]]) -> Ladder:
    """Free-form recodes, applied cumulatively: level i applies maps[0..i-1] in turn.

    Values absent from a map are kept; level 0 is the raw column (cast to text).
    """

    def make(depth: int) -> Recoder:
        def recoder(expr: pl.Expr) -> pl.Expr:
            out = expr.cast(pl.String)
            for mapping in maps[:depth]:
                out = out.replace({str(k): str(v) for k, v in mapping.items()})
            return out

        return recoder

    levels = [(f"recode_{i}" if i else "raw", make(i)) for i in range(len(maps) + 1)]
    return Ladder(column, (*levels, ("suppressed", _suppress)))


def top_code(expr: pl.Expr, limit: float, *, label: str | None = None) -> pl.Expr:
    """Values strictly above ``limit`` become ``limit`` (or ``label``, giving a text column)."""
    if label is None:
        return pl.when(expr > limit).then(pl.lit(limit)).otherwise(expr)
    return pl.when(expr > limit).then(pl.lit(label)).otherwise(expr.cast(pl.String))


def bottom_code(expr: pl.Expr, limit: float, *, label: str | None = None) -> pl.Expr:
    """Values strictly below ``limit`` become ``limit`` (or ``label``, giving a text column)."""
    if label is None:
        return pl.when(expr < limit).then(pl.lit(limit)).otherwise(expr)
    return pl.when(expr < limit).then(pl.lit(label)).otherwise(expr.cast(pl.String))
