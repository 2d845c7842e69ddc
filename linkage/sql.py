"""SQL building blocks: identifier quoting, literals and the backend's dialect.

Nothing here runs SQL; :mod:`linkage.backend` does. Comparison levels and blocking rules ask a
:class:`Dialect` for function names and for every construct without a portable spelling (list
lambdas, tolerant casts, date parsing), so that backend syntax lives in one class and a missing
function fails with an error naming the backend, not with an obscure SQL error at run time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from linkage.errors import DialectError

LEFT = "l"
RIGHT = "r"


def quote(identifier: str) -> str:
    """Quote a column or table name for SQL (double quotes, embedded quotes doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def col(alias: str, column: str) -> str:
    """A qualified column reference such as ``l."surname"``."""
    return f"{alias}.{quote(column)}"


def literal(value: float | int | str | None) -> str:
    """A SQL literal for a setting value (thresholds, labels); never used for record values."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Dialect(ABC):
    """One backend's SQL: portable function names mapped to its own, and the constructs that
    have no portable spelling."""

    name: str
    functions: dict[str, str] = field(default_factory=dict)

    def fn(self, portable_name: str) -> str:
        """The backend's name for ``portable_name``; raises :class:`DialectError` if absent."""
        try:
            return self.functions[portable_name]
        except KeyError:
            raise DialectError(
                f"function {portable_name!r} is not available in the {self.name} backend"
            ) from None

    def string_metric(self, name: str, a: str, b: str) -> str:
        """``name`` (``jaro_winkler``, ``jaro``, ``levenshtein``, ``damerau_levenshtein``,
        ``hamming``) of text expressions ``a`` and ``b``, with the conventions of the
        reference implementations (rapidfuzz) wherever the backend's own function differs:
        identical strings, the empty string included, have similarity 1 and distance 0, and
        no pair of strings makes the query fail. NULL in, NULL out."""
        call = f"{self.fn(name)}({a}, {b})"
        if name in ("jaro_winkler", "jaro"):
            return f"(CASE WHEN {a} = {b} THEN 1.0 ELSE {call} END)"
        if name == "hamming":
            return f"(CASE WHEN {a} = {b} THEN 0 ELSE {call} END)"
        return call

    @abstractmethod
    def evaluate_once(self, value: str, body: Callable[[str], str]) -> str:
        """``body(v)`` where ``v`` stands for ``value``, computed once however often ``body``
        mentions it (a ``CASE`` would compute it again in every ``WHEN``)."""

    @abstractmethod
    def filter_positions(self, items: str, keep: Callable[[str], str]) -> str:
        """The elements of list ``items`` at the positions ``i`` (from 1) where ``keep(i)``
        holds."""

    @abstractmethod
    def element(self, items: str, position: str) -> str:
        """Element ``position`` (from 1) of list ``items``."""

    @abstractmethod
    def try_cast(self, expr: str, sql_type: str) -> str:
        """``expr`` cast to ``sql_type``, NULL where it does not convert."""

    @abstractmethod
    def try_parse_date(self, text: str, date_format: str) -> str:
        """``text`` parsed as a DATE with a strptime ``date_format``, NULL where it fails."""


@dataclass(frozen=True)
class DuckDBDialect(Dialect):
    """DuckDB: list lambdas (``lambda x: ...``), ``TRY_CAST`` and ``TRY_STRPTIME``."""

    def evaluate_once(self, value: str, body: Callable[[str], str]) -> str:
        return f"list_transform([{value}], lambda s: {body('s')})[1]"

    def filter_positions(self, items: str, keep: Callable[[str], str]) -> str:
        return f"list_filter({items}, lambda x, i: {keep('i')})"

    def element(self, items: str, position: str) -> str:
        return f"{items}[{position}]"

    def try_cast(self, expr: str, sql_type: str) -> str:
        return f"TRY_CAST({expr} AS {sql_type})"

    def try_parse_date(self, text: str, date_format: str) -> str:
        return f"CAST(TRY_STRPTIME({text}, {literal(date_format)}) AS DATE)"


DUCKDB = DuckDBDialect(
    "duckdb",
    {
        "jaro_winkler": "jaro_winkler_similarity",
        "jaro": "jaro_similarity",
        "levenshtein": "levenshtein",
        "hamming": "hamming",
        "damerau_levenshtein": "damerau_levenshtein",
        "jaccard": "jaccard",
        "date_diff": "date_diff",
        "regexp_extract": "regexp_extract",
        "list_contains": "list_contains",
        "list_length": "len",
        "list_sort": "list_sort",
        "list_sum": "list_sum",
        "string_length": "length",
    },
)
