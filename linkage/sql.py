"""SQL building blocks: identifier quoting, literals and the dialect's function names.

Nothing here runs SQL; :mod:`linkage.backend` does. Comparison levels and blocking rules ask a
:class:`Dialect` for function names so that a missing function fails with an error naming the
backend, not with an obscure SQL error at run time.
"""

from __future__ import annotations

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
class Dialect:
    """Maps portable function names to one backend's SQL functions."""

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


DUCKDB = Dialect(
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
    },
)
