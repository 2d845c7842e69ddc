"""The one table reader (pipeline/io.py): formats, column subsets, headers, truth files, and
errors that name the file and the problem, never a value."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import ConfigError, DataError
from pipeline.io import read_bytes, read_header, read_table, read_truth, table_format
from tests.pipeline._unreadable import deny_reading

SECRET = "4000000004"  # a value that must never reach a message


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_csv_is_text_unless_inference_is_asked_for(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"id,n\n0012,3\n0450,4\n")
    text = read_table(path)
    assert text.schema == {"id": pl.String, "n": pl.String}
    assert text["id"].to_list() == ["0012", "0450"]
    inferred = read_table(path, infer_schema=True)
    assert inferred["id"].to_list() == [12, 450] and inferred["n"].dtype.is_integer()


def test_column_subset_parquet_and_explicit_format(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]})
    for name in ("t.parquet", "t.pq"):
        frame.write_parquet(tmp_path / name)
        assert read_table(tmp_path / name, columns=["c", "a"]).columns == ["c", "a"]
    odd = tmp_path / "t.dat"
    frame.write_csv(odd)
    assert table_format(odd, "csv") == "csv"
    assert read_table(odd, file_format="csv", columns=["b", "b"])["b"].to_list() == ["x", "y"]


def test_unsupported_extension_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"x\.xlsx: unsupported file type '\.xlsx'"):
        read_table(tmp_path / "x.xlsx")
    with pytest.raises(ConfigError, match="unsupported file type"):
        read_header(tmp_path / "noext")


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("ragged.csv", f"a,b\n{SECRET},2\n3,4,{SECRET}\n".encode(), "more fields than the header"),
        ("bytes.csv", f"a,b\n{SECRET},\xff\n".encode("latin-1"), "not valid UTF-8"),
        ("empty.csv", b"", "file is empty"),
        ("quote.csv", f'a,b\n"{SECRET},2\n'.encode(), "malformed CSV"),
        ("junk.parquet", f"{SECRET} not parquet".encode(), "not a Parquet file"),
    ],
)
def test_malformed_files_name_the_problem_not_the_value(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(DataError) as raised:
        read_table(path, label=f"inputs[0]: {name}")
    message = str(raised.value)
    assert message.startswith(f"inputs[0]: {name}: ") and problem in message
    assert SECRET not in message


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", f"a,b\n{SECRET},1\n".encode())
    with pytest.raises(DataError, match=r"a\.csv: missing column\(s\) x, y") as raised:
        read_table(path, columns=["a", "x", "y"])
    assert SECRET not in str(raised.value)
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "p.parquet")
    with pytest.raises(DataError, match=r"p\.parquet: missing column\(s\) z"):
        read_table(tmp_path / "p.parquet", columns=["z"])


def test_missing_directory_and_unreadable_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match=r"^absent\.csv: file not found$"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(DataError, match=r"folder\.parquet: is a directory"):
        read_header(tmp_path / "folder.parquet")
    locked = write(tmp_path, "locked.csv", f"a\n{SECRET}\n".encode())
    deny_reading(monkeypatch, locked)
    for read in (read_table, read_header, read_bytes):
        with pytest.raises(DataError, match=r"^locked\.csv: permission denied") as raised:
            read(locked)
        assert SECRET not in str(raised.value)
        assert pickle.loads(pickle.dumps(raised.value)).args == raised.value.args


def test_header_reads_only_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", b"id,name\n1,2,3,4\n\xff\xfe\n")
    assert read_header(path) == ["id", "name"]
    pl.DataFrame({"x": [1], "y": ["a"]}).write_parquet(tmp_path / "h.parquet")
    assert read_header(tmp_path / "h.parquet") == ["x", "y"]


def test_read_truth_renames_to_text_and_lists_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "truth.parquet"
    pl.DataFrame({"left": [1, 2], "right": ["b", "c"], "other": [0, 0]}).write_parquet(path)
    truth = read_truth(path, {"id_l": "left", "id_r": "right"})
    assert truth.columns == ["id_l", "id_r"] and truth.schema["id_l"] == pl.String
    assert truth.rows() == [("1", "b"), ("2", "c")]
    same = read_truth(path, {"key": "left", "also": "left"})
    assert same["key"].to_list() == same["also"].to_list() == ["1", "2"]
    with pytest.raises(DataError, match=r"truth: truth\.parquet: missing column\(s\) a, b"):
        read_truth(path, {"id_l": "a", "id_r": "b"}, label="truth: truth.parquet")


def test_unreadable_input_through_the_cli_exits_3_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write(tmp_path, "cohort.csv", f"region,id\nN,{SECRET}\n".encode())
    deny_reading(monkeypatch, data)
    result = CliRunner().invoke(
        cli,
        ["check-output", "--data", str(data), "--by", "region", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 3, result.output
    assert "cohort.csv: permission denied" in result.output
    assert "Traceback" not in result.output and SECRET not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
