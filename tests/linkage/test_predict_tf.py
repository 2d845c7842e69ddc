"""Term-frequency adjusted weights as the scoring SQL computes them (linkage.predict)."""

from __future__ import annotations

import math

import duckdb
import pytest

from linkage import comparisons as cl
from linkage.model import ModelParameters
from linkage.predict import weight_sql
from linkage.tf import tf_pair_column

Model = tuple[cl.Comparison, ModelParameters]


@pytest.fixture
def model() -> Model:
    comparison = cl.ExactComparison("surname", term_frequency=True)
    params = ModelParameters.initial([comparison], prior=0.001)
    p = params.comparisons["surname"]
    p.m[:] = [0.0, 0.9, 0.1]  # null level's m is unused (gamma -1 scores 0)
    p.u[:] = [0.0, 0.01, 0.99]
    return comparison, params


def _score(sql: str, gamma: int, tf: float | None, comparison: cl.Comparison) -> float:
    table = f"SELECT {gamma} AS {comparison.gamma_column}, {tf!r}::DOUBLE AS tf"
    query = f"SELECT {sql.replace(tf_pair_column(comparison.name), 'tf')} FROM ({table})"
    if tf is None:
        query = query.replace("None::DOUBLE", "NULL::DOUBLE")
    row = duckdb.sql(query).fetchall()[0]
    return float(row[0])


def test_an_exact_match_is_weighted_by_how_common_its_value_is(model: Model) -> None:
    comparison, params = model
    sql = weight_sql(comparison, params)
    tf_gamma = comparison.tf_gamma
    assert tf_gamma is not None
    # a value held by 1 in 1,000 records: log2(m) - log2(tf)
    assert _score(sql, tf_gamma, 0.001, comparison) == pytest.approx(
        math.log2(0.9) - math.log2(0.001)
    )


def test_a_value_missing_from_the_tf_table_falls_back_to_the_plain_weight(model: Model) -> None:
    comparison, params = model
    sql = weight_sql(comparison, params)
    tf_gamma = comparison.tf_gamma
    assert tf_gamma is not None
    plain = params.weights("surname")[tf_gamma]
    # DuckDB's greatest(NULL, 1e-12) is 1e-12: without an explicit NULL test this scored
    # log2(0.9) + 39.9 bits
    assert _score(sql, tf_gamma, None, comparison) == pytest.approx(plain)
    assert plain == pytest.approx(math.log2(0.9 / 0.01))


def test_other_levels_ignore_term_frequencies(model: Model) -> None:
    comparison, params = model
    sql = weight_sql(comparison, params)
    assert _score(sql, 2, 0.5, comparison) == pytest.approx(math.log2(0.1 / 0.99))
