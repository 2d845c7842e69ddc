"""The DuckDB backend: the one place SQL is executed.

Inputs are copied into DuckDB tables with an internal integer row id (``__rid``, ordered by the
unique id so that sampling and cluster ids do not depend on input order). Results come back as
polars DataFrames through Arrow, never through pandas.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from linkage.blocking import RID
from linkage.errors import InputDataError
from linkage.sql import DUCKDB, Dialect, literal, quote

logger = logging.getLogger(__name__)

Source = pl.DataFrame | str | Path


class DuckDBBackend:
    """Owns a DuckDB connection bounded by ``memory_limit`` and ``threads``."""

    dialect: Dialect = DUCKDB

    def __init__(
        self, *, memory_limit: str = "2GB", threads: int = 2, temp_directory: str | None = None
    ) -> None:
        self.con = duckdb.connect(":memory:")
        self.execute(f"SET memory_limit = {literal(memory_limit)}")
        self.execute(f"SET threads = {int(threads)}")
        self.execute("SET preserve_insertion_order = false")
        if temp_directory is not None:
            self.execute(f"SET temp_directory = {literal(str(temp_directory))}")

    def execute(self, sql: str) -> None:
        self.con.execute(sql).fetchall()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query and return all rows (``fetchall`` closes the result, see ANCHORS.md)."""
        return self.con.execute(sql).fetchall()

    def frame(self, sql: str) -> pl.DataFrame:
        """Run a query and return a polars DataFrame via Arrow."""
        return pl.from_arrow(self.con.sql(sql).to_arrow_table())  # type: ignore[return-value]

    def source_columns(self, source: Source) -> list[str]:
        """Column names of a polars frame or Parquet file, without loading it."""
        if isinstance(source, pl.DataFrame):
            return list(source.columns)
        try:
            return [r[0] for r in self.rows(f"DESCRIBE SELECT * FROM {_parquet(source)}")]
        except duckdb.Error:
            raise InputDataError(f"cannot read Parquet input {Path(source).name!r}") from None

    def load_input(self, table: str, source: Source, id_column: str) -> int:
        """Copy ``source`` into ``table`` with ``__rid`` = rank of the id; return the row count."""
        if isinstance(source, pl.DataFrame):
            view = f"__src_{table}"
            self.con.register(view, source)
            from_sql = quote(view)
        else:
            view = ""
            from_sql = _parquet(source)
        try:
            self.execute(
                f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT "
                f"CAST(row_number() OVER (ORDER BY {quote(id_column)}) - 1 AS INTEGER) "
                f"AS {quote(RID)}, * FROM {from_sql}"
            )
        except duckdb.Error as exc:
            # DuckDB's message may quote values; report the column and table only
            raise InputDataError(
                f"could not load input {table!r} ordered by id column {id_column!r}: "
                f"{type(exc).__name__}"
            ) from None
        finally:
            if view:
                self.con.unregister(view)
        return int(self.rows(f"SELECT count(*) FROM {quote(table)}")[0][0])

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.rows(f"DESCRIBE {quote(table)}")]

    def create_table(self, name: str, select: str) -> None:
        """Store the result of query ``select`` as table ``name`` (replacing any of that name)."""
        self.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS {select}")

    def register_frame(self, name: str, frame: pl.DataFrame) -> None:
        """Copy a small polars frame into a table (replacing any table of that name)."""
        view = f"__view_{name}"
        self.con.register(view, frame)
        try:
            self.create_table(name, f"SELECT * FROM {quote(view)}")
        finally:
            self.con.unregister(view)

    @contextmanager
    def views(self, sources: Sequence[Source], prefix: str) -> Iterator[list[str]]:
        """Views ``<prefix>0``, ``<prefix>1``... reading ``sources`` in place (frames or
        Parquet paths), dropped on exit."""
        names = [f"{prefix}{i}" for i in range(len(sources))]
        try:
            for name, source in zip(names, sources, strict=True):
                if isinstance(source, pl.DataFrame):
                    self.con.register(name, source)
                else:
                    self.execute(f"CREATE VIEW {quote(name)} AS SELECT * FROM {_parquet(source)}")
            yield names
        finally:
            for name, source in zip(names, sources, strict=True):
                if isinstance(source, pl.DataFrame):
                    self.con.unregister(name)
                else:
                    self.execute(f"DROP VIEW IF EXISTS {quote(name)}")

    def close(self) -> None:
        self.con.close()


def _parquet(path: str | Path) -> str:
    return f"read_parquet({literal(str(path))})"
