"""Comparisons: an ordered list of levels turned into one SQL ``CASE`` giving a gamma code.

Gamma codes follow Splink: ``-1`` for the null level, then the remaining levels are numbered from
``k-1`` (first, most similar) down to ``0`` (the final :class:`ElseLevel`). Named comparisons
below are ready-made level lists; their docstrings list the levels in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from linkage.errors import SettingsError
from linkage.levels import (
    And,
    ColumnsReversedLevel,
    DamerauLevenshteinLevel,
    DateDistanceLevel,
    ElseLevel,
    ExactMatchLevel,
    JaccardLevel,
    JaroWinklerLevel,
    Level,
    LevenshteinLevel,
    Not,
    NullLevel,
    NumericAbsDiffLevel,
    Or,
    PostcodePartialLevel,
    level_from_dict,
)
from linkage.sql import Dialect

__all__ = [
    "And",
    "ColumnsReversedLevel",
    "Comparison",
    "DamerauLevenshteinAtThresholds",
    "DamerauLevenshteinLevel",
    "DateDistanceLevel",
    "DateOfBirthComparison",
    "ElseLevel",
    "ExactComparison",
    "ExactMatchLevel",
    "JaccardLevel",
    "JaroWinklerAtThresholds",
    "JaroWinklerLevel",
    "Level",
    "LevelInfo",
    "LevenshteinAtThresholds",
    "LevenshteinLevel",
    "NameComparison",
    "Not",
    "NullLevel",
    "NumericAbsDiffLevel",
    "Or",
    "PostcodeComparison",
    "PostcodePartialLevel",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LevelInfo:
    """One level of a comparison as the model sees it."""

    gamma: int
    label: str
    is_null: bool
    tf_column: str | None


class Comparison:
    """A named, ordered list of levels. Null level (optional) first, :class:`ElseLevel` last."""

    def __init__(self, name: str, levels: Sequence[Level], *, description: str = "") -> None:
        problems: list[str] = []
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append("comparison name must be a SQL-safe identifier (letters, digits, _)")
        levels = tuple(levels)
        if not all(isinstance(v, Level) for v in levels):
            problems.append(f"comparison {name!r}: every level must be a Level")
        else:
            if any(v.is_null_level for v in levels[1:]):
                problems.append(f"comparison {name!r}: only the first level may be a NullLevel")
            non_null = [v for v in levels if not v.is_null_level]
            if len(non_null) < 2:
                problems.append(f"comparison {name!r} needs at least two non-null levels")
            if not levels or not isinstance(levels[-1], ElseLevel):
                problems.append(f"comparison {name!r}: the last level must be an ElseLevel")
            if sum(v.tf_column is not None for v in levels) > 1:
                problems.append(f"comparison {name!r}: at most one level may use term frequencies")
        if problems:
            raise SettingsError(problems)
        self.name = name
        self.levels = levels
        self.description = description

    @property
    def gamma_column(self) -> str:
        return f"gamma_{self.name}"

    @property
    def tf_column(self) -> str | None:
        """Input column whose term frequencies adjust the exact level, if any."""
        return next((v.tf_column for v in self.levels if v.tf_column), None)

    def columns(self) -> tuple[str, ...]:
        """Every input column the comparison reads."""
        return tuple(dict.fromkeys(c for v in self.levels for c in v.columns()))

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
        """Per-record columns the levels need (see :meth:`Level.derived_columns`)."""
        return {k: v for level in self.levels for k, v in level.derived_columns(dialect).items()}

    def level_info(self) -> list[LevelInfo]:
        """Levels in order with their gamma codes."""
        non_null = sum(not v.is_null_level for v in self.levels)
        out, gamma = [], non_null - 1
        for level in self.levels:
            if level.is_null_level:
                out.append(LevelInfo(-1, level.label, True, None))
            else:
                out.append(LevelInfo(gamma, level.label, False, level.tf_column))
                gamma -= 1
        return out

    @property
    def tf_gamma(self) -> int | None:
        """Gamma code of the term-frequency-adjusted level, if any."""
        return next((i.gamma for i in self.level_info() if i.tf_column), None)

    def gamma_sql(self, dialect: Dialect) -> str:
        """A ``CASE`` expression returning the gamma code as a TINYINT.

        DuckDB evaluates a function again in every ``WHEN`` that mentions it, so a run of
        Jaro-Winkler levels on one column is evaluated once (:meth:`Dialect.evaluate_once`)
        and its thresholds compared with that one value.
        """
        levels = list(zip(self.levels, self.level_info(), strict=True))
        return f"CAST({self._case(levels, dialect)} AS TINYINT)"

    def _case(self, levels: list[tuple[Level, LevelInfo]], dialect: Dialect) -> str:
        whens: list[str] = []
        for i, (level, info) in enumerate(levels):
            if isinstance(level, ElseLevel):
                if not whens:
                    return str(info.gamma)
                whens.append(f"ELSE {info.gamma}")
                break
            run = _metric_run(levels, i, dialect)
            if len(run) >= 2:
                metric = run[0][0].metric(dialect)
                rest = self._case(levels[i + len(run) :], dialect)
                once = dialect.evaluate_once(metric, partial(_thresholds_case, run=run))
                shared = f"coalesce({once}, {rest})"
                if not whens:
                    return shared
                whens.append(f"ELSE {shared}")
                break
            whens.append(f"WHEN {level.sql(dialect)} THEN {info.gamma}")
        return f"CASE {' '.join(whens)} END"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "levels": [v.to_dict() for v in self.levels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        levels = [level_from_dict(v) for v in data.get("levels", [])]
        return cls(data.get("name", ""), levels, description=data.get("description", ""))

    def __repr__(self) -> str:
        return f"Comparison({self.name!r}, {len(self.levels)} levels)"


def _metric_run(
    levels: list[tuple[Level, LevelInfo]], start: int, dialect: Dialect
) -> list[tuple[JaroWinklerLevel, LevelInfo]]:
    """Consecutive Jaro-Winkler levels from ``start`` on the same column."""
    first = levels[start][0]
    if not isinstance(first, JaroWinklerLevel):
        return []
    run: list[tuple[JaroWinklerLevel, LevelInfo]] = []
    for level, info in levels[start:]:
        if not (isinstance(level, JaroWinklerLevel) and level.column == first.column):
            break
        run.append((level, info))
    return run


def _thresholds_case(value: str, run: list[tuple[JaroWinklerLevel, LevelInfo]]) -> str:
    """The gamma of the first level in ``run`` whose threshold ``value`` reaches, else NULL."""
    whens = " ".join(f"WHEN {value} >= {lv.threshold!r} THEN {info.gamma}" for lv, info in run)
    return f"CASE {whens} END"


def _thresholds(name: str, values: Sequence[float], *, descending: bool) -> tuple[Any, ...]:
    values = tuple(values)
    if not values:
        raise SettingsError(f"{name} needs at least one threshold")
    ordered = tuple(sorted(values, reverse=descending))
    if ordered != values or len(set(values)) != len(values):
        order = "decreasing" if descending else "increasing"
        raise SettingsError(f"{name} thresholds must be strictly {order}")
    return values


class ExactComparison(Comparison):
    """Levels: null, exact match (optionally term-frequency adjusted), all other."""

    def __init__(self, column: str, *, term_frequency: bool = False, name: str | None = None):
        super().__init__(
            name or column,
            [NullLevel(column), ExactMatchLevel(column, term_frequency), ElseLevel()],
        )


class JaroWinklerAtThresholds(Comparison):
    """Levels: null, exact, Jaro-Winkler >= each threshold (decreasing), all other."""

    def __init__(
        self,
        column: str,
        thresholds: Sequence[float] = (0.9, 0.7),
        *,
        term_frequency: bool = False,
        name: str | None = None,
    ) -> None:
        ts = _thresholds("JaroWinklerAtThresholds", thresholds, descending=True)
        levels: list[Level] = [NullLevel(column), ExactMatchLevel(column, term_frequency)]
        levels += [JaroWinklerLevel(column, t) for t in ts]
        super().__init__(name or column, [*levels, ElseLevel()])


class LevenshteinAtThresholds(Comparison):
    """Levels: null, exact, Levenshtein <= each distance (increasing), all other."""

    def __init__(
        self, column: str, distances: Sequence[int] = (1, 2), *, name: str | None = None
    ) -> None:
        ds = _thresholds("LevenshteinAtThresholds", distances, descending=False)
        levels: list[Level] = [NullLevel(column), ExactMatchLevel(column)]
        levels += [LevenshteinLevel(column, d) for d in ds]
        super().__init__(name or column, [*levels, ElseLevel()])


class DamerauLevenshteinAtThresholds(Comparison):
    """Levels: null, exact, Damerau-Levenshtein <= each distance (increasing), all other."""

    def __init__(
        self, column: str, distances: Sequence[int] = (1, 2), *, name: str | None = None
    ) -> None:
        ds = _thresholds("DamerauLevenshteinAtThresholds", distances, descending=False)
        levels: list[Level] = [NullLevel(column), ExactMatchLevel(column)]
        levels += [DamerauLevenshteinLevel(column, d) for d in ds]
        super().__init__(name or column, [*levels, ElseLevel()])


class NameComparison(Comparison):
    """Levels: null, exact (term-frequency adjusted if asked), Jaro-Winkler >= 0.92, >= 0.88,
    >= 0.70 (thresholds configurable), all other. With ``reversed_with`` a level for the two
    name columns swapped is inserted after the exact level."""

    def __init__(
        self,
        column: str,
        *,
        thresholds: Sequence[float] = (0.92, 0.88, 0.7),
        term_frequency: bool = False,
        reversed_with: str | None = None,
        name: str | None = None,
    ) -> None:
        ts = _thresholds("NameComparison", thresholds, descending=True)
        levels: list[Level] = [NullLevel(column), ExactMatchLevel(column, term_frequency)]
        if reversed_with is not None:
            levels.append(ColumnsReversedLevel(column, reversed_with))
        levels += [JaroWinklerLevel(column, t) for t in ts]
        super().__init__(name or column, [*levels, ElseLevel()])


class DateOfBirthComparison(Comparison):
    """Levels: null, exact, Damerau-Levenshtein <= 1 on the text form (typos, transposed
    digits), within 1 month, within 1 year, within 10 years, all other.

    ``date_format`` (e.g. ``"%Y%m%d"``) parses text columns for the distance levels.
    """

    def __init__(
        self, column: str, *, date_format: str | None = None, name: str | None = None
    ) -> None:
        levels: list[Level] = [
            NullLevel(column),
            ExactMatchLevel(column),
            DamerauLevenshteinLevel(column, 1),
            DateDistanceLevel(column, 1, "month", date_format),
            DateDistanceLevel(column, 1, "year", date_format),
            DateDistanceLevel(column, 10, "year", date_format),
            ElseLevel(),
        ]
        super().__init__(name or column, levels)


class PostcodeComparison(Comparison):
    """Levels: null, exact, same sector, same district, same area, all other (UK postcodes)."""

    def __init__(
        self, column: str, *, term_frequency: bool = False, name: str | None = None
    ) -> None:
        levels: list[Level] = [
            NullLevel(column),
            ExactMatchLevel(column, term_frequency),
            PostcodePartialLevel(column, "sector"),
            PostcodePartialLevel(column, "district"),
            PostcodePartialLevel(column, "area"),
            ElseLevel(),
        ]
        super().__init__(name or column, levels)
