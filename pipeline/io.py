"""Reading tables: CSV or Parquet, whole, by column, or just the header.

Every reader turns a failure into a :class:`DataError` that names the file and the problem (not
found, permission denied, not a Parquet file, a ragged CSV row...), never a value: the
libraries' own messages can quote file contents, so they are never passed on. ``label`` says
how messages name the file (default: its name), e.g. ``inputs[0]: a.csv``. An extension this
module does not read is a :class:`ConfigError` (fix the command line or config).

CSV is read as text (no schema inference) unless asked, so identifiers keep their leading
zeros; asked, types are inferred from the first :data:`INFER_ROWS` rows. The batch pipeline's
ingest (:mod:`pipeline.ingest`) keeps its own CSV parser for row numbers, encodings and
quarantine, and reads bytes and Parquet through here.

>>> frame = read_table(Path("patients.csv"), columns=["nhs_number"])    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeVar

import polars as pl

from pipeline.errors import ConfigError, DataError

TableFormat = Literal["csv", "parquet"]
FORMATS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
INFER_ROWS = 10_000  # rows polars looks at to infer CSV column types, when asked to

T = TypeVar("T")


def table_format(path: Path, file_format: TableFormat | None = None) -> TableFormat:
    """``file_format`` when given, else the format ``path``'s extension names."""
    if file_format is not None:
        return file_format
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        suffix = path.suffix.lower() or "(none)"
        raise ConfigError(f"{path.name}: unsupported file type {suffix!r} (use .csv or .parquet)")
    return found


def check_readable(path: Path, *, label: str | None = None) -> None:
    """Raise a :class:`DataError` unless ``path`` is a file this process can open."""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise _unreadable(path, exc, label) from None


def read_bytes(path: Path, *, label: str | None = None) -> bytes:
    """The whole file; errors as in :func:`check_readable`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc, label) from None


def read_table(
    path: Path,
    *,
    file_format: TableFormat | None = None,
    columns: Sequence[str] | None = None,
    infer_schema: bool = False,
    label: str | None = None,
) -> pl.DataFrame:
    """A CSV or Parquet table (format by extension unless ``file_format``), optionally only
    ``columns``; CSV columns as text unless ``infer_schema``."""
    kind = table_format(path, file_format)
    check_readable(path, label=label)
    wanted = list(dict.fromkeys(columns)) if columns is not None else None
    return _polars_read(path, kind, wanted, label, lambda: _read(path, kind, wanted, infer_schema))


def parquet_rows(path: Path, *, label: str | None = None) -> int:
    """Number of rows of a Parquet file (from its metadata); errors as in :func:`read_table`."""
    check_readable(path, label=label)
    count = lambda: int(pl.scan_parquet(path).select(pl.len()).collect().item())  # noqa: E731
    return _polars_read(path, "parquet", None, label, count)


def read_parquet_slice(
    path: Path, columns: Sequence[str], offset: int, length: int, *, label: str | None = None
) -> pl.DataFrame:
    """Rows ``offset`` to ``offset + length`` of ``columns`` of a Parquet file, reading only the
    row groups that hold them; errors as in :func:`read_table`."""
    wanted = list(dict.fromkeys(columns))
    return _polars_read(
        path,
        "parquet",
        wanted,
        label,
        lambda: pl.scan_parquet(path).select(wanted).slice(offset, length).collect(),
    )


def read_header(
    path: Path, *, file_format: TableFormat | None = None, label: str | None = None
) -> list[str]:
    """Column names of a table, reading only its header (or Parquet schema)."""
    kind = table_format(path, file_format)
    check_readable(path, label=label)
    return _polars_read(path, kind, None, label, lambda: _schema(path, kind))


def read_truth(path: Path, columns: Mapping[str, str], *, label: str | None = None) -> pl.DataFrame:
    """Known links for evaluation: ``columns`` maps each output name to the file's column;
    the result holds the output names, as text, in that order. Every missing column is named."""
    wanted = list(dict.fromkeys(columns.values()))
    header = read_header(path, label=label)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"{label or path.name}: missing column(s) {', '.join(missing)}")
    frame = read_table(path, columns=wanted, label=label)
    return frame.select(pl.col(c).cast(pl.String).alias(name) for name, c in columns.items())


def _read(
    path: Path, kind: TableFormat, columns: list[str] | None, infer_schema: bool
) -> pl.DataFrame:
    if kind == "parquet":
        return pl.read_parquet(path, columns=columns)
    if infer_schema:
        return pl.read_csv(path, columns=columns, infer_schema_length=INFER_ROWS)
    return pl.read_csv(path, columns=columns, infer_schema=False)


def _schema(path: Path, kind: TableFormat) -> list[str]:
    if kind == "parquet":
        return list(pl.read_parquet_schema(path))
    return list(pl.scan_csv(path, infer_schema=False).collect_schema())


# --- errors -------------------------------------------------------------------------------


def _unreadable(path: Path, exc: OSError, label: str | None) -> DataError:
    if isinstance(exc, FileNotFoundError):
        problem = "file not found"
    elif isinstance(exc, IsADirectoryError):
        problem = "is a directory, not a file"
    elif isinstance(exc, PermissionError):
        problem = "permission denied (the file cannot be opened for reading)"
    else:
        problem = f"cannot read the file ({exc.strerror or type(exc).__name__})"
    return DataError(f"{label or path.name}: {problem}")


def _polars_read(
    path: Path,
    kind: TableFormat,
    columns: list[str] | None,
    label: str | None,
    read: Callable[[], T],
) -> T:
    """Run ``read``, turning its failures into a :class:`DataError` that names the problem."""
    try:
        return read()
    except OSError as exc:
        raise _unreadable(path, exc, label) from None
    except pl.exceptions.ColumnNotFoundError:
        header = read_header(path, file_format=kind, label=label)
        missing = [c for c in columns or [] if c not in header]
        problem = f"missing column(s) {', '.join(missing)}" if missing else "a column is missing"
        raise DataError(f"{label or path.name}: {problem}") from None
    except Exception as exc:  # polars raises several unrelated types for malformed files
        raise DataError(f"{label or path.name}: {_malformed(kind, exc)}") from None


def _malformed(kind: TableFormat, exc: Exception) -> str:
    """What is wrong with a file polars could not parse, in words that quote nothing from it.

    The library's message is only matched against, never shown: it can quote file contents.
    """
    message = str(exc).lower()
    if kind == "parquet":
        if "specification" in message or "parquet" in message:
            return "not a Parquet file, or a damaged one"
        return f"cannot read Parquet data ({type(exc).__name__})"
    if isinstance(exc, pl.exceptions.NoDataError) or "empty csv" in message:
        return "file is empty (no header row)"
    if "utf-8" in message or "utf8" in message:
        return "not valid UTF-8 text"
    if "more fields" in message:
        return "malformed CSV: a row has more fields than the header"
    if "could not parse" in message:
        return "malformed CSV: a value cannot be parsed (unbalanced quotes, or mixed types)"
    return f"malformed CSV ({type(exc).__name__})"
