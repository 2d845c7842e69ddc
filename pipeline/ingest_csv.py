"""CSV ingest in blocks of records, so a file of any size is read in bounded memory.

:func:`record_blocks` cuts a file's bytes only where every reader agrees a record ends: after
a line end outside quotes, in a stretch whose quotes all stand at field boundaries (or are
doubled inside a quoted field), with no NUL byte and no record longer than the csv module's
field limit. There the quote count says exactly whether a line end is inside a field. Once a
stretch is irregular, the rest of the file is one block: the csv module reads it from a record
boundary exactly as it would read the whole file. Every accepted encoding (UTF-8, UTF-8 with
BOM, Latin-1) keeps line ends, quotes and delimiters as single bytes of their own.

:class:`CsvChunkReader` turns the blocks into raw frames (``_row`` and the configured columns
as text) plus quarantine rows: a regular, decodable block is parsed by pyarrow, anything else
record by record with the csv module (ragged rows, stray quotes, undecodable bytes). Row numbers
carry over from block to block, so the frames are those of reading the file in one piece.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from pipeline.config import SourceConfig
from pipeline.errors import DataError

QuarantineRow = tuple[object, ...]  # pipeline.ingest.QUARANTINE_SCHEMA's columns
CsvChunk = tuple[pl.DataFrame, list[QuarantineRow]]

_BAD_BYTE = re.compile("[\udc80-\udcff]")


def decode(data: bytes, encoding: str) -> str:
    """Text with undecodable bytes kept as lone surrogates (to find their row and field), and
    without a byte-order mark."""
    return data.decode(encoding, errors="surrogateescape").removeprefix("\ufeff")


def has_bad_bytes(value: str) -> bool:
    return _BAD_BYTE.search(value) is not None


def record_blocks(handle: BinaryIO, block_bytes: int, delimiter: str) -> Iterator[bytes]:
    """The file's bytes in blocks of about ``block_bytes``, each ending where a record ends
    (module docstring); the first holds more than white space. A delimiter of more than one
    byte leaves the file in one block."""
    pending = b""
    first = True
    sep = ord(delimiter) if len(delimiter.encode("utf-8")) == 1 else None
    while data := handle.read(block_bytes):
        pending += data
        if len(data) < block_bytes:  # the end of the file
            break
        cut = None if sep is None else _last_boundary(pending, sep)
        if cut is None:  # irregular: read the rest as one block
            pending += handle.read()
            break
        if cut and not (first and pending[:cut].isspace()):
            yield pending[:cut]
            pending, first = pending[cut:], False
    if pending:
        yield pending


def _last_boundary(data: bytes, sep: int) -> int | None:
    """Where the last complete record of ``data`` ends (0: none yet), or None when the
    records before it are irregular, so the csv module may end them elsewhere."""
    if b"\0" in data:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(b == ord('"')) if b'"' in data else np.empty(0, dtype=np.intp)
    ends = _outside(quotes, np.flatnonzero(b == ord("\n")))
    if not ends.size:
        return 0
    cut = int(ends[-1]) + 1
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).max()) > csv.field_size_limit():
        return None
    return cut if _quotes_at_boundaries(b[:cut], quotes[quotes < cut], sep) else None


def _outside(quotes: npt.NDArray[np.intp], positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """The positions with an even number of quote characters before them."""
    if not quotes.size:
        return positions
    return positions[np.searchsorted(quotes, positions) % 2 == 0]


def _quotes_at_boundaries(b: npt.NDArray[np.uint8], quotes: npt.NDArray[np.intp], sep: int) -> bool:
    """Every quote opens a field, closes one, or is doubled inside one (and none is left open)."""
    if quotes.size % 2:
        return False
    if not quotes.size:
        return True
    opening, closing = quotes[0::2], quotes[1::2]
    lf, cr, quote = ord("\n"), ord("\r"), ord('"')
    before = b[np.maximum(opening - 1, 0)]
    if not np.all((opening == 0) | (before == sep) | (before == lf) | (before == quote)):
        return False  # a quote opening in the middle of a field
    after = b[np.minimum(closing + 1, b.size - 1)]
    ok_after = (after == sep) | (after == lf) | (after == cr) | (after == quote)
    return bool(np.all((closing == b.size - 1) | ok_after))  # else text after a closing quote


class CsvChunkReader:
    """Parses one file's record blocks in order (see the module docstring)."""

    def __init__(self, source: SourceConfig, name: str) -> None:
        self.source = source
        self.name = name
        self.header: list[str] | None = None
        self.next_row = 2  # the header is row 1

    def parse(self, block: bytes) -> CsvChunk:
        """The raw frame and quarantine rows of the next block."""
        first = self.header is None
        if first and (not block or block.isspace()):
            raise DataError(f"{self.name}: file is empty (no header row)")
        try:
            text = block.decode(self.source.encoding)
            bad_bytes = False  # then skip every per-field scan, and try the fast path
        except UnicodeDecodeError:
            text = block.decode(self.source.encoding, errors="surrogateescape")
            bad_bytes = True
        if first:
            text = text.removeprefix("\ufeff")
        if not bad_bytes:
            fast = self._read_clean(block, text)
            if fast is not None:
                self.next_row += fast.height
                return fast, []
        return self._read_rows(text, bad_bytes)

    def _read_clean(self, data: bytes, text: str) -> pl.DataFrame | None:
        """Parse a decoded block with pyarrow if every record is regular, else ``None``.

        pyarrow rejects ragged rows but reads blank lines as rows of empty strings, so
        :func:`regular_records` first rules out blank lines and quoting the csv module might
        read differently; the row count is then cross-checked. A header whose line holds a
        quote or a bare CR goes the careful way (it may span lines).
        """
        source = self.source
        header = self.header
        if header is None:
            first_line = text[: text.find("\n") + 1] or text
            if '"' in first_line or "\r" in first_line.removesuffix("\n").removesuffix("\r"):
                return None
            header = next(csv.reader([first_line.rstrip("\r\n")], delimiter=source.delimiter), [])
            check_header(header, source, self.name)
        plain = codecs.lookup(source.encoding).name == "utf-8" and not data.startswith(
            codecs.BOM_UTF8
        )
        utf8 = data if plain else text.encode("utf-8")
        records = regular_records(utf8, source.delimiter)
        if records is None:
            return None
        skip = 1 if self.header is None else 0
        table = _arrow_csv(utf8, header, source, skip)
        if table is None:
            return None  # a ragged or otherwise unparseable row: read carefully
        frame = pl.from_arrow(table)
        if not isinstance(frame, pl.DataFrame) or frame.height != records - skip:
            return None
        self.header = header
        start = self.next_row
        return frame.select(
            pl.int_range(start, start + frame.height, dtype=pl.Int64).alias("_row"),
            *(pl.col(col).cast(pl.String) for col in source.columns),
        )

    def _read_rows(self, text: str, any_bad_bytes: bool) -> CsvChunk:
        """Parse ``text`` record by record with the csv module, quarantining rows that are
        unparseable, ragged or (when ``any_bad_bytes``) not valid in the source's encoding."""
        source, name = self.source, self.name
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, strict=False)
        if self.header is None:
            try:
                header = next(reader)
            except csv.Error as exc:
                raise DataError(f"{name}: row 1: cannot parse header ({exc})") from None
            check_header(header, source, name)
            self.header = header
        header = self.header
        wanted = [header.index(col) for col in source.columns]
        columns: list[list[str]] = [[] for _ in wanted]
        row_numbers: list[int] = []
        quarantine: list[QuarantineRow] = []
        number = self.next_row - 1
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
                (header[i] for i, value in enumerate(record) if has_bad_bytes(value)), None
            )
            if bad:
                quarantine.append((source.name, name, number, "ingest", "bad_encoding", bad))
                continue
            row_numbers.append(number)
            for out, index in zip(columns, wanted, strict=True):
                out.append(record[index])
        self.next_row = number
        raw = pl.DataFrame(
            {"_row": pl.Series(row_numbers, dtype=pl.Int64)}
            | {
                col: pl.Series(vals, dtype=pl.String)
                for col, vals in zip(source.columns, columns, strict=True)
            }
        )
        return raw, quarantine


def _arrow_csv(utf8: bytes, header: list[str], source: SourceConfig, skip: int) -> pa.Table | None:
    # pyarrow, unlike polars, refuses a row with too few fields instead of padding it.
    try:
        return pa_csv.read_csv(
            io.BytesIO(utf8),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=skip),
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
        return None


def regular_records(data: bytes, delimiter: str) -> int | None:
    """Number of records in ``data``, counted with numpy over the bytes, or ``None`` when it
    has anything the csv module and pyarrow might read differently: NUL bytes, quotes not at
    field boundaries, an unterminated quote, bare CR line ends, blank lines, or a record
    longer than the csv module's field size limit. Field counts are left to pyarrow, which
    rejects ragged rows.
    """
    if not data:
        return 0
    if b"\0" in data or len(delimiter.encode("utf-8")) != 1:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(b == ord('"')) if b'"' in data else np.empty(0, dtype=np.intp)
    if not _quotes_at_boundaries(b, quotes, ord(delimiter)):
        return None
    lf, cr = ord("\n"), ord("\r")
    bare_cr = _outside(quotes, np.flatnonzero(b == cr)) if b"\r" in data else quotes[:0]
    if bare_cr.size and (bare_cr[-1] == b.size - 1 or np.any(b[bare_cr + 1] != lf)):
        return None
    ends = _outside(quotes, np.flatnonzero(b == lf))
    if b[-1] != lf:
        ends = np.append(ends, b.size)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (b[np.minimum(starts, b.size - 1)] == cr))
    if bool(blank.any()) or int(lengths.max()) > csv.field_size_limit():
        return None
    return int(ends.size)


def check_header(header: list[str], source: SourceConfig, name: str) -> None:
    """Every problem of a header at once: bad bytes, empty, duplicate or missing names."""
    problems = []
    if any(has_bad_bytes(h) for h in header):
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
