"""Levels that need no similarity function: null, exact, swapped columns, numbers, else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkage.errors import SettingsError
from linkage.levels.base import Level, check_column
from linkage.sql import LEFT, RIGHT, Dialect, col


@dataclass(frozen=True)
class NullLevel(Level):
    """Either side is NULL: no evidence either way (weight 0)."""

    column: str
    is_null_level: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_column(self.column)

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
        check_column(self.column)

    def sql(self, dialect: Dialect) -> str:
        return f"{col(LEFT, self.column)} = {col(RIGHT, self.column)}"

    @property
    def label(self) -> str:
        return f"{self.column} exact"

    @property
    def tf_column(self) -> str | None:
        return self.column if self.term_frequency else None


@dataclass(frozen=True)
class NumericAbsDiffLevel(Level):
    """Numbers differ by at most ``difference``."""

    column: str
    difference: float

    def __post_init__(self) -> None:
        check_column(self.column)
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
        check_column(self.column)
        check_column(self.other_column)

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
