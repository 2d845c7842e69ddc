"""Shared test helpers: evaluate level or comparison SQL on literal value pairs in DuckDB;
small models of exact comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from linkage.comparisons import Comparison, ExactComparison
from linkage.levels import Level
from linkage.model import ModelParameters
from linkage.sql import DUCKDB


def _pairs_table(
    con: duckdb.DuckDBPyConnection,
    left: Sequence[Any],
    right: Sequence[Any],
    column: str,
    dtype: pl.DataType | None,
    derived: dict[str, str],
) -> None:
    frame = pl.DataFrame(
        {"i": list(range(len(left))), "a": list(left), "b": list(right)},
        schema_overrides={"a": dtype, "b": dtype} if dtype is not None else None,
    )
    con.register("cases", frame)
    extra = "".join(f', {sql} AS "{name}"' for name, sql in derived.items())
    for view, source in (("lv", "a"), ("rv", "b")):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *{extra} FROM "
            f'(SELECT i, {source} AS "{column}" FROM cases)'
        )


def _evaluate(
    expression: str,
    derived: dict[str, str],
    pairs: Sequence[tuple[Any, Any]],
    column: str,
    dtype: pl.DataType | None,
) -> list[Any]:
    """``expression`` (SQL over ``l`` and ``r``) on each (left, right) value pair, in order."""
    con = duckdb.connect()
    _pairs_table(con, [p[0] for p in pairs], [p[1] for p in pairs], column, dtype, derived)
    rows = con.execute(
        f"SELECT l.i, {expression} FROM lv l JOIN rv r USING (i) ORDER BY l.i"
    ).fetchall()
    return [r[1] for r in rows]


def level_results(
    level: Level,
    pairs: Sequence[tuple[Any, Any]],
    *,
    column: str = "x",
    dtype: pl.DataType | None = None,
) -> list[bool | None]:
    """The level's SQL condition evaluated on each (left, right) value pair."""
    expression = f"({level.sql(DUCKDB)})"
    return _evaluate(expression, level.derived_columns(DUCKDB), pairs, column, dtype)


def gamma_results(
    comparison: Comparison,
    pairs: Sequence[tuple[Any, Any]],
    *,
    column: str = "x",
    dtype: pl.DataType | None = None,
) -> list[int]:
    """Gamma codes of ``comparison`` on each (left, right) value pair."""
    expression = comparison.gamma_sql(DUCKDB)
    return _evaluate(expression, comparison.derived_columns(DUCKDB), pairs, column, dtype)


def exact_model(
    names: Sequence[str], m_exact: float, u_exact: float, prior: float
) -> tuple[list[ExactComparison], ModelParameters]:
    """Exact comparisons ``names`` (gammas -1, 0, 1) and a model giving each the same m and
    u for an exact match (``m_exact``, ``u_exact``), lambda ``prior``, no dependencies."""
    comparisons = [ExactComparison(n) for n in names]
    levels = [
        {"gamma": 0, "label": "else", "m": 1.0 - m_exact, "u": 1.0 - u_exact},
        {"gamma": 1, "label": "exact", "m": m_exact, "u": u_exact},
    ]
    params = ModelParameters.from_dict(
        {
            "probability_two_random_records_match": prior,
            "comparisons": [{"name": c.name, "levels": levels} for c in comparisons],
        }
    )
    return comparisons, params
