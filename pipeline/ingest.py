"""Read source files (CSV, Parquet) into canonical frames, quarantining rows that cannot be used.

Every ingested row carries ``_source`` (source name), ``_file`` (file name) and ``_row`` (its
1-based row number in the file; in CSV the header is row 1, so data starts at row 2). Mapped
columns are renamed to canonical names (``id_<type>``, the person role, or the attribute name);
unmapped columns are dropped here, so nothing unapproved travels further. Text is stripped and
empty strings become nulls; ``date_of_birth`` is parsed to a date, and attributes to their
declared value type (:class:`pipeline.config.ColumnSpec`): ``integer`` to Int64 (a decimal with
no fraction, such as ``1200.0``, counts as whole), ``decimal`` to a finite Float64, ``date``
with the source's ``date_format``; ``category`` and ``text`` stay text. NaN in a Parquet float
column is read as missing (as pandas writes it).

File-level problems (unreadable, empty, duplicate or missing headers, unusable column types)
raise :class:`DataError`. Row-level problems (ragged rows, undecodable bytes, a value that does
not parse as its type: ``bad_date``, ``bad_integer``, ``bad_decimal``) send the row to quarantine
once, with a reason code and the first bad field, or raise with ``on_bad_rows: error``.
Messages name file, row and field, never the value.
"""

from __future__ import annotations

import csv
import glob
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.config import ColumnSpec, PipelineConfig, SourceConfig
from pipeline.errors import DataError
from pipeline.ingest_csv import CsvChunkReader, QuarantineRow, check_header, decode, record_blocks
from pipeline.io import check_readable, parquet_rows, read_parquet_slice
from pipeline.io import read_header as read_table_header

logger = logging.getLogger(__name__)

QUARANTINE_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "_source": pl.String,
    "_file": pl.String,
    "_row": pl.Int64,
    "stage": pl.String,
    "reason": pl.String,
    "field": pl.String,
}
_MAX_LISTED = 20
RawChunk = tuple[pl.DataFrame, list[QuarantineRow]]  # _row and the columns as text; problems


@dataclass(frozen=True)
class IngestResult:
    """Rows that were read, and rows set aside with a reason (no values)."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame


def discover_files(config: PipelineConfig, source: SourceConfig) -> list[Path]:
    """Files a source currently covers, sorted. A glob matching nothing means "no files yet"."""
    pattern = config.resolve(source.path)
    if source.is_glob():
        return sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
    return [pattern]


def read_header(path: Path, source: SourceConfig) -> list[str]:
    """Column names of a file, reading only its header (used by ``pprl validate``)."""
    if source.format == "parquet":
        return read_table_header(path, file_format="parquet")
    check_readable(path)
    with open(path, "rb") as handle:
        first = handle.readline()
    if not first.strip():
        raise DataError(f"{path.name}: file is empty (no header row)")
    text = decode(first, source.encoding)
    if "\udcff" in text or any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        raise DataError(f"{path.name}: row 1: header is not valid {source.encoding}")
    return next(csv.reader([text.rstrip("\r\n")], delimiter=source.delimiter), [])


@dataclass(frozen=True)
class Chunking:
    """How much of a file is read at once: about ``csv_bytes`` of a CSV file (cut where a
    record ends, :mod:`pipeline.ingest_csv`) or ``parquet_rows`` rows of a Parquet file.
    The rows read are the same whatever the sizes; only memory and the number of parts differ."""

    csv_bytes: int = 32 << 20
    parquet_rows: int = 250_000


DEFAULT_CHUNKING = Chunking()


def ingest_file(
    path: Path,
    source: SourceConfig,
    *,
    file_name: str | None = None,
    chunking: Chunking = DEFAULT_CHUNKING,
) -> IngestResult:
    """Read one file of ``source`` into a canonical frame plus its quarantine."""
    parts = list(ingest_chunks(path, source, file_name=file_name, chunking=chunking))
    rows = pl.concat([p.rows for p in parts]) if parts else pl.DataFrame()
    quarantine = pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *(p.quarantine for p in parts)])
    return IngestResult(rows=rows, quarantine=quarantine)


def ingest_chunks(
    path: Path,
    source: SourceConfig,
    *,
    file_name: str | None = None,
    chunking: Chunking = DEFAULT_CHUNKING,
) -> Iterator[IngestResult]:
    """Read one file of ``source`` chunk by chunk, in row order: each chunk's canonical rows
    and quarantine. With ``on_bad_rows: error`` a file with bad rows raises after its last
    chunk, listing the first of them and counting all."""
    name = file_name or path.name
    check_readable(path, label=name)
    if source.format == "parquet":
        raw_chunks = _parquet_chunks(path, source, name, chunking.parquet_rows)
    else:
        raw_chunks = _csv_chunks(path, source, name, chunking.csv_bytes)
    bad = _BadRows(source, name)
    for raw, early in raw_chunks:
        frame, quarantined = _canonicalise(raw, source, name)
        quarantine = pl.DataFrame(early + quarantined, schema=QUARANTINE_SCHEMA, orient="row")
        bad.add(raw.height, quarantine)
        yield IngestResult(rows=frame.sort("_row"), quarantine=quarantine.sort("_row"))
    bad.finish()


class _BadRows:
    """Counts a file's quarantined rows across its chunks, and keeps the first few for the
    ``on_bad_rows: error`` message."""

    def __init__(self, source: SourceConfig, name: str) -> None:
        self.source, self.name = source, name
        self.rows_read = 0
        self.count = 0
        self.first: list[dict[str, Any]] = []

    def add(self, rows_read: int, quarantine: pl.DataFrame) -> None:
        self.rows_read += rows_read
        self.count += quarantine.height
        wanted = _MAX_LISTED - len(self.first)
        if wanted > 0:
            self.first += quarantine.sort("_row").head(wanted).to_dicts()

    def finish(self) -> None:
        name = self.name
        if self.rows_read == 0 and self.source.format == "csv":
            logger.warning("%s: file has a header but no data rows", name, extra={"file": name})
        if self.source.on_bad_rows == "error" and self.count:
            listed = [
                f"{name}: row {r['_row']}"
                + (f": field {r['field']}" if r["field"] else "")
                + f": {r['reason']}"
                for r in self.first
            ]
            more = self.count - len(listed)
            tail = f"\n  ... and {more} more" if more else ""
            raise DataError(f"{self.count} bad rows:\n  " + "\n  ".join(listed) + tail)
        if self.count:
            logger.warning(
                "%s: %d rows quarantined while reading",
                name,
                self.count,
                extra={"file": name, "rows": self.count},
            )


def _csv_chunks(
    path: Path, source: SourceConfig, name: str, block_bytes: int
) -> Iterator[RawChunk]:
    reader = CsvChunkReader(source, name)
    with path.open("rb") as handle:  # readable: checked by the caller
        for block in record_blocks(handle, block_bytes, source.delimiter):
            yield reader.parse(block)
    if reader.header is None:  # not a byte, so not even a header
        raise DataError(f"{name}: file is empty (no header row)")


# --- Parquet -----------------------------------------------------------------------------------


def _parquet_chunks(path: Path, source: SourceConfig, name: str, rows: int) -> Iterator[RawChunk]:
    check_header(read_table_header(path, file_format="parquet", label=name), source, name)
    total = parquet_rows(path, label=name)
    if total == 0:
        raise DataError(f"{name}: file has no rows")
    for offset in range(0, total, rows):
        frame = read_parquet_slice(path, list(source.columns), offset, rows, label=name)
        yield _parquet_text(frame, source, name, offset), []


def _parquet_text(
    frame: pl.DataFrame, source: SourceConfig, name: str, offset: int
) -> pl.DataFrame:
    """The columns as text, as a CSV would give them, with 1-based row numbers from ``offset``."""
    problems = []
    casts = []
    for col, dtype in frame.schema.items():
        if dtype.is_nested() or dtype == pl.Binary or dtype == pl.Object:
            problems.append(f"{name}: field {col}: column type {dtype} cannot be read as text")
        elif dtype.is_temporal() and _parsed_as(source.columns[col]) == "date":
            casts.append(pl.col(col).cast(pl.Date).dt.strftime(source.date_format))
        elif dtype.is_float():  # NaN is pandas' missing value, not a number to deliver
            casts.append(pl.col(col).fill_nan(None).cast(pl.String))
        else:
            casts.append(pl.col(col).cast(pl.String))
    if problems:
        raise DataError("\n".join(problems))
    return frame.select(
        pl.int_range(offset + 1, offset + 1 + frame.height, dtype=pl.Int64).alias("_row"), *casts
    )


# --- canonical form ----------------------------------------------------------------------------


def _canonicalise(
    raw: pl.DataFrame, source: SourceConfig, name: str
) -> tuple[pl.DataFrame, list[tuple[object, ...]]]:
    """Canonical names and types; a row holding a value that does not parse as its column's
    type (a date of birth, or a typed attribute) is quarantined once, for its first bad field."""
    cleaned = raw.with_columns(
        pl.col(col).str.strip_chars().replace("", None).alias(col) for col in source.columns
    )
    exprs: list[pl.Expr] = [
        pl.lit(source.name, dtype=pl.String).alias("_source"),
        pl.lit(name, dtype=pl.String).alias("_file"),
        pl.col("_row"),
    ]
    reasons: list[pl.Expr] = [pl.lit(None, dtype=pl.String)]
    fields: list[pl.Expr] = [pl.lit(None, dtype=pl.String)]
    for col, spec in source.columns.items():
        kind = _parsed_as(spec)
        parsed = _PARSERS[kind](pl.col(col), source.date_format)
        exprs.append(parsed.alias(spec.output_name(col)))
        if kind != "text":
            bad = pl.col(col).is_not_null() & parsed.is_null()
            reasons.insert(-1, pl.when(bad).then(pl.lit(f"bad_{kind}")))
            fields.insert(-1, pl.when(bad).then(pl.lit(col)))
    frame = cleaned.select(
        *exprs, pl.coalesce(reasons).alias("__reason"), pl.coalesce(fields).alias("__field")
    )
    bad_rows = frame.filter(pl.col("__reason").is_not_null())
    quarantine: list[tuple[object, ...]] = [
        (source.name, name, row, "ingest", reason, field)
        for row, reason, field in bad_rows.select("_row", "__reason", "__field").iter_rows()
    ]
    kept = frame.filter(pl.col("__reason").is_null()).drop("__reason", "__field")
    return kept, quarantine


def _parsed_as(spec: ColumnSpec) -> str:
    """How a column's text is parsed: ``date`` for dates of birth, an attribute's declared
    value type, ``text`` for everything else (identifiers are checked later, by their rule)."""
    if spec.role == "date_of_birth":
        return "date"
    return spec.value_type if spec.role == "attribute" else "text"


def _whole_number(text: pl.Expr, _: str) -> pl.Expr:
    """Int64 from an integer literal, or from a decimal one with no fraction ("1200.0", as
    tools that store missing integers as floats write them); anything else is null."""
    exact = text.str.to_integer(strict=False)
    number = text.cast(pl.Float64, strict=False)
    whole = number.is_finite() & (number == number.round()) & (number.abs() < 2.0**53)
    return pl.coalesce(exact, pl.when(whole).then(number.cast(pl.Int64, strict=False)))


def _finite_number(text: pl.Expr, _: str) -> pl.Expr:
    number = text.cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number)


def _date(text: pl.Expr, date_format: str) -> pl.Expr:
    return text.str.strptime(pl.Date, date_format, strict=False)


_PARSERS: dict[str, Callable[[pl.Expr, str], pl.Expr]] = {
    "integer": _whole_number,
    "decimal": _finite_number,
    "date": _date,
    "category": lambda text, _: text,  # Categorical at delivery: joins and checks use text
    "text": lambda text, _: text,
}
