"""The DuckDB dialect's spellings of the constructs that have no portable SQL."""

from __future__ import annotations

import duckdb

from linkage.sql import DUCKDB


def _value(expr: str) -> object:
    return duckdb.connect().execute(f"SELECT {expr}").fetchall()[0][0]


def test_evaluate_once_binds_the_value_in_the_body() -> None:
    expr = DUCKDB.evaluate_once("length('abcd')", lambda v: f"CASE WHEN {v} >= 4 THEN {v} END")
    assert _value(expr) == 4
    assert _value(DUCKDB.evaluate_once("NULL", lambda v: f"coalesce({v}, -1)")) == -1


def test_list_constructs() -> None:
    idf = "[0.5, 3.0, 7.0]"
    rare = DUCKDB.filter_positions(
        "['LTD', 'ZYTRONIX', 'QUUX']", lambda i: f"{DUCKDB.element(idf, i)} >= 2.0"
    )
    assert _value(rare) == ["ZYTRONIX", "QUUX"]
    assert _value(f"{DUCKDB.fn('list_length')}({rare})") == 2
    assert _value(DUCKDB.element("['A', 'B']", "2")) == "B"


def test_tolerant_casts_give_null_not_errors() -> None:
    assert str(_value(DUCKDB.try_cast("'2000-02-01'", "DATE"))) == "2000-02-01"
    assert _value(DUCKDB.try_cast("'not a date'", "DATE")) is None
    assert str(_value(DUCKDB.try_parse_date("'01/02/2000'", "%d/%m/%Y"))) == "2000-02-01"
    assert _value(DUCKDB.try_parse_date("'31/02/2000'", "%d/%m/%Y")) is None


def test_string_metrics_follow_the_reference_conventions() -> None:
    """Identical strings, the empty string included, have similarity 1 and distance 0
    (rapidfuzz); DuckDB's own hamming('', '') raises and jaro_winkler('', '') is 0."""
    for name, same in (("jaro_winkler", 1.0), ("jaro", 1.0), ("hamming", 0)):
        assert _value(DUCKDB.string_metric(name, "''", "''")) == same
        assert _value(DUCKDB.string_metric(name, "'AB'", "'AB'")) == same
    assert _value(DUCKDB.string_metric("jaro_winkler", "''", "'A'")) == 0.0
    assert _value(DUCKDB.string_metric("hamming", "'AB'", "'AC'")) == 1
    assert _value(DUCKDB.string_metric("levenshtein", "''", "'AB'")) == 2
    assert _value(DUCKDB.string_metric("jaro_winkler", "NULL", "'A'")) is None
