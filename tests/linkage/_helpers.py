"""Shared test helpers: evaluate level or comparison SQL on literal value pairs in DuckDB;
small models of exact comparisons; the three scorers held to one expected weight."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

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


def assert_scorers_agree(
    comparisons: Sequence[Comparison],
    params: ModelParameters,
    patterns: npt.NDArray[np.int64],
    expected: npt.NDArray[np.float64],
) -> None:
    """The match weight of each gamma pattern row (columns: ``comparisons``) is ``expected``
    in numpy (training, lambda), in SQL (predict) and in the waterfall (explain)."""
    from linkage.explain import waterfall
    from linkage.predict import match_weight_sql

    names = [c.name for c in comparisons]
    numpy_total = params.log2_bayes_factors(names, patterns) + params.prior_weight()
    assert numpy_total == pytest.approx(expected)
    frame = pl.DataFrame(
        {c.gamma_column: patterns[:, j] for j, c in enumerate(comparisons)}
    ).with_columns(id_l=pl.int_range(pl.len()), id_r=pl.int_range(pl.len()))
    con = duckdb.connect()
    con.register("pairs", frame.to_arrow())
    sql = f"SELECT {match_weight_sql(comparisons, params)} FROM pairs ORDER BY id_l"
    assert [r[0] for r in con.execute(sql).fetchall()] == pytest.approx(expected)
    steps = waterfall(frame, comparisons, params)
    last = steps.group_by("id_l").agg(pl.col("cumulative_weight").last()).sort("id_l")
    assert last["cumulative_weight"].to_list() == pytest.approx(expected)
