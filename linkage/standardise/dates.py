"""Tolerant date parsing: several layouts tried in order, anything unparseable becomes null."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from linkage.standardise._text import per_distinct

#: Layouts tried in order. Day-first (UK) layouts come before month-first ones, and four-digit
#: years before two-digit years, so "01/02/2000" is 1 February and "01-02-2000" never reads "20".
DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %m %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S%.f",  # datetimes exported from databases: the time is dropped
    "%Y-%m-%dT%H:%M:%S%.f",
    "%d/%m/%y",
    "%d-%m-%y",
    "%d.%m.%y",
    "%d-%b-%y",  # Oracle's default DD-MON-YY
)


def parse_date(
    expr: pl.Expr,
    formats: Sequence[str] = DEFAULT_DATE_FORMATS,
    *,
    latest: dt.date | None = None,
) -> pl.Expr:
    """Parse strings to ``pl.Date`` trying each layout in turn; invalid dates become null.

    Two-digit years follow chrono's rule (00-68 -> 20xx, 69-99 -> 19xx). Pass ``latest`` (for a
    date of birth, today) to move two-digit-year dates that would fall after it back a century.
    Impossible dates such as 30/02/2000 are null rather than rolled over.
    """
    return per_distinct(expr, lambda e: _parse(e, formats, latest), pl.Date())


def _parse(expr: pl.Expr, formats: Sequence[str], latest: dt.date | None) -> pl.Expr:
    # Only a cheap strip here: this expression is repeated inside every layout attempt.
    text = expr.str.strip_chars()
    # Month names in any case: chrono's %b/%B match "Feb"/"FEB"/"february" alike.
    attempts = []
    for fmt in formats:
        if "%H" in fmt:
            parsed = text.str.strptime(pl.Datetime, fmt, strict=False).dt.date()
        else:
            parsed = text.str.strptime(pl.Date, fmt, strict=False)
        if "%Y" in fmt:
            # chrono's %Y takes any digit count: "31-12-99" must fall through to the %y layouts.
            parsed = pl.when(parsed.dt.year() >= 1000).then(parsed).otherwise(None)
        if latest is not None and "%y" in fmt:
            parsed = (
                pl.when(parsed > pl.lit(latest))
                .then(parsed.dt.offset_by("-100y"))
                .otherwise(parsed)
            )
        attempts.append(parsed)
    return pl.coalesce(attempts)


def as_date(
    frame: pl.DataFrame | pl.LazyFrame, column: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS
) -> pl.Expr:
    """``column`` of ``frame`` as ``pl.Date``: date and datetime columns as they are (the time
    dropped), text parsed with :func:`parse_date`."""
    dtype = frame.collect_schema()[column]
    if dtype == pl.Date:
        return pl.col(column)
    if dtype == pl.Datetime:
        return pl.col(column).dt.date()
    return parse_date(pl.col(column).cast(pl.String), formats)
