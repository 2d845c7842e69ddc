"""Comparison levels: small SQL predicates over a left (``l``) and right (``r``) record.

Each level is a frozen dataclass validated in ``__post_init__``; ``sql(dialect)`` returns a
boolean SQL expression. Levels serialise to plain dicts (``to_dict``/``level_from_dict``) so a
trained model can be saved with the exact comparisons it was trained on.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from linkage.errors import SettingsError
from linkage.sql import LEFT, RIGHT, Dialect, col, literal, quote

_REGISTRY: dict[str, type[Level]] = {}

DateUnit = Literal["day", "month", "year"]
PostcodePart = Literal["sector", "district", "area"]
_DAYS_PER_UNIT = {"day": 1.0, "month": 30.4375, "year": 365.25}


@dataclass(frozen=True)
class Level:
    """Base class: a named condition on a pair of records."""

    is_null_level: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def sql(self, dialect: Dialect) -> str:
        raise NotImplementedError

    @property
    def label(self) -> str:
        raise NotImplementedError

    def columns(self) -> tuple[str, ...]:
        """Input columns the level reads."""
        column = getattr(self, "column", None)
        return (column,) if isinstance(column, str) else ()

    @property
    def tf_column(self) -> str | None:
        """Column whose term frequencies adjust this level's weight, if any."""
        return None

    def derived_columns(self) -> dict[str, str]:
        """Per-record columns (name -> SQL over one unaliased row) the level's SQL reads.

        Work that depends on one record only (parsing a date, cutting a postcode) is done once
        per record when inputs are loaded, not once per candidate pair.
        """
        return {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Level):
                out[f.name] = value.to_dict()
            elif isinstance(value, tuple) and value and isinstance(value[0], Level):
                out[f.name] = [v.to_dict() for v in value]
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def level_from_dict(data: dict[str, Any]) -> Level:
    """Rebuild a level from :meth:`Level.to_dict` output."""
    kind = data.get("type")
    if kind not in _REGISTRY:
        raise SettingsError(f"unknown comparison level type {kind!r}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "type":
            continue
        if isinstance(value, dict) and "type" in value:
            kwargs[key] = level_from_dict(value)
        elif isinstance(value, list):
            kwargs[key] = tuple(level_from_dict(v) if isinstance(v, dict) else v for v in value)
        else:
            kwargs[key] = value
    return _REGISTRY[kind](**kwargs)


def _check_column(column: object) -> None:
    if not isinstance(column, str) or not column:
        raise SettingsError("a level's column must be a non-empty string")


def _text(alias: str, column: str) -> str:
    return f"CAST({col(alias, column)} AS VARCHAR)"


@dataclass(frozen=True)
class NullLevel(Level):
    """Either side is NULL: no evidence either way (weight 0)."""

    column: str
    is_null_level: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_column(self.column)

    def sql(self, dialect: Dialect) -> str:
        return f"({col(LEFT, self.column)} IS NULL OR {col(RIGHT, self.column)} IS NULL)"

    @property
    def label(self) -> str:
        return f"{self.column} is null"


@dataclass(frozen=True)
class ExactMatchLevel(Level):
    """Values are equal. ``term_frequency=True`` scales the weight by how rare the value is."""

    column: str
    term_frequency: bool = False

    def __post_init__(self) -> None:
        _check_column(self.column)

    def sql(self, dialect: Dialect) -> str:
        return f"{col(LEFT, self.column)} = {col(RIGHT, self.column)}"

    @property
    def label(self) -> str:
        return f"{self.column} exact"

    @property
    def tf_column(self) -> str | None:
        return self.column if self.term_frequency else None


def _check_fraction(name: str, value: object) -> None:
    if not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        raise SettingsError(f"{name} must be a number in (0, 1]")


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SettingsError(f"{name} must be an integer >= 1")


@dataclass(frozen=True)
class JaroWinklerLevel(Level):
    """Jaro-Winkler similarity >= ``threshold`` (DuckDB ``jaro_winkler_similarity``)."""

    column: str
    threshold: float

    def __post_init__(self) -> None:
        _check_column(self.column)
        _check_fraction("JaroWinklerLevel threshold", self.threshold)

    def metric(self, dialect: Dialect) -> str:
        """The similarity compared with the threshold; consecutive levels on one metric share
        a single evaluation (see :meth:`Comparison.gamma_sql`)."""
        fn = dialect.fn("jaro_winkler")
        return f"{fn}({_text(LEFT, self.column)}, {_text(RIGHT, self.column)})"

    def sql(self, dialect: Dialect) -> str:
        return f"{self.metric(dialect)} >= {self.threshold!r}"

    @property
    def label(self) -> str:
        return f"{self.column} jaro-winkler >= {self.threshold}"


@dataclass(frozen=True)
class JaccardLevel(Level):
    """Jaccard similarity of the character sets >= ``threshold`` (DuckDB ``jaccard``)."""

    column: str
    threshold: float

    def __post_init__(self) -> None:
        _check_column(self.column)
        _check_fraction("JaccardLevel threshold", self.threshold)

    def sql(self, dialect: Dialect) -> str:
        fn = dialect.fn("jaccard")
        a, b = _text(LEFT, self.column), _text(RIGHT, self.column)
        # DuckDB's jaccard raises on an empty string, which would abort the whole query
        return (
            f"CASE WHEN length({a}) > 0 AND length({b}) > 0 "
            f"THEN {fn}({a}, {b}) >= {self.threshold!r} ELSE FALSE END"
        )

    @property
    def label(self) -> str:
        return f"{self.column} jaccard >= {self.threshold}"


def _within_one_edit(a: str, b: str, dialect: Dialect, *, transpositions: bool) -> str:
    """Edit distance <= 1 without a full dynamic-programming distance for most pairs.

    Equal lengths: one edit is one substitution (Hamming distance 1) or, with
    ``transpositions``, one swap of neighbours (Hamming distance 2, confirmed by
    Damerau-Levenshtein). Lengths one apart: one insertion, checked by Levenshtein.
    """
    lev, hamming = dialect.fn("levenshtein"), dialect.fn("hamming")
    equal = f"{hamming}({a}, {b}) <= 1"
    if transpositions:
        dl = dialect.fn("damerau_levenshtein")
        equal = (
            f"CASE WHEN {hamming}({a}, {b}) <= 1 THEN TRUE "
            f"WHEN {hamming}({a}, {b}) = 2 THEN {dl}({a}, {b}) <= 1 ELSE FALSE END"
        )
    return (
        f"CASE WHEN length({a}) = length({b}) THEN {equal} "
        f"WHEN abs(length({a}) - length({b})) = 1 THEN {lev}({a}, {b}) <= 1 ELSE FALSE END"
    )


@dataclass(frozen=True)
class LevenshteinLevel(Level):
    """Levenshtein edit distance <= ``distance``."""

    column: str
    distance: int

    def __post_init__(self) -> None:
        _check_column(self.column)
        _check_count("LevenshteinLevel distance", self.distance)

    def sql(self, dialect: Dialect) -> str:
        fn = dialect.fn("levenshtein")
        a, b = _text(LEFT, self.column), _text(RIGHT, self.column)
        if self.distance == 1:
            return _within_one_edit(a, b, dialect, transpositions=False)
        return f"{fn}({a}, {b}) <= {self.distance}"

    @property
    def label(self) -> str:
        return f"{self.column} levenshtein <= {self.distance}"


@dataclass(frozen=True)
class DamerauLevenshteinLevel(Level):
    """Damerau-Levenshtein distance (transpositions count once) <= ``distance``."""

    column: str
    distance: int

    def __post_init__(self) -> None:
        _check_column(self.column)
        _check_count("DamerauLevenshteinLevel distance", self.distance)

    def sql(self, dialect: Dialect) -> str:
        # DuckDB's damerau_levenshtein is ~8x slower than levenshtein; since DL <= k implies
        # Levenshtein <= 2k, a CASE (which short-circuits, unlike AND) skips most pairs.
        a, b = _text(LEFT, self.column), _text(RIGHT, self.column)
        if self.distance == 1:
            return _within_one_edit(a, b, dialect, transpositions=True)
        pair = f"{a}, {b}"
        dl, lev = dialect.fn("damerau_levenshtein"), dialect.fn("levenshtein")
        k = self.distance
        return f"CASE WHEN {lev}({pair}) <= {2 * k} THEN {dl}({pair}) <= {k} ELSE FALSE END"

    @property
    def label(self) -> str:
        return f"{self.column} damerau-levenshtein <= {self.distance}"


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
        _check_column(self.column)
        if not isinstance(self.threshold, int | float) or self.threshold < 0:
            raise SettingsError("DateDistanceLevel threshold must be a number >= 0")
        if self.unit not in _DAYS_PER_UNIT:
            raise SettingsError("DateDistanceLevel unit must be 'day', 'month' or 'year'")

    @property
    def _date_column(self) -> str:
        suffix = re.sub(r"\W", "", self.date_format) if self.date_format else "cast"
        return f"__date_{self.column}_{suffix}"

    def derived_columns(self) -> dict[str, str]:
        if self.date_format is None:
            expr = f"TRY_CAST({quote(self.column)} AS DATE)"
        else:
            text = f"CAST({quote(self.column)} AS VARCHAR)"
            expr = f"CAST(TRY_STRPTIME({text}, {literal(self.date_format)}) AS DATE)"
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
        _check_column(self.column)
        if self.part not in ("sector", "district", "area"):
            raise SettingsError("PostcodePartialLevel part must be 'sector', 'district' or 'area'")

    @property
    def _part_column(self) -> str:
        return f"__{self.part}_{self.column}"

    def derived_columns(self) -> dict[str, str]:
        pc = f"upper(replace(CAST({quote(self.column)} AS VARCHAR), ' ', ''))"
        if self.part == "sector":
            part = f"left({pc}, length({pc}) - 2)"
        elif self.part == "district":
            part = f"left({pc}, length({pc}) - 3)"
        else:
            part = f"nullif(regexp_extract({pc}, '^[A-Z]{{1,2}}'), '')"
        return {self._part_column: f"CASE WHEN length({pc}) >= 5 THEN {part} END"}

    def sql(self, dialect: Dialect) -> str:
        return f"{col(LEFT, self._part_column)} = {col(RIGHT, self._part_column)}"

    @property
    def label(self) -> str:
        return f"{self.column} same {self.part}"


@dataclass(frozen=True)
class NumericAbsDiffLevel(Level):
    """Numbers differ by at most ``difference``."""

    column: str
    difference: float

    def __post_init__(self) -> None:
        _check_column(self.column)
        if not isinstance(self.difference, int | float) or self.difference < 0:
            raise SettingsError("NumericAbsDiffLevel difference must be a number >= 0")

    def sql(self, dialect: Dialect) -> str:
        return f"abs({col(LEFT, self.column)} - {col(RIGHT, self.column)}) <= {self.difference!r}"

    @property
    def label(self) -> str:
        return f"{self.column} within {self.difference}"


@dataclass(frozen=True)
class ColumnsReversedLevel(Level):
    """Two columns are swapped (e.g. given name and surname transposed)."""

    column: str
    other_column: str

    def __post_init__(self) -> None:
        _check_column(self.column)
        _check_column(self.other_column)

    def columns(self) -> tuple[str, ...]:
        return (self.column, self.other_column)

    def sql(self, dialect: Dialect) -> str:
        a, b = self.column, self.other_column
        return f"({col(LEFT, a)} = {col(RIGHT, b)} AND {col(LEFT, b)} = {col(RIGHT, a)})"

    @property
    def label(self) -> str:
        return f"{self.column} and {self.other_column} reversed"


@dataclass(frozen=True)
class ElseLevel(Level):
    """Every pair not caught by an earlier level."""

    def sql(self, dialect: Dialect) -> str:
        return "TRUE"

    @property
    def label(self) -> str:
        return "all other"

    def columns(self) -> tuple[str, ...]:
        return ()


def _check_levels(name: str, levels: tuple[Level, ...], minimum: int) -> None:
    if len(levels) < minimum or not all(isinstance(v, Level) for v in levels):
        raise SettingsError(f"{name} needs at least {minimum} level(s)")


@dataclass(frozen=True)
class And(Level):
    """All of ``levels`` hold."""

    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        _check_levels("And", self.levels, 2)

    def sql(self, dialect: Dialect) -> str:
        return "(" + " AND ".join(f"({v.sql(dialect)})" for v in self.levels) + ")"

    @property
    def label(self) -> str:
        return " and ".join(v.label for v in self.levels)

    def derived_columns(self) -> dict[str, str]:
        return {k: v for level in self.levels for k, v in level.derived_columns().items()}

    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for v in self.levels for c in v.columns()))


@dataclass(frozen=True)
class Or(Level):
    """Any of ``levels`` holds."""

    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        _check_levels("Or", self.levels, 2)

    def sql(self, dialect: Dialect) -> str:
        # NULL-safe: a NULL operand must not turn a true alternative into NULL
        return "(" + " OR ".join(f"coalesce(({v.sql(dialect)}), FALSE)" for v in self.levels) + ")"

    @property
    def label(self) -> str:
        return " or ".join(v.label for v in self.levels)

    def derived_columns(self) -> dict[str, str]:
        return {k: v for level in self.levels for k, v in level.derived_columns().items()}

    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for v in self.levels for c in v.columns()))


@dataclass(frozen=True)
class Not(Level):
    """``level`` does not hold (NULL counts as not holding, so ``Not`` of it is true)."""

    level: Level

    def __post_init__(self) -> None:
        if not isinstance(self.level, Level):
            raise SettingsError("Not needs a level")

    def sql(self, dialect: Dialect) -> str:
        return f"NOT coalesce(({self.level.sql(dialect)}), FALSE)"

    @property
    def label(self) -> str:
        return f"not ({self.level.label})"

    def derived_columns(self) -> dict[str, str]:
        return self.level.derived_columns()

    def columns(self) -> tuple[str, ...]:
        return self.level.columns()
