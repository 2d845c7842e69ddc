"""``And``, ``Or`` and ``Not`` over other levels. ``Or`` and ``Not`` are NULL-safe: a NULL
operand counts as not holding, so it cannot turn a true alternative into NULL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkage.errors import SettingsError
from linkage.levels.base import Level
from linkage.sql import Dialect


@dataclass(frozen=True)
class _Merge(Level):
    """Shared plumbing of :class:`And` and :class:`Or`: two or more levels joined by a word."""

    levels: tuple[Level, ...]
    word: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if len(self.levels) < 2 or not all(isinstance(v, Level) for v in self.levels):
            raise SettingsError(f"{type(self).__name__} needs at least 2 level(s)")

    def _operand(self, level: Level, dialect: Dialect) -> str:
        return f"({level.sql(dialect)})"

    def sql(self, dialect: Dialect) -> str:
        joiner = f" {self.word.upper()} "
        return "(" + joiner.join(self._operand(v, dialect) for v in self.levels) + ")"

    @property
    def label(self) -> str:
        return f" {self.word} ".join(v.label for v in self.levels)

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
        return {k: v for level in self.levels for k, v in level.derived_columns(dialect).items()}

    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for v in self.levels for c in v.columns()))


@dataclass(frozen=True)
class And(_Merge):
    """All of ``levels`` hold."""

    word: ClassVar[str] = "and"


@dataclass(frozen=True)
class Or(_Merge):
    """Any of ``levels`` holds."""

    word: ClassVar[str] = "or"

    def _operand(self, level: Level, dialect: Dialect) -> str:
        return f"coalesce(({level.sql(dialect)}), FALSE)"


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

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
        return self.level.derived_columns(dialect)

    def columns(self) -> tuple[str, ...]:
        return self.level.columns()
