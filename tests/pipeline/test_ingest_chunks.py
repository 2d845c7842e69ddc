"""Ingest in chunks reads exactly what reading each file in one piece reads.

Differential tests: every file is read with chunks of a few bytes (CSV) or rows (Parquet) and
in one piece, and the rows and quarantine must be equal, row numbers included. The generated
CSV files mix clean records with everything that makes cutting a file hard: quoted line ends,
doubled quotes, stray quotes, ragged rows, blank lines, CRLF and bare CR, undecodable bytes and
a byte-order mark.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipeline.config import SourceConfig
from pipeline.errors import DataError
from pipeline.ingest import Chunking, IngestResult, ingest_chunks, ingest_file
from pipeline.ingest_csv import record_blocks
from tests.pipeline.test_ingest_fast_path import HEADER, csv_text, source

WHOLE = Chunking(csv_bytes=1 << 30, parquet_rows=1 << 30)


def assert_same(chunked: IngestResult, whole: IngestResult) -> None:
    assert_frame_equal(chunked.rows, whole.rows)
    assert_frame_equal(chunked.quarantine, whole.quarantine)


def read(path: Path, config: SourceConfig, chunking: Chunking) -> IngestResult:
    return ingest_file(path, config, chunking=chunking)


@given(
    text=csv_text(),
    block=st.integers(1, 40),
    damage=st.sampled_from(["none", "bom", "bad_byte"]),
)
def test_csv_read_in_blocks_of_any_size_matches_one_piece(
    text: str, block: int, damage: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = text.encode("utf-8")
    if damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "bad_byte" and len(data) > len(HEADER) + 2:
        data = data[: len(HEADER) + 2] + b"\xff" + data[len(HEADER) + 2 :]
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(data)
    config = source(encoding="utf-8-sig" if damage == "bom" else "utf-8")
    try:
        whole = read(path, config, WHOLE)
    except DataError as exc:  # e.g. a header broken by the damage: the same error in blocks
        with pytest.raises(DataError) as chunked_error:
            read(path, config, Chunking(csv_bytes=block))
        assert str(chunked_error.value) == str(exc)
        return
    assert_same(read(path, config, Chunking(csv_bytes=block)), whole)


def test_blocks_end_where_records_end_and_add_up_to_the_file() -> None:
    data = (
        f"{HEADER}\n"
        + "".join(f'{i},"two\nlines, ""quoted""",1970-01-01,A,x\r\n' for i in range(50))
    ).encode()
    blocks = list(record_blocks(io.BytesIO(data), 64, ","))
    assert len(blocks) > 10 and b"".join(blocks) == data
    for block in blocks[:-1]:
        assert block.endswith(b"\r\n") or block == f"{HEADER}\n".encode()
        assert block.count(b'"') % 2 == 0  # never inside a quoted field


def test_an_irregular_stretch_keeps_the_rest_of_the_file_in_one_block() -> None:
    clean = "".join(f"{i},a,,,\n" for i in range(40))
    data = f'{HEADER}\n{clean}1,a"b,"c\n,,\n{clean}'.encode()
    blocks = list(record_blocks(io.BytesIO(data), 32, ","))
    assert b"".join(blocks) == data
    stray = next(i for i, b in enumerate(blocks) if b'a"b' in b)
    assert stray == len(blocks) - 1  # nothing after the stray quote was cut


def test_a_large_csv_in_many_chunks_keeps_row_numbers_and_quarantine(tmp_path: Path) -> None:
    lines = [HEADER]
    for i in range(2000):
        if i % 97 == 0:
            lines.append(f"{i},short")  # ragged
        elif i % 89 == 0:
            lines.append(f'{i},"multi\nline",1970-01-0{i % 9 + 1},A,x')
        else:
            lines.append(f"{i},name{i},1970-13-01,B,y" if i % 83 == 0 else f"{i},n{i},,B,y")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = list(ingest_chunks(path, source(), chunking=Chunking(csv_bytes=1024)))
    assert len(chunks) > 20
    whole = read(path, source(), WHOLE)
    assert_same(read(path, source(), Chunking(csv_bytes=1024)), whole)
    assert whole.quarantine["reason"].value_counts().sort("reason").rows() == [
        ("bad_date", 24),
        ("ragged_row", 21),
    ]


def test_parquet_in_row_chunks_matches_one_piece(tmp_path: Path) -> None:
    import datetime as dt

    n = 1001
    path = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "nhs": [str(4000000004 + i) for i in range(n)],
            "name": [None if i % 7 == 0 else f"n{i}" for i in range(n)],
            "dob": [dt.date(1970, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "eth": [float("nan") if i % 5 == 0 else float(i) for i in range(n)],
        }
    ).write_parquet(path, row_group_size=64)
    config = source(format="parquet")
    chunks = list(ingest_chunks(path, config, chunking=Chunking(parquet_rows=100)))
    assert [c.rows.height for c in chunks] == [100] * 10 + [1]
    whole = read(path, config, WHOLE)
    assert_same(read(path, config, Chunking(parquet_rows=100)), whole)
    assert whole.rows["_row"].to_list() == list(range(1, n + 1))


def test_bad_rows_error_counts_every_chunk(tmp_path: Path) -> None:
    body = "".join(f"{i},a,1970-13-01,,\n" for i in range(30))
    path = tmp_path / "in.csv"
    path.write_text(f"{HEADER}\n{body}", encoding="utf-8")
    config = source(on_bad_rows="error")
    with pytest.raises(DataError) as whole:
        read(path, config, WHOLE)
    with pytest.raises(DataError) as chunked:
        read(path, config, Chunking(csv_bytes=50))
    assert str(chunked.value) == str(whole.value)
    assert str(whole.value).startswith("30 bad rows") and "... and 10 more" in str(whole.value)
