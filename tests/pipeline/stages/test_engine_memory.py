"""The engine's DuckDB memory limit grows with the records it holds as tables, so that a
large batch's tables are not evicted to temporary files and read back by every query
(:func:`pipeline.stages.link_engine.engine_memory_limit`)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from pipeline import machine_memory
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
        limit = engine_memory_limit(records, columns, machine=10**13)
        assert limit.endswith("MB")
        tables = records * (per_record + per_column * columns)
        room = int(limit.removesuffix("MB")) * 10**6 - tables
        assert link_engine.ENGINE_WORKING_MEMORY <= room < link_engine.ENGINE_WORKING_MEMORY + 10**6
    larger, smaller = (engine_memory_limit(n, 5, machine=10**13) for n in (2 * 10**7, 10**7))
    assert int(larger[:-2]) > int(smaller[:-2])


def test_the_limit_is_capped_by_the_machines_memory(caplog: pytest.LogCaptureFixture) -> None:
    """At 100M records the tables would ask for ~30 GB: on a 24 GiB machine (or container)
    the engine gets half of it and spills, with a warning that says so."""
    machine = 24 * 2**30
    with caplog.at_level("WARNING", logger="pipeline.stages.link_engine"):
        limit = engine_memory_limit(100_000_000, 5, machine=machine)
    assert limit == f"{math.ceil(machine * link_engine.ENGINE_MEMORY_SHARE / 10**6)}MB"
    assert "spill" in caplog.text and "100000000 records" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="pipeline.stages.link_engine"):
        assert engine_memory_limit(20_000_000, 5, machine=machine) == engine_memory_limit(
            20_000_000, 5, machine=10**13
        )
    assert not caplog.text
    # a small machine still gets the default floor
    assert engine_memory_limit(20_000_000, 5, machine=2 * 10**9) == "2000MB"


def test_the_machines_memory_is_the_smaller_of_physical_and_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    monkeypatch.setattr(machine_memory, "CGROUP_LIMITS", (v2, v1))
    physical = machine_memory.memory_bytes()
    assert physical is not None and physical > 0
    v2.write_text("max\n")  # cgroup v2 without a limit
    v1.write_text(f"{2**63 - 4096}\n")  # cgroup v1 without a limit
    assert machine_memory.memory_bytes() == physical
    v2.write_text(f"{physical // 4}\n")
    assert machine_memory.memory_bytes() == physical // 4


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
