"""Cell-key perturbation: cell keys, the generated p-table's design, same cell same noise, and
ONS's published p-table format and lookup.

Sources (provenance and checksums in tests/vectors/disclosure/ons_cell_key_perturbation.md):

- ONS ``cell_key_perturbation`` (PyPI; github.com/ONSdigital/cell-key-perturbation, MIT):
  ``ptable_10_5_rule.csv`` from the 3.1.0 wheel, copied verbatim as
  ``ons_ptable_10_5_rule.csv.xz``; the lookup in ``create_perturbed_table.py`` (pcv = count up
  to 750, else ((count - 1) mod 250) + 501; cell key = sum of record keys mod (largest ckey + 1);
  counts below ``threshold`` withheld after perturbation).
- ONS User Notes, ``documentation/User_Notes_cell_key_perturbation_py.md`` ("Statistical Method
  User Notes -- Cell Key Perturbation"): worked pcv values 4072 -> 572, 3985 -> 735,
  2390 -> 640, 2276 -> 526, and "751, 1001, 1251 ... have a pcv of 501".
- ONS ``cellkeyperturbation`` R package (github.com/ONSdigital/cell-key-perturbation-R, MIT),
  ``tests/testthat/micro.csv`` and ``perturbed_table_var1_var5_var8.csv`` at commit e84741de:
  1,000 records and the expected perturbed 200-cell table, copied verbatim.
- The installed ``cell_key_perturbation`` package itself (a test dependency), run beside
  ``check_table`` on random tables with random cell-key-dependent p-tables.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import pickle
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.disclosure import (
    PerturbationTable,
    PerturbationTableError,
    TableCheckSettings,
    TableSpec,
    TableSpecError,
    check_table,
    load_ptable,
    make_ptable,
    ons_10_5_ptable,
)
from pipeline.disclosure.cellkey import KEYS, cell_key
from pipeline.errors import EXIT_CONFIG

VECTORS = Path(__file__).parents[2] / "vectors" / "disclosure"
ONS_PTABLE = VECTORS / "ons_ptable_10_5_rule.csv.xz"
ONS_PTABLE_SHA256 = "05d8eccca94b6943f8b36484a36918dc41025ee8151293923a46e5c837843751"
ONS_MICRO = VECTORS / "ons_ckp_micro.csv"
ONS_EXPECTED = VECTORS / "ons_ckp_expected_var1_var5_var8.csv"
BY = ("var1", "var5", "var8")


def test_cell_key_is_sum_of_record_keys_mod_256() -> None:
    assert cell_key([200, 100, 3]) == 47  # 303 mod 256
    assert cell_key([255]) == 255
    assert cell_key([]) == 0
    assert cell_key([4000, 100], keys=4096) == 4  # ONS's 4096-key range for admin data


@pytest.mark.parametrize("max_noise,variance,js", [(2, 1.05, 1), (3, 2.0, 2), (5, 4.0, 0)])
def test_generated_ptable_meets_its_design(max_noise: int, variance: float, js: int) -> None:
    table = make_ptable(max_noise, variance, js)
    rows = table.noise.shape[0]
    for value in range(rows + 5):
        out = table.perturb(np.full(KEYS, value), np.arange(KEYS))
        noise = out - value
        assert np.abs(noise).max() <= max_noise
        assert out.min() >= 0
        if value == 0:
            assert (out == 0).all()  # zeros stay zero
        else:
            assert not ((out > 0) & (out <= js)).any()  # small values never published
    for mean, var in table.row_moments()[max_noise + js + 1 :]:
        # Full-support rows: unbiased up to the 1/256 quantisation, variance close to V.
        assert abs(mean) <= max_noise / KEYS + 1e-12
        assert var == pytest.approx(variance, abs=0.1)  # 256-key quantisation moves it
    for mean, _ in table.row_moments():
        assert abs(mean) <= 0.05


def test_same_cell_gets_same_noise_in_every_table() -> None:
    rng = np.random.default_rng(5)
    n = 600
    df = pl.DataFrame(
        {
            "region": rng.choice(["N", "S", "E", "W"], n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["young", "old"], n),
            "rk": pl.Series(rng.integers(0, 256, n), dtype=pl.UInt8),
        }
    )
    settings = TableCheckSettings(cell_key_column="rk", threshold=1)
    one_way = check_table(df, TableSpec(("region",)), settings).cells
    two_way = check_table(df, TableSpec(("region", "sex")), settings).cells
    three_way = check_table(df, TableSpec(("age", "region")), settings).cells
    for region in ["N", "S", "E", "W"]:
        a = one_way.filter(pl.col("region") == region)["published"].item()
        b = two_way.filter((pl.col("region") == region) & (pl.col("sex") == "Total"))
        c = three_way.filter((pl.col("region") == region) & (pl.col("age") == "Total"))
        assert a == b["published"].item() == c["published"].item()
    # The noise is real (some cells change) and bounded by the p-table's D.
    diff = (one_way["published"] - one_way["n"]).abs()
    assert diff.max() <= 2 and (two_way["published"] != two_way["n"]).any()


def test_cell_key_rejects_non_uint8_keys_and_non_count_tables() -> None:
    df = pl.DataFrame({"g": ["a"] * 12, "rk": list(range(12)), "v": [1.0] * 12})
    with pytest.raises(TableSpecError, match="UInt8"):
        check_table(df, TableSpec(("g",)), TableCheckSettings(cell_key_column="rk"))
    with pytest.raises(TableSpecError, match="count tables only"):
        check_table(df, TableSpec(("g",), "sum", "v"), TableCheckSettings(cell_key_column="rk"))


# --- ONS's published p-table and worked example ------------------------------------------


def test_vendored_ons_ptable_is_the_published_file() -> None:
    raw = lzma.decompress(ONS_PTABLE.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == ONS_PTABLE_SHA256
    assert raw.splitlines()[0] == b'"pcv","ckey","pvalue"' and len(raw.splitlines()) == 192_001


def test_ons_10_5_rule_rebuilt_in_code_equals_the_published_table() -> None:
    published = load_ptable(ONS_PTABLE)
    assert published.wrap == "ons" and published.keys == 256
    assert published.source == "ons_ptable_10_5_rule.csv.xz"
    assert np.array_equal(published.noise, ons_10_5_ptable().noise)
    # The rule as ONS documents it: under 10 removed, the rest to the nearest 5.
    values = np.arange(0, 5000)
    out = published.perturb(values, np.zeros_like(values))
    expected = np.where(values < 10, 0, 5 * np.round(values / 5))
    assert np.array_equal(out, expected)


def test_ons_pcv_known_answers_from_the_user_notes() -> None:
    table = ons_10_5_ptable()
    worked = {4072: 572, 3985: 735, 2390: 640, 2276: 526}  # User Notes output table
    looping = {751: 501, 1001: 501, 1251: 501, 752: 502, 1002: 502}  # Method Specification
    plain = {0: 0, 1: 1, 500: 500, 750: 750, 1000: 750}
    cases = worked | looping | plain
    assert dict(zip(cases, table.rows_for(list(cases)).tolist(), strict=True)) == cases


def _ons_micro() -> pl.DataFrame:
    return pl.read_csv(ONS_MICRO).with_columns(pl.col("record_key").cast(pl.UInt8))


@pytest.mark.parametrize("ptable", ["ons-10-5", str(ONS_PTABLE)])
def test_ons_worked_example_known_answers(ptable: str) -> None:
    """ONS's R test: the same 200 cells, counts, cell keys, pcv and pvalues; published counts
    as ONS's Python package publishes them with its default threshold of 10."""
    settings = TableCheckSettings(cell_key_column="record_key", ptable=ptable)
    result = check_table(_ons_micro(), TableSpec(BY, margins=False), settings)
    expected = pl.read_csv(ONS_EXPECTED).with_columns(pl.col(c).cast(pl.String) for c in BY)
    cells = result.cells.join(expected, on=list(BY), how="full", coalesce=True)
    assert cells.height == expected.height == 200  # every cell, empty ones included
    assert cells["n"].to_list() == cells["rs_cv"].to_list()
    assert cells["cell_key"].cast(pl.Int64).to_list() == cells["ckey"].to_list()
    table = ons_10_5_ptable()
    n = cells["n"].to_numpy()
    assert table.rows_for(n).tolist() == cells["pcv"].to_list()
    assert (table.perturb(n, cells["cell_key"].to_numpy()) - n).tolist() == cells[
        "pvalue"
    ].to_list()
    published = [None if c < 10 else c for c in cells["count"].to_list()]
    assert cells["published"].cast(pl.Int64).to_list() == published
    assert any(p is not None for p in published) and None in published
    assert any("ptable" in note or "p-table" in note for note in result.notes)


# --- Cross-check against ONS's own package -------------------------------------------------


def _ons_package() -> Callable[..., Any]:
    try:
        from cell_key_perturbation.create_perturbed_table import create_perturbed_table
    except ImportError as exc:  # a test dependency: fail loudly, not skip
        raise AssertionError(
            "cross-check needs ONS's package: pip install 'cell_key_perturbation==3.1.0'"
        ) from exc
    return create_perturbed_table


def _random_ptable(rng: np.random.Generator, keys: int) -> pl.DataFrame:
    pcv = np.repeat(np.arange(1, 751), keys)
    ckey = np.tile(np.arange(keys), 750)
    pvalue = np.maximum(rng.integers(-3, 4, pcv.size), -pcv)  # never below zero
    order = rng.permutation(pcv.size)  # ONS merges on (pcv, ckey): row order is irrelevant
    return pl.DataFrame({"pcv": pcv[order], "ckey": ckey[order], "pvalue": pvalue[order]})


def _random_microdata(rng: np.random.Generator, n: int, keys: int) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            # Skewed categories: cells from empty to well above 750 (ONS's wrap-around rows).
            "region": rng.choice(["N", "S", "E", "W", "X"], n, p=[0.55, 0.3, 0.1, 0.04, 0.01]),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["0-15", "16-64", "65+", "90+"], n, p=[0.2, 0.6, 0.19, 0.01]),
            "rk": pl.Series(rng.integers(0, keys, n), dtype=pl.UInt8 if keys == 256 else pl.UInt16),
        }
    )
    return frame.filter((pl.col("region") != "X") | (pl.col("age") != "90+"))  # empty cells


def _compare_with_ons(
    df: pl.DataFrame, ptable: pl.DataFrame, threshold: int, ours: pl.DataFrame
) -> None:
    create_perturbed_table = _ons_package()
    by = ["region", "sex", "age"]
    theirs = pl.from_pandas(
        create_perturbed_table(
            data=df.to_pandas(), ptable=ptable.to_pandas(), geog=[], tab_vars=by,
            record_key="rk", threshold=threshold,
        )
    ).select(*by, "pre_sdc_count", "ckey", "pvalue", pl.col("count").cast(pl.Int64))  # fmt: skip
    cells = ours.join(theirs, on=by, how="full", coalesce=True)
    assert cells.height == ours.height == theirs.height
    assert (cells["n"] == cells["pre_sdc_count"]).all()
    assert (cells["cell_key"].cast(pl.Int64) == cells["ckey"]).all()
    assert cells["n"].max() > 750 and (cells["n"] == 0).any()  # the wrap and empty cells ran
    # Where pprl's own threshold (on the unperturbed count) passes a cell, pprl publishes
    # exactly what ONS publishes, withheld included; below it pprl always withholds.
    passed = cells.filter(pl.col("n") >= threshold)
    assert passed["published"].cast(pl.Int64).to_list() == passed["count"].to_list()
    assert cells.filter(pl.col("n") < threshold)["published"].null_count() == (
        cells.filter(pl.col("n") < threshold).height
    )


@pytest.mark.parametrize("seed", range(4))
def test_same_perturbed_counts_as_ons_package_on_random_tables(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    df = _random_microdata(rng, 12_000, 256)
    ptable = _random_ptable(rng, 256)
    threshold = [1, 5, 10, 10][seed]
    path = tmp_path / "ptable.csv"
    ptable.write_csv(path)
    settings = TableCheckSettings(cell_key_column="rk", threshold=threshold, ptable=str(path))
    ours = check_table(df, TableSpec(("region", "sex", "age"), margins=False), settings)
    assert ours.cells["published"].is_not_null().sum() > 10
    _compare_with_ons(df, ptable, threshold, ours.cells)


def test_same_perturbed_counts_as_ons_package_with_4096_keys() -> None:
    rng = np.random.default_rng(99)
    df = _random_microdata(rng, 12_000, 4096)
    ptable = _random_ptable(rng, 4096)
    table = PerturbationTable.from_frame(ptable)
    assert table.keys == 4096
    ours = check_table(
        df, TableSpec(("region", "sex", "age"), margins=False),
        TableCheckSettings(cell_key_column="rk", threshold=10), ptable=table,
    )  # fmt: skip
    _compare_with_ons(df, ptable, 10, ours.cells)


def test_generated_ptable_in_ons_format_gives_ons_package_the_same_counts() -> None:
    """Our generated table, exported in ONS format, perturbs identically under ONS's code."""
    rng = np.random.default_rng(7)
    df = _random_microdata(rng, 12_000, 256)
    generated = make_ptable()
    frame = generated.to_frame()
    assert frame.height == 750 * 256
    again = PerturbationTable.from_frame(frame)
    values = np.repeat(np.arange(0, 3000), KEYS)
    keys = np.tile(np.arange(KEYS), 3000)
    assert np.array_equal(generated.perturb(values, keys), again.perturb(values, keys))
    ours = check_table(
        df, TableSpec(("region", "sex", "age"), margins=False),
        TableCheckSettings(cell_key_column="rk", threshold=10), ptable=generated,
    )  # fmt: skip
    _compare_with_ons(df, frame, 10, ours.cells)


# --- Properties: the same cell always gets the same noise ----------------------------------

TABLES = st.sampled_from(["generated", "ons-10-5", "random"])


@cache
def _table(kind: str) -> PerturbationTable:
    if kind == "random":
        return PerturbationTable.from_frame(_random_ptable(np.random.default_rng(3), 256))
    return make_ptable() if kind == "generated" else ons_10_5_ptable()


@given(
    kind=TABLES,
    keys=st.lists(st.integers(0, 255), min_size=0, max_size=3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_noise_depends_only_on_the_cell_not_record_order(
    kind: str, keys: list[int], seed: int
) -> None:
    table = _table(kind)
    shuffled = np.random.default_rng(seed).permutation(np.array(keys, dtype=np.int64))
    k1, k2 = cell_key(keys), cell_key(shuffled)
    assert k1 == k2
    first = table.perturb([len(keys)], [k1])
    assert np.array_equal(first, table.perturb([len(keys)], [k2]))
    assert first[0] >= 0 and (len(keys) > 0 or first[0] == 0)


@given(kind=TABLES, value=st.integers(501, 10**6), key=st.integers(0, 255))
def test_counts_250_apart_above_500_share_ons_noise(kind: str, value: int, key: int) -> None:
    table = _table(kind)
    if table.wrap == "ons":
        assert table.rows_for([value])[0] == table.rows_for([value + 250])[0]
    noise = table.perturb([value, value + 250], [key, key]) - [value, value + 250]
    assert noise[0] == noise[1]


@given(
    kind=TABLES,
    rows=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("xy"), st.integers(0, 255)),
        min_size=1,
        max_size=300,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_same_cell_same_published_count_whatever_the_table(
    kind: str, rows: list[tuple[str, str, int]], seed: int
) -> None:
    df = pl.DataFrame(rows, schema=["g", "h", "rk"], orient="row").with_columns(
        pl.col("rk").cast(pl.UInt8)
    )
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=seed)
    table = _table(kind)
    settings = TableCheckSettings(cell_key_column="rk", threshold=1, zeros_are_disclosive=False)
    one = check_table(df, TableSpec(("g",), margins=False), settings, ptable=table).cells
    two = check_table(shuffled, TableSpec(("h", "g")), settings, ptable=table).cells
    margin = two.filter(pl.col("h") == "Total").select("g", "published")
    joined = one.select("g", "published").join(margin, on="g", suffix="_two")
    assert joined.height == one.height
    assert joined["published"].to_list() == joined["published_two"].to_list()


# --- Loading: validation names file, field and rows, never a value -------------------------


def _valid_frame() -> pl.DataFrame:
    return ons_10_5_ptable().to_frame()


def _with(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    values = frame[column].to_list()
    values[row] = value
    return frame.with_columns(pl.Series(column, values, strict=False))


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda f: f.drop("pvalue"), "missing column(s) ['pvalue']"),
        (lambda f: _with(f.cast({"pvalue": pl.Float64}), 7, "pvalue", 12.75), "row 8"),
        (lambda f: _with(f.cast({"ckey": pl.String}), 3, "ckey", "seventeen"), "ckey: not a"),
        (lambda f: _with(f, 2, "pvalue", None), "pvalue: not a whole number in row 3"),
        (lambda f: _with(f, 0, "pcv", 7777), "pcv: outside 1-750 in row 1"),
        (lambda f: _with(f, 256 * 20, "pvalue", -22), "pvalue: makes the count negative"),
        (lambda f: f.filter(pl.col("ckey") < 255), "largest cell key must be 255 or 4095"),
        (lambda f: _with(f, 5, "ckey", 4), "pair repeated in row 6"),
        (lambda f: f.filter(pl.col("pcv") != 42), "256 of 192000 pairs missing (first: pcv 42"),
    ],
)
def test_malformed_ptable_errors_name_field_and_row(
    mutate: Any, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad_ptable.parquet"
    mutate(_valid_frame()).write_parquet(path)
    with pytest.raises(PerturbationTableError) as caught:
        load_ptable(path)
    message = str(caught.value)
    assert message.startswith("bad_ptable.parquet: ") and expected in message
    for value in ("12.75", "seventeen", "7777", "-22"):
        assert value not in message  # table values are never quoted
    assert caught.value.exit_code == EXIT_CONFIG and isinstance(caught.value, ValueError)


def test_every_ptable_problem_is_reported_at_once_and_errors_pickle() -> None:
    frame = _with(_with(_valid_frame(), 0, "pcv", 7777), 9, "ckey", -1)
    with pytest.raises(PerturbationTableError) as caught:
        PerturbationTable.from_frame(frame, source="two.csv")
    assert len(caught.value.problems) == 2 and "2 problems" in str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.source == "two.csv"


def test_load_ptable_formats_and_unreadable_files(tmp_path: Path) -> None:
    frame = _valid_frame()
    frame.write_csv(tmp_path / "p.csv")
    (tmp_path / "p.csv.gz").write_bytes(gzip.compress((tmp_path / "p.csv").read_bytes()))
    frame.write_parquet(tmp_path / "p.parquet")
    for name in ("p.csv", "p.csv.gz", "p.parquet"):
        assert np.array_equal(load_ptable(tmp_path / name).noise, ons_10_5_ptable().noise)
    with pytest.raises(PerturbationTableError, match=r"^nothere\.csv: cannot read"):
        load_ptable(tmp_path / "nothere.csv")
    with pytest.raises(PerturbationTableError, match=r"use a \.csv"):
        load_ptable(tmp_path / "p.xlsx")


def test_ptable_setting_needs_cell_keys_and_4096_tables_need_uint16_keys() -> None:
    with pytest.raises(ValueError, match="set cell_key_column"):
        TableCheckSettings(ptable="ons-10-5")
    df = _ons_micro()  # UInt8 record keys
    wide = ons_10_5_ptable(keys=4096)
    with pytest.raises(TableSpecError, match="must be UInt16"):
        check_table(df, TableSpec(("var1",)), TableCheckSettings(cell_key_column="record_key"),
                    ptable=wide)  # fmt: skip
    too_big = df.with_columns(pl.col("record_key").cast(pl.UInt16) * 20)
    with pytest.raises(TableSpecError, match="keys above 4095"):
        check_table(too_big, TableSpec(("var1",)),
                    TableCheckSettings(cell_key_column="record_key"), ptable=wide)  # fmt: skip


def test_perturbed_counts_below_threshold_are_withheld_as_primary() -> None:
    # A cell of 11 records perturbed by -2 (a p-table that moves every count down by 2).
    noise = np.zeros((751, 256), dtype=np.int64)
    noise[1:] = -np.minimum(np.arange(1, 751), 2)[:, None]
    table = PerturbationTable(noise, "ons", "minus-two")
    df = pl.DataFrame({"g": ["a"] * 11 + ["b"] * 30, "rk": pl.Series([1] * 41, dtype=pl.UInt8)})
    settings = TableCheckSettings(cell_key_column="rk", threshold=10)
    result = check_table(df, TableSpec(("g",)), settings, ptable=table)
    a = result.cells.filter(pl.col("g") == "a").to_dicts()[0]
    assert a["n"] == 11 and a["published"] is None and a["suppression"] == "primary"
    assert a["status"] == "fail" and "threshold: perturbed count below 10" in a["reasons"]
    b = result.cells.filter(pl.col("g") == "b").to_dicts()[0]
    assert b["published"] == 28 and b["suppression"] == ""
    assert "minus-two" in " ".join(result.notes)


# --- CLI -----------------------------------------------------------------------------------


def test_cli_check_output_with_an_ons_ptable_file(tmp_path: Path) -> None:
    data = tmp_path / "micro.parquet"
    _ons_micro().write_parquet(data)
    out = tmp_path / "out"
    args = ["check-output", "--data", str(data), "--by", "var1", "--by", "var5"]
    args += ["--cell-key", "record_key", "--ptable", str(ONS_PTABLE), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--no-margins"])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out / "table.csv")
    published = table["count"].drop_nulls()
    assert published.len() > 0 and (published % 5 == 0).all() and published.min() >= 10
    assert "ons_ptable_10_5_rule.csv.xz" in (out / "disclosure.json").read_text()


def test_cli_rejects_a_bad_ptable_file_and_ptable_without_cell_key(tmp_path: Path) -> None:
    data = tmp_path / "micro.parquet"
    _ons_micro().write_parquet(data)
    bad = tmp_path / "ptable.csv"
    _valid_frame().filter(pl.col("pcv") != 3).write_csv(bad)
    base = ["check-output", "--data", str(data), "--by", "var1", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(cli, [*base, "--cell-key", "record_key", "--ptable", str(bad)])
    assert result.exit_code == EXIT_CONFIG
    assert "ptable.csv" in result.output and "pairs missing" in result.output
    result = CliRunner().invoke(cli, [*base, "--ptable", "ons-10-5"])
    assert result.exit_code == EXIT_CONFIG and "set cell_key_column" in result.output
