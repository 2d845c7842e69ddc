"""The :class:`Level` base class, its registry (for saved models) and shared argument checks."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from linkage.errors import SettingsError
from linkage.sql import Dialect, col

_REGISTRY: dict[str, type[Level]] = {}


@dataclass(frozen=True)
class Level(ABC):
    """A named condition on a pair of records (``l`` and ``r``)."""

    is_null_level: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    @abstractmethod
    def sql(self, dialect: Dialect) -> str:
        """A boolean SQL expression over ``l`` and ``r``."""

    @property
    @abstractmethod
    def label(self) -> str:
        """A short description for reports (names columns, never values)."""

    def columns(self) -> tuple[str, ...]:
        """Input columns the level reads."""
        column = getattr(self, "column", None)
        return (column,) if isinstance(column, str) else ()

    @property
    def tf_column(self) -> str | None:
        """Column whose term frequencies adjust this level's weight, if any."""
        return None

    def derived_columns(self, dialect: Dialect) -> dict[str, str]:
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
    if not isinstance(kind, str) or kind not in _REGISTRY:
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


def check_column(column: object) -> None:
    if not isinstance(column, str) or not column:
        raise SettingsError("a level's column must be a non-empty string")


def check_fraction(name: str, value: object) -> None:
    if not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        raise SettingsError(f"{name} must be a number in (0, 1]")


def check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SettingsError(f"{name} must be an integer >= 1")


def text(alias: str, column: str) -> str:
    """A column of one side as text."""
    return f"CAST({col(alias, column)} AS VARCHAR)"
