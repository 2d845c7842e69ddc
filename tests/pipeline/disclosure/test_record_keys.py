"""Record keys read from files for ``--cell-key``: CSV keys load as Int64 and are cast to the
type the cell-key method needs (UInt8, or UInt16 for a 4096-key p-table), after checking
every key is a whole number in range. Errors name the column and rows, never a key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.disclosure import (
    TableCheckSettings,
    TableSpec,
    TableSpecError,
    cast_record_keys,
    check_table,
    ons_10_5_ptable,
)
from pipeline.errors import EXIT_CONFIG

VECTORS = Path(__file__).parents[2] / "vectors" / "disclosure"
ONS_MICRO = VECTORS / "ons_ckp_micro.csv"  # ONS's R worked example, record_key 0-255
ONS_PTABLE = VECTORS / "ons_ptable_10_5_rule.csv.xz"


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-output", *args])
    return result.exit_code, result.output


def _microdata(seed: int = 7, n: int = 600, keys: int = 256) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "region": rng.choice(["N", "S", "E", "W", "Isles"], n, p=[0.3, 0.3, 0.2, 0.18, 0.02]),
            "sex": rng.choice(["F", "M"], n),
            "rk": pl.Series(rng.integers(0, keys, n)).cast(pl.UInt8 if keys <= 256 else pl.UInt16),
        }
    )


@pytest.mark.parametrize("ptable", ["generated", "ons-10-5", str(ONS_PTABLE)])
def test_csv_and_parquet_record_keys_give_identical_perturbed_tables(
    tmp_path: Path, ptable: str
) -> None:
    df = _microdata()
    df.write_parquet(tmp_path / "m.parquet")
    df.write_csv(tmp_path / "m.csv")
    assert pl.read_csv(tmp_path / "m.csv")["rk"].dtype == pl.Int64  # what used to fail
    tables = []
    for name in ("m.csv", "m.parquet"):
        out = tmp_path / f"out-{name}"
        args = ["--data", str(tmp_path / name), "--by", "region", "--by", "sex"]
        code, output = _run([*args, "--cell-key", "rk", "--ptable", ptable, "--out", str(out)])
        assert code == 0, output
        tables.append(pl.read_parquet(out / "table.parquet"))
    assert tables[0].equals(tables[1])
    # The table is perturbed and matches the library on the UInt8 keys.
    settings = TableCheckSettings(cell_key_column="rk", ptable=ptable)
    expected = check_table(df, TableSpec(("region", "sex")), settings).published_table()
    assert tables[0].equals(expected)


def test_ons_worked_example_csv_runs_straight_from_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _run(["--data", str(ONS_MICRO), "--by", "var1", "--cell-key", "record_key",
                         "--ptable", "ons-10-5", "--no-margins", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    published = pl.read_csv(out / "table.csv")["count"].drop_nulls()
    assert published.len() > 0 and (published % 5 == 0).all()


def test_cast_record_keys_types_and_ranges() -> None:
    df = pl.DataFrame({"k": [0, 255, 17], "other": ["a", "b", "c"]})
    assert cast_record_keys(df, "k").schema["k"] == pl.UInt8
    assert cast_record_keys(df, "k").get_column("k").to_list() == [0, 255, 17]
    as_text = pl.DataFrame({"k": ["0", "4095", " 12 "]}).with_columns(pl.col("k").str.strip_chars())
    wide = cast_record_keys(as_text, "k", 4096)
    assert wide.schema["k"] == pl.UInt16 and wide["k"].to_list() == [0, 4095, 12]
    floats = pl.DataFrame({"k": [3.0, 200.0]})
    assert cast_record_keys(floats, "k")["k"].to_list() == [3, 200]
    with pytest.raises(TableSpecError, match=r"'k': outside 0-255 in row 2$"):
        cast_record_keys(pl.DataFrame({"k": [3, 4095]}), "k")
    with pytest.raises(TableSpecError, match="not in the data"):
        cast_record_keys(df, "key")


def test_4096_key_ptable_with_csv_keys(tmp_path: Path) -> None:
    df = _microdata(keys=4096)
    df.write_csv(tmp_path / "m.csv")
    wide = ons_10_5_ptable(keys=4096)
    ptable = tmp_path / "ptable4096.parquet"
    wide.to_frame().write_parquet(ptable)
    out = tmp_path / "out"
    code, output = _run(["--data", str(tmp_path / "m.csv"), "--by", "region", "--cell-key", "rk",
                         "--ptable", str(ptable), "--out", str(out)])  # fmt: skip
    assert code == 0, output
    settings = TableCheckSettings(cell_key_column="rk")
    expected = check_table(df, TableSpec(("region",)), settings, ptable=wide).published_table()
    assert pl.read_parquet(out / "table.parquet").equals(expected)


@pytest.mark.parametrize(
    "keys,message",
    [
        ([12, 7777, 40, 9999], "record key column 'rk': outside 0-255 in rows 2, 4"),
        ([12, None, 40, -8888], "null or not a whole number in row 2; outside 0-255 in row 4"),
        (["12", "seven", "40", "2.5"], "null or not a whole number in rows 2, 4"),
    ],
)
def test_bad_record_keys_name_column_and_rows_never_values(
    tmp_path: Path, keys: list[object], message: str
) -> None:
    data = tmp_path / "bad.csv"
    good: list[object] = ["1"] * 26 if isinstance(keys[0], str) else [1] * 26
    df = pl.DataFrame({"region": ["N", "S"] * 15, "rk": keys + good}, strict=False)
    df.write_csv(data)
    out = tmp_path / "out"
    code, output = _run(["--data", str(data), "--by", "region", "--cell-key", "rk",
                         "--out", str(out)])  # fmt: skip
    assert code == EXIT_CONFIG and message in output and "bad.csv" in output
    for value in ("7777", "9999", "8888", "seven", "2.5"):
        assert value not in output
    assert not out.exists()


def test_null_keys_are_refused_by_the_library_too() -> None:
    df = pl.DataFrame({"g": ["a"] * 12, "rk": pl.Series([1] * 10 + [None, 2], dtype=pl.UInt8)})
    with pytest.raises(TableSpecError, match=r"'rk' is null in row 11$"):
        check_table(df, TableSpec(("g",)), TableCheckSettings(cell_key_column="rk"))
