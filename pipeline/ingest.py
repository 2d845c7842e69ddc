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

import codecs
import csv
import glob
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from pipeline.config import ColumnSpec, PipelineConfig, SourceConfig
from pipeline.errors import DataError
from pipeline.io import check_readable, read_bytes, read_table
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
    text = _decode(first, source.encoding)
    if "\udcff" in text or any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        raise DataError(f"{path.name}: row 1: header is not valid {source.encoding}")
    return next(csv.reader([text.rstrip("\r\n")], delimiter=source.delimiter), [])


def ingest_file(path: Path, source: SourceConfig, *, file_name: str | None = None) -> IngestResult:
    """Read one file of ``source`` into a canonical frame plus its quarantine."""
    name = file_name or path.name
    check_readable(path, label=name)
    rows: list[tuple[object, ...]] = []
    if source.format == "parquet":
        raw = _read_parquet(path, source, name)
    else:
        raw, rows = _read_csv(path, source, name)
    frame, quarantined = _canonicalise(raw, source, name)
    quarantine = pl.DataFrame(rows + quarantined, schema=QUARANTINE_SCHEMA, orient="row")
    if source.on_bad_rows == "error" and quarantine.height:
        listed = [
            f"{name}: row {r['_row']}"
            + (f": field {r['field']}" if r["field"] else "")
            + f": {r['reason']}"
            for r in quarantine.head(_MAX_LISTED).iter_rows(named=True)
        ]
        more = quarantine.height - len(listed)
        tail = f"\n  ... and {more} more" if more else ""
        raise DataError(f"{quarantine.height} bad rows:\n  " + "\n  ".join(listed) + tail)
    if quarantine.height:
        logger.warning(
            "%s: %d rows quarantined while reading",
            name,
            quarantine.height,
            extra={"file": name, "rows": quarantine.height},
        )
    return IngestResult(rows=frame.sort("_row"), quarantine=quarantine.sort("_row"))


# --- CSV ---------------------------------------------------------------------------------------


def _decode(data: bytes, encoding: str) -> str:
    # surrogateescape keeps undecodable bytes as lone surrogates so we can find their row/field.
    text = data.decode(encoding, errors="surrogateescape")
    return text.removeprefix("\ufeff")


_BAD_BYTE = re.compile("[\udc80-\udcff]")


def _has_bad_bytes(value: str) -> bool:
    return _BAD_BYTE.search(value) is not None


def _read_csv(
    path: Path, source: SourceConfig, name: str
) -> tuple[pl.DataFrame, list[tuple[object, ...]]]:
    data = read_bytes(path, label=name)
    if not data or data.isspace():
        raise DataError(f"{name}: file is empty (no header row)")
    try:
        text = data.decode(source.encoding).removeprefix("\ufeff")
        any_bad_bytes = False  # then skip every per-field scan, and try the fast path
    except UnicodeDecodeError:
        text = _decode(data, source.encoding)
        any_bad_bytes = True
    if not any_bad_bytes:
        fast = _read_clean_csv(data, text, source, name)
        if fast is not None:
            return fast, []
        logger.info("%s: irregular CSV, reading row by row", name, extra={"file": name})
    return _read_rows(text, source, name, any_bad_bytes)


def _read_rows(
    text: str, source: SourceConfig, name: str, any_bad_bytes: bool
) -> tuple[pl.DataFrame, list[tuple[object, ...]]]:
    """Parse ``text`` record by record with the csv module, quarantining rows that are
    unparseable, ragged or (when ``any_bad_bytes``) not valid in the source's encoding."""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=source.delimiter,
        strict=False,
    )
    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataError(f"{name}: row 1: cannot parse header ({exc})") from None
    _check_header(header, source, name)
    wanted = [header.index(col) for col in source.columns]
    columns: list[list[str]] = [[] for _ in wanted]
    row_numbers: list[int] = []
    quarantine: list[tuple[object, ...]] = []
    number = 1
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error:
            quarantine.append((source.name, name, number, "ingest", "unparseable_row", None))
            continue
        if not record:
            number -= 1  # blank lines are not rows
            continue
        if len(record) != len(header):
            quarantine.append((source.name, name, number, "ingest", "ragged_row", None))
            continue
        bad = any_bad_bytes and next(
            (header[i] for i, value in enumerate(record) if _has_bad_bytes(value)), None
        )
        if bad:
            quarantine.append((source.name, name, number, "ingest", "bad_encoding", bad))
            continue
        row_numbers.append(number)
        for out, index in zip(columns, wanted, strict=True):
            out.append(record[index])
    raw = pl.DataFrame(
        {"_row": pl.Series(row_numbers, dtype=pl.Int64)}
        | {
            col: pl.Series(vals, dtype=pl.String)
            for col, vals in zip(source.columns, columns, strict=True)
        }
    )
    return raw, quarantine


def _read_clean_csv(data: bytes, text: str, source: SourceConfig, name: str) -> pl.DataFrame | None:
    """Parse a decoded CSV with pyarrow if every record is regular, else ``None``.

    pyarrow rejects ragged rows but reads blank lines as rows of empty strings, so
    :func:`_regular_records` first rules out blank lines and quoting the csv module might read
    differently; the row count is then cross-checked.
    Files whose first line holds a quote or a bare CR go the careful way (their header may span
    lines).
    """
    first_line = text[: text.find("\n") + 1] or text
    if '"' in first_line or "\r" in first_line.removesuffix("\n").removesuffix("\r"):
        return None
    header = next(csv.reader([first_line.rstrip("\r\n")], delimiter=source.delimiter), [])
    _check_header(header, source, name)
    plain = codecs.lookup(source.encoding).name == "utf-8" and not data.startswith(codecs.BOM_UTF8)
    utf8 = data if plain else text.encode("utf-8")
    records = _regular_records(utf8, source.delimiter)
    if records is None:
        return None
    # pyarrow, unlike polars, refuses a row with too few fields instead of padding it.
    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter=source.delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                include_columns=list(source.columns),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None  # a ragged or otherwise unparseable row: read carefully
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame) or frame.height != records - 1:
        return None
    return frame.select(
        pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("_row"),
        *(pl.col(col).cast(pl.String) for col in source.columns),
    )


def _regular_records(data: bytes, delimiter: str) -> int | None:
    """Number of records (header included), counted with numpy over the bytes, or ``None``
    when the file has anything the csv module and pyarrow might read differently: NUL bytes,
    quotes not at field boundaries, an unterminated quote, bare CR line ends, blank lines,
    or a record longer than the csv module's field size limit. Field counts are left to
    pyarrow, which rejects ragged rows.
    """
    if b"\0" in data or len(delimiter.encode("utf-8")) != 1:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    sep, quote, lf, cr = ord(delimiter), ord('"'), ord("\n"), ord("\r")
    quotes = np.flatnonzero(b == quote) if b'"' in data else np.empty(0, dtype=np.intp)
    if quotes.size % 2:
        return None  # unterminated quoted field

    def outside(positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        # A byte is outside quotes when an even number of quote characters precede it.
        if not quotes.size:
            return positions
        return positions[np.searchsorted(quotes, positions) % 2 == 0]

    if quotes.size:
        opening, closing = quotes[0::2], quotes[1::2]
        before = b[np.maximum(opening - 1, 0)]
        if not np.all((opening == 0) | (before == sep) | (before == lf) | (before == quote)):
            return None  # a quote opening in the middle of a field
        after = b[np.minimum(closing + 1, b.size - 1)]
        ok_after = (after == sep) | (after == lf) | (after == cr) | (after == quote)
        if not np.all((closing == b.size - 1) | ok_after):
            return None  # text after a closing quote
    bare_cr = outside(np.flatnonzero(b == cr)) if b"\r" in data else quotes[:0]
    if bare_cr.size and (bare_cr[-1] == b.size - 1 or np.any(b[bare_cr + 1] != lf)):
        return None
    ends = outside(np.flatnonzero(b == lf))
    if b[-1] != lf:
        ends = np.append(ends, b.size)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (b[np.minimum(starts, b.size - 1)] == cr))
    if bool(blank.any()) or int(lengths.max()) > csv.field_size_limit():
        return None
    return int(ends.size)


def _check_header(header: list[str], source: SourceConfig, name: str) -> None:
    problems = []
    if any(_has_bad_bytes(h) for h in header):
        problems.append(f"{name}: row 1: header is not valid {source.encoding}")
    if any(not h.strip() for h in header):
        problems.append(f"{name}: row 1: a column has an empty name")
    positions: dict[str, list[int]] = {}
    for number, h in enumerate(header, start=1):
        positions.setdefault(h, []).append(number)
    for h, where in positions.items():
        if len(where) > 1:
            # Only configured names are quoted: a file without a header row would otherwise
            # put data values into this message.
            label = f"duplicate column {h!r}" if h in source.columns else "duplicate column name"
            problems.append(f"{name}: row 1: {label} (columns {', '.join(map(str, where))})")
    missing = [col for col in source.columns if col not in header]
    problems.extend(f"{name}: row 1: missing column {col!r}" for col in missing)
    if problems:
        raise DataError("\n".join(problems))


# --- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path, source: SourceConfig, name: str) -> pl.DataFrame:
    _check_header(read_table_header(path, file_format="parquet", label=name), source, name)
    frame = read_table(path, file_format="parquet", columns=list(source.columns), label=name)
    if frame.height == 0:
        raise DataError(f"{name}: file has no rows")
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
    return (
        frame.select(casts)
        .with_row_index("_row", offset=1)
        .with_columns(pl.col("_row").cast(pl.Int64))
    )


# --- canonical form ----------------------------------------------------------------------------


def _canonicalise(
    raw: pl.DataFrame, source: SourceConfig, name: str
) -> tuple[pl.DataFrame, list[tuple[object, ...]]]:
    """Canonical names and types; a row holding a value that does not parse as its column's
    type (a date of birth, or a typed attribute) is quarantined once, for its first bad field."""
    if raw.height == 0 and source.format == "csv":
        logger.warning("%s: file has a header but no data rows", name, extra={"file": name})
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
