"""The engine's DuckDB memory limit grows with the records it holds as tables, so that a
large batch's tables are not evicted to temporary files and read back by every query
(:func:`pipeline.stages.link_engine.engine_memory_limit`)."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.stages import link_engine
from pipeline.stages.link_engine import _bind, engine_memory_limit
from pipeline.stages.link_records import LinkRecords
from tests.pipeline.stages.test_link_records import SPEC, view  # noqa: F401 - fixture


def test_small_batches_keep_the_default_limit() -> None:
    assert engine_memory_limit(0, 0) == "2GB"
    assert engine_memory_limit(2_000_000, 5) == "2GB"  # the benchmark's 1M + 1M


def test_the_limit_leaves_room_for_the_tables() -> None:
    per_record, per_column = link_engine.TABLE_BYTES_PER_RECORD
    for records, columns in [(6_000_000, 5), (20_000_000, 5), (20_000_000, 9)]:
        limit = engine_memory_limit(records, columns)
        assert limit.endswith("MB")
        tables = records * (per_record + per_column * columns)
        room = int(limit.removesuffix("MB")) * 10**6 - tables
        assert link_engine.ENGINE_WORKING_MEMORY <= room < link_engine.ENGINE_WORKING_MEMORY + 10**6
    assert int(engine_memory_limit(20_000_000, 5)[:-2]) > int(engine_memory_limit(10**7, 5)[:-2])


def _duckdb_limit_bytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"MiB": 2**20, "GiB": 2**30, "KiB": 2**10}[unit]


def test_the_bound_linker_gets_it(
    view: pl.DataFrame,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = LinkRecords.from_view(view, SPEC)
    linker, _ = _bind(records, SPEC)
    try:
        assert linker.settings.memory_limit == "2GB"
    finally:
        linker.close()
    monkeypatch.setattr(link_engine, "TABLE_BYTES_PER_RECORD", (10**6, 10**6))
    expected = engine_memory_limit(records.height, len(records.columns))
    assert expected != "2GB"
    linker, _ = _bind(records, SPEC)
    try:
        assert linker.settings.memory_limit == expected
        (setting,) = linker.backend.rows("SELECT current_setting('memory_limit')")[0]
        wanted = int(expected.removesuffix("MB")) * 10**6
        assert abs(_duckdb_limit_bytes(setting) - wanted) <= 0.01 * wanted
    finally:
        linker.close()
