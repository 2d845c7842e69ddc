"""Levels that compare a per-record derived column: dates apart, postcode parts in common.

Parsing a date or cutting a postcode depends on one record only, so it is done once per record
when the inputs are loaded (:meth:`Level.derived_columns`), not once per candidate pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from linkage.errors import SettingsError
from linkage.levels.base import Level, check_column
from linkage.sql import LEFT, RIGHT, Dialect, col, quote

DateUnit = Literal["day", "month", "year"]
PostcodePart = Literal["sector", "district", "area"]
_DAYS_PER_UNIT = {"day": 1.0, "month": 30.4375, "year": 365.25}


@dataclass(frozen=True)
class DateDistanceLevel(Level):
    """Dates at most ``threshold`` units apart (month = 30.4375 days, year = 365.25 days).

    ``date_format`` (strptime syntax, e.g. ``"%Y%m%d"``) parses text columns; unparseable
    values fail the level rather than the query.
    """

    column: str
    threshold: float
    unit: DateUnit = "day"
    date_format: str | None = None

    def __post_init__(self) -> None:
        check_column(self.column)
        if not isinstance(self.threshold, int | float) or self.threshold < 0:
            raise SettingsError("DateDistanceLevel threshold must be a number >= 0")
        if self.unit not in _DAYS_PER_UNIT:
            raise SettingsError("DateDistanceLevel unit must be 'day', 'month' or 'year'")

    @property
    def _date_column(self) -> str:
        suffix = re.sub(r"\W", "", self.date_format) if self.date_format else "cast"
        return f"__date_{self.column}_{suffix}"

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
        if self.date_format is None:
            expr = dialect.try_cast(quote(self.column), "DATE")
        else:
            value = f"CAST({quote(self.column)} AS VARCHAR)"
            expr = dialect.try_parse_date(value, self.date_format)
        return {self._date_column: expr}

    def sql(self, dialect: Dialect) -> str:
        days = self.threshold * _DAYS_PER_UNIT[self.unit]
        left, right = col(LEFT, self._date_column), col(RIGHT, self._date_column)
        return f"abs({dialect.fn('date_diff')}('day', {left}, {right})) <= {days!r}"

    @property
    def label(self) -> str:
        return f"{self.column} within {self.threshold} {self.unit}s"


@dataclass(frozen=True)
class PostcodePartialLevel(Level):
    """UK postcodes share a part: ``sector`` (SW1A 1), ``district`` (SW1A) or ``area`` (SW).

    Spaces and case are ignored. Codes shorter than five characters never match.
    """

    column: str
    part: PostcodePart

    def __post_init__(self) -> None:
        check_column(self.column)
        if self.part not in ("sector", "district", "area"):
            raise SettingsError("PostcodePartialLevel part must be 'sector', 'district' or 'area'")

    @property
    def _part_column(self) -> str:
        return f"__{self.part}_{self.column}"

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
        pc = f"upper(replace(CAST({quote(self.column)} AS VARCHAR), ' ', ''))"
        if self.part == "sector":
            part = f"left({pc}, length({pc}) - 2)"
        elif self.part == "district":
            part = f"left({pc}, length({pc}) - 3)"
        else:
            part = f"nullif({dialect.fn('regexp_extract')}({pc}, '^[A-Z]{{1,2}}'), '')"
        return {self._part_column: f"CASE WHEN length({pc}) >= 5 THEN {part} END"}

    def sql(self, dialect: Dialect) -> str:
        return f"{col(LEFT, self._part_column)} = {col(RIGHT, self._part_column)}"

    @property
    def label(self) -> str:
        return f"{self.column} same {self.part}"
