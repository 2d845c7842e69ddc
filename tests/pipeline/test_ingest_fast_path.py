"""The polars fast path of CSV ingest gives exactly what the careful csv-module path gives.

Differential tests: every file is read twice, once as shipped and once with the fast path
switched off, and the rows and quarantine must be equal. Generated files mix clean rows with
the things the fast path must hand over to the careful path (ragged rows, blank lines, stray
quotes, bare CR line ends, undecodable bytes).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipeline.config import SourceConfig
from pipeline.ingest import IngestResult, ingest_file
from pipeline.ingest_csv import CsvChunkReader

COLUMNS = {
    "nhs": "identifier:nhs",
    "name": "first_name",
    "dob": "date_of_birth",
    "eth": "attribute",
}
HEADER = "nhs,name,dob,eth,unused"


def source(**overrides: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {"name": "s", "path": "x.csv", "columns": COLUMNS, "date_format": "%Y-%m-%d", **overrides}
    )


def read_both(
    path: Path, config: SourceConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[IngestResult, IngestResult, bool]:
    """(fast-path result, careful result, whether the fast path was taken)."""
    taken: list[bool] = []
    real = CsvChunkReader._read_clean

    def spy(self: CsvChunkReader, data: bytes, text: str) -> pl.DataFrame | None:
        frame = real(self, data, text)
        taken.append(frame is not None)
        return frame

    with monkeypatch.context() as m:
        m.setattr(CsvChunkReader, "_read_clean", spy)
        fast = ingest_file(path, config)
    with monkeypatch.context() as m:
        m.setattr(CsvChunkReader, "_read_clean", lambda *_: None)
        careful = ingest_file(path, config)
    return fast, careful, any(taken)


def assert_same(fast: IngestResult, careful: IngestResult) -> None:
    assert_frame_equal(fast.rows, careful.rows)
    assert_frame_equal(fast.quarantine, careful.quarantine)


FIELD = st.text(alphabet='ab é,"\n\r1-', max_size=6)


def needs_quotes(value: str) -> bool:
    return any(c in value for c in ',"\n\r') or value.strip(" ") != value


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    lines = [HEADER]
    irregular = ["short", "long", "blank", "raw"]
    kinds = ["clean"] if draw(st.booleans()) else ["clean", "clean", "clean", *irregular]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(kinds))
        fields = [draw(FIELD) for _ in range(5)]
        if kind == "short":
            fields = fields[:3]
        elif kind == "long":
            fields.append("x")
        if kind == "blank":
            lines.append("")
        elif kind == "raw":  # unquoted: stray quotes, delimiters and line ends as they fall
            lines.append(",".join(fields))
        else:
            lines.append(
                ",".join(quoted(f) if needs_quotes(f) or draw(st.booleans()) else f for f in fields)
            )
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from(["", end]))


@settings(max_examples=150, deadline=None)
@given(text=csv_text())
def test_fast_path_matches_careful_path_on_generated_files(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, careful, _ = read_both(path, source(), monkeypatch)
    assert_same(fast, careful)


CLEAN = (
    f"{HEADER}\n"
    '4000000004," Zebedee ",1970-01-02,A,x\n'
    ',"Smith, ""Jo""",,B,"multi\nline"\n'
    "5000000005,Ann,1970-13-45,,\n"
)


def test_clean_file_takes_the_fast_path_and_keeps_numbers_and_bad_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(CLEAN, encoding="utf-8")
    fast, careful, taken = read_both(path, source(), monkeypatch)
    assert taken
    assert_same(fast, careful)
    assert fast.rows["_row"].to_list() == [2, 3]
    assert fast.rows["first_name"].to_list() == ["Zebedee", 'Smith, "Jo"']
    assert fast.quarantine.select("_row", "reason", "field").rows() == [(4, "bad_date", "dob")]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8-sig", b"\xef\xbb\xbf"), ("latin-1", b"")],
)
def test_encodings_take_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, prefix: bytes
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(prefix + CLEAN.replace("Zebedee", "Zoë").encode(encoding.removesuffix("-sig")))
    fast, careful, taken = read_both(path, source(encoding=encoding), monkeypatch)
    assert taken
    assert_same(fast, careful)
    assert fast.rows["first_name"].to_list()[0] == "Zoë"


@pytest.mark.parametrize(
    "body",
    [
        "1,a,,,\n2,b,\n3,c,,,\n",  # short row
        "1,a,,,\n2,b,,,,extra\n",  # long row
        "1,a,,,\n\n2,b,,,\n",  # blank line
        '1,a"b,,,\n',  # quote inside an unquoted field
        '1,"ab"c,,,\n',  # text after a closing quote
        '1,"unterminated,,,\n2,b,,,\n',
        "1,a,,,\r2,b,,,\r",  # bare CR line ends
        "1,a\x00,,,\n",  # NUL byte
    ],
)
def test_irregular_files_fall_back_and_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"{HEADER}\n{body}", encoding="utf-8")
    fast, careful, taken = read_both(path, source(), monkeypatch)
    assert not taken
    assert_same(fast, careful)


def test_quoted_header_spanning_lines_is_read_the_careful_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in.csv"
    path.write_text('nhs,name,dob,eth,"un\nused"\n1,a,,,\n2,b,,,\n', encoding="utf-8")
    fast, careful, taken = read_both(path, source(), monkeypatch)
    assert not taken
    assert_same(fast, careful)
    assert fast.rows["_row"].to_list() == [2, 3]


def test_undecodable_bytes_fall_back_and_are_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(f"{HEADER}\n1,a,,,\n2,".encode() + b"\xff\xfe" + b",,,\n3,c,,,\n")
    fast, careful, taken = read_both(path, source(), monkeypatch)
    assert not taken
    assert_same(fast, careful)
    assert fast.quarantine.select("_row", "reason", "field").rows() == [(3, "bad_encoding", "name")]


def test_record_longer_than_the_csv_field_limit_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    path = tmp_path / "in.csv"
    path.write_text(f"{HEADER}\n1,{'a' * (csv.field_size_limit() + 1)},,,\n2,b,,,\n")
    fast, careful, taken = read_both(path, source(), monkeypatch)
    assert not taken
    assert_same(fast, careful)
