from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.config import SourceConfig
from pipeline.errors import DataError
from pipeline.ingest import ingest_file, read_header
from tests.pipeline._unreadable import deny_reading

COLUMNS = {
    "nhs": "identifier:nhs",
    "name": "first_name",
    "dob": "date_of_birth",
    "eth": "attribute",
}


def source(**overrides: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {"name": "s", "path": "x.csv", "columns": COLUMNS, **overrides}
    )


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_rows_are_canonical_and_numbered_with_header_as_row_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs,name,dob,eth,unused\n4000000004, Zebedee ,1970-01-02,A,x\n,Yolanda,,B,y\n",
    )
    result = ingest_file(path, source())
    rows = result.rows
    assert rows.columns == [
        "_source",
        "_file",
        "_row",
        "id_nhs",
        "first_name",
        "date_of_birth",
        "eth",
    ]
    assert rows["_row"].to_list() == [2, 3]
    assert rows["_source"].unique().to_list() == ["s"]
    assert rows["first_name"].to_list() == ["Zebedee", "Yolanda"]
    assert rows["id_nhs"].to_list() == ["4000000004", None]
    assert rows["date_of_birth"].dtype == pl.Date
    assert result.quarantine.height == 0


def test_blank_lines_are_not_rows_and_numbers_stay_stable(tmp_path: Path) -> None:
    path = write(tmp_path, "nhs,name,dob,eth\n1,a,,\n\n2,b,,\n")
    assert ingest_file(path, source()).rows["_row"].to_list() == [2, 3]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1"])
def test_configured_encodings(tmp_path: Path, encoding: str) -> None:
    text = "nhs,name,dob,eth\n1,Zoë,,\n"
    data = text.encode("latin-1") if encoding == "latin-1" else b"\xef\xbb\xbf" + text.encode()
    result = ingest_file(write(tmp_path, data), source(encoding=encoding))
    assert result.rows["first_name"].to_list() == ["Zoë"]


def test_bad_bytes_ragged_rows_and_bad_dates_are_quarantined_not_lost(tmp_path: Path) -> None:
    data = (
        b"nhs,name,dob,eth\n"
        b"1,Ann,1970-01-01,A\n"
        b"2,Bj\xf6rn,1970-01-01,A\n"  # latin-1 byte in a utf-8 file
        b"3,Cat,1970-01-01\n"  # ragged: 3 fields
        b"4,Dee,31/02/1970,A\n"  # not a date in the configured format
        b"5,Eve,1970-01-01,A,extra\n"  # ragged: 5 fields
    )
    result = ingest_file(write(tmp_path, data), source())
    assert result.rows["_row"].to_list() == [2]
    q = result.quarantine.sort("_row")
    assert q["_row"].to_list() == [3, 4, 5, 6]
    assert q["reason"].to_list() == ["bad_encoding", "ragged_row", "bad_date", "ragged_row"]
    assert q["field"].to_list() == ["name", None, "dob", None]
    assert result.rows.height + q.height == 5  # nothing lost
    assert not any("Bj" in str(v) or "31/02" in str(v) for v in q.rows())


def test_error_mode_names_file_row_and_field_but_never_the_value(tmp_path: Path) -> None:
    data = b"nhs,name,dob,eth\n1,Bj\xf6rn,1970-01-01,A\n2,Ann,31/02/1970,A\n"
    with pytest.raises(DataError) as info:
        ingest_file(write(tmp_path, data, "hes.csv"), source(on_bad_rows="error"))
    message = str(info.value)
    assert "hes.csv: row 2: field name: bad_encoding" in message
    assert "hes.csv: row 3: field dob: bad_date" in message
    assert "Bj" not in message and "31/02/1970" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "in.csv: file is empty"),
        ("\n\n", "in.csv: file is empty"),
        ("nhs,name,name,dob,eth\n1,a,b,,\n", "row 1: duplicate column 'name'"),
        ("nhs,name,eth\n1,a,b\n", "row 1: missing column 'dob'"),
        ("nhs,,name,dob,eth\n1,a,b,,\n", "row 1: a column has an empty name"),
    ],
)
def test_file_level_problems_raise_data_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        ingest_file(write(tmp_path, text), source())


def test_file_without_a_header_never_quotes_its_first_row(tmp_path: Path) -> None:
    path = write(tmp_path, "4000000004,Quillon,Quillon,1970-01-02\n4000000012,Ann,Bo,\n")
    with pytest.raises(DataError) as info:
        ingest_file(path, source())
    message = str(info.value)
    assert "duplicate column name (columns 2, 3)" in message
    assert "missing column 'nhs'" in message
    for value in ("4000000004", "Quillon", "1970-01-02"):
        assert value not in message


def test_header_without_rows_gives_an_empty_frame(tmp_path: Path) -> None:
    result = ingest_file(write(tmp_path, "nhs,name,dob,eth\n"), source())
    assert result.rows.height == 0 and "id_nhs" in result.rows.columns


def test_parquet_input_with_typed_columns(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "nhs": [4000000004, 4000000012],
            "name": ["Ann", None],
            "dob": [dt.date(1970, 1, 2), None],
            "eth": ["A", "B"],
        }
    ).write_parquet(path)
    result = ingest_file(path, source(format="parquet"))
    assert result.rows["_row"].to_list() == [1, 2]
    assert result.rows["id_nhs"].to_list() == ["4000000004", "4000000012"]
    assert result.rows["date_of_birth"].to_list() == [dt.date(1970, 1, 2), None]
    assert read_header(path, source(format="parquet")) == ["nhs", "name", "dob", "eth"]


def test_parquet_wrong_types_and_corrupt_files(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pl.DataFrame(
        {"nhs": [[1, 2]], "name": ["a"], "dob": ["1970-01-01"], "eth": ["A"]}
    ).write_parquet(path)
    with pytest.raises(DataError, match="field nhs: column type"):
        ingest_file(path, source(format="parquet"))
    junk = write(tmp_path, b"not parquet at all", "junk.parquet")
    with pytest.raises(DataError, match=r"junk\.parquet: not a Parquet file, or a damaged one"):
        ingest_file(junk, source(format="parquet"))


def test_read_header_reads_only_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, b"nhs,name,dob,eth\n1,\xff\xfe,broken\n")
    assert read_header(path, source()) == ["nhs", "name", "dob", "eth"]
    with pytest.raises(DataError, match="row 1: header is not valid utf-8"):
        read_header(write(tmp_path, b"nh\xffs,name\n", "b.csv"), source())


def test_missing_and_unreadable_files_are_data_errors_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match=r"^gp/absent\.csv: file not found$"):
        ingest_file(tmp_path / "absent.csv", source(), file_name="gp/absent.csv")
    for fmt, name in (("csv", "locked.csv"), ("parquet", "locked.parquet")):
        path = tmp_path / name
        pl.DataFrame({c: ["4000000004"] for c in COLUMNS}).write_csv(path)
        deny_reading(monkeypatch, path)
        for read in (ingest_file, read_header):
            with pytest.raises(DataError, match=rf"^{name}: permission denied") as raised:
                read(path, source(format=fmt))
            assert "4000000004" not in str(raised.value)
