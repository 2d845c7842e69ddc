"""Loading a linker's inputs into its backend: check the columns and ids, then add the
per-record columns scoring reads (term frequencies, parsed dates, postcode parts)."""

from __future__ import annotations

from collections.abc import Mapping

from linkage.backend import DuckDBBackend, Source
from linkage.errors import InputDataError
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tables import LEFT_TABLE
from linkage.tf import attach_tf_sql, tf_table_sql, update_tf_sql


def load_inputs(
    backend: DuckDBBackend, settings: LinkageSettings, sources: Mapping[str, Source]
) -> dict[str, int]:
    """Load each source (table name -> frame or Parquet path) and return its row count.
    Raises one :class:`InputDataError` listing every missing column, or every null or
    repeated id."""
    _check_columns(backend, settings, sources)
    counts = {t: backend.load_input(t, s, settings.unique_id_column) for t, s in sources.items()}
    tables = list(sources)
    _check_ids(backend, settings.unique_id_column, tables)
    _attach_term_frequencies(backend, settings, tables)
    _attach_derived_columns(backend, settings, tables)
    return counts


def _side(table: str) -> str:
    return "left" if table == LEFT_TABLE else "right"


def _check_columns(
    backend: DuckDBBackend, settings: LinkageSettings, sources: Mapping[str, Source]
) -> None:
    required = settings.required_columns()
    problems = []
    for table, source in sources.items():
        have = set(backend.source_columns(source))
        problems += [f"{_side(table)} input has no column {c!r}" for c in required if c not in have]
    if problems:
        raise InputDataError(problems)


def _check_ids(backend: DuckDBBackend, id_column: str, tables: list[str]) -> None:
    id_col = quote(id_column)
    problems = []
    for table in tables:
        nulls, dupes = backend.rows(
            f"SELECT count(*) FILTER (WHERE {id_col} IS NULL), "
            f"count({id_col}) - count(DISTINCT {id_col}) FROM {quote(table)}"
        )[0]
        if nulls:
            problems.append(f"{_side(table)} input: id column has {nulls} null value(s)")
        if dupes:
            problems.append(f"{_side(table)} input: id column has {dupes} duplicated value(s)")
    if problems:
        raise InputDataError(problems)


def recount_term_frequencies(
    backend: DuckDBBackend, settings: LinkageSettings, tables: list[str], counted: list[str]
) -> None:
    """Replace the term frequencies of the loaded ``tables`` by those counted over the
    records of ``counted`` (tables or views with the term-frequency columns)."""
    _attach_term_frequencies(backend, settings, tables, counted, replace=True)


def _attach_term_frequencies(
    backend: DuckDBBackend,
    settings: LinkageSettings,
    tables: list[str],
    counted: list[str] | None = None,
    *,
    replace: bool = False,
) -> None:
    columns = dict.fromkeys(c.tf_column for c in settings.comparisons if c.tf_column)
    tf_tables = {column: f"__tf_table_{column}" for column in columns if column}
    if not tf_tables:
        return
    for column, tf_table in tf_tables.items():
        backend.create_table(tf_table, tf_table_sql(column, counted or tables))
    for table in tables:  # one pass over each table for all its frequencies
        if replace:
            backend.execute(update_tf_sql(table, tf_tables))
        else:
            backend.create_table(table, attach_tf_sql(table, tf_tables))


def _attach_derived_columns(
    backend: DuckDBBackend, settings: LinkageSettings, tables: list[str]
) -> None:
    dialect = backend.dialect
    derived = {k: v for c in settings.comparisons for k, v in c.derived_columns(dialect).items()}
    if not derived:
        return
    exprs = ", ".join(f"{sql} AS {quote(name)}" for name, sql in derived.items())
    for table in tables:
        backend.create_table(table, f"SELECT *, {exprs} FROM {quote(table)}")
