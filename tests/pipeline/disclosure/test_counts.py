"""``pprl check-output --table``: frequency tables already counted, checked like microdata.

The key property: a frequency table gives the same treated cells as the microdata it was
counted from (threshold, zeros, secondary suppression with the LP audit, rounding).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.disclosure import (
    TableCheckSettings,
    TableSpec,
    TableSpecError,
    check_counts,
    check_table,
    report_dict,
    report_html,
)
from pipeline.disclosure.tables import build_cells, build_cells_from_counts
from pipeline.errors import EXIT_CONFIG, EXIT_DATA

# Region x sex x band counts: small cells in every projection (Isles has 8 records), one
# empty cell (East, M, 1) and integer-coded categories (band) that must keep their labels
# through a CSV round trip.
COUNTS = {
    ("North", "F", 1): 31, ("North", "M", 1): 28, ("North", "F", 2): 17, ("North", "M", 2): 24,
    ("South", "F", 1): 22, ("South", "M", 1): 13, ("South", "F", 2): 19, ("South", "M", 2): 25,
    ("East", "F", 1): 12, ("East", "F", 2): 7, ("East", "M", 2): 40,
    ("Isles", "F", 1): 2, ("Isles", "M", 1): 3, ("Isles", "F", 2): 1, ("Isles", "M", 2): 2,
}  # fmt: skip
NAMES = ("region", "sex", "band")


def _microdata(counts: dict[tuple[object, ...], int], names: tuple[str, ...]) -> pl.DataFrame:
    rows = [key for key, n in counts.items() for _ in range(n)]
    return pl.DataFrame(rows, schema=list(names), orient="row")


def _counted(micro: pl.DataFrame, by: list[str], column: str = "count") -> pl.DataFrame:
    return micro.group_by(by).len(column).sort(by)


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-output", *args])
    return result.exit_code, result.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    micro = _microdata(COUNTS, NAMES)
    paths = {"micro": tmp_path / "micro.csv", "counts": tmp_path / "counts.csv"}
    micro.write_csv(paths["micro"])
    _counted(micro, list(NAMES)).write_csv(paths["counts"])
    return paths


OPTION_SETS = [
    ["--by", "region", "--by", "sex"],
    ["--by", "region", "--by", "sex", "--round", "5"],
    ["--by", "region", "--by", "sex", "--by", "band", "--round", "3", "--random-round"],
    ["--by", "sex", "--by", "band", "--zeros-safe", "--threshold", "50"],
    ["--by", "region", "--no-margins"],
    ["--by", "region", "--by", "band", "--protection", "2"],
]


@pytest.mark.parametrize("options", OPTION_SETS)
def test_counted_table_gives_the_same_treated_cells_as_its_microdata(
    files: dict[str, Path], tmp_path: Path, options: list[str]
) -> None:
    by = [options[i + 1] for i, o in enumerate(options) if o == "--by"]
    counts = tmp_path / "counts_by.parquet"
    _counted(pl.read_csv(files["micro"]), by).write_parquet(counts)
    code_m, out_m = _run(["--data", str(files["micro"]), *options, "--out", str(tmp_path / "m")])
    code_t, out_t = _run(["--table", str(counts), *options, "--out", str(tmp_path / "t")])
    assert code_m == code_t == 0, (out_m, out_t)
    micro_table = pl.read_parquet(tmp_path / "m" / "table.parquet")
    assert micro_table.equals(pl.read_parquet(tmp_path / "t" / "table.parquet"))
    assert micro_table["suppression"].is_in(["primary", "secondary"]).any()
    reports = [json.loads((tmp_path / d / "disclosure.json").read_text()) for d in "mt"]
    for key in ("cells", "audit", "summary", "verdict", "safe"):
        assert reports[0][key] == reports[1][key], key
    assert reports[0]["table"]["input"] == "microdata" and reports[1]["table"]["input"] == "counts"


@given(
    st.dictionaries(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("xyz")),
        st.integers(min_value=0, max_value=30),
        min_size=1,
    ).filter(lambda d: sum(d.values()) > 0),
    st.booleans(),
)
def test_counts_and_microdata_agree_on_random_tables(
    counts: dict[tuple[str, str], int], zeros_safe: bool
) -> None:
    micro = _microdata({k: n for k, n in counts.items() if n}, ("r", "c"))
    table = pl.DataFrame(
        [(*k, n) for k, n in counts.items() if n], schema=["r", "c", "count"], orient="row"
    )
    spec = TableSpec(("r", "c"))
    settings = TableCheckSettings(zeros_are_disclosive=not zeros_safe, rounding="nearest")
    assert build_cells_from_counts(table, spec).equals(build_cells(micro, spec))
    ours, theirs = check_counts(table, spec, settings), check_table(micro, spec, settings)
    assert ours.cells.equals(theirs.cells)
    assert ours.verdict == theirs.verdict


def test_explicit_zero_rows_are_empty_cells(tmp_path: Path) -> None:
    with_zero = pl.DataFrame(
        {"g": ["a", "a", "b", "b"], "h": ["x", "y", "x", "y"], "count": [20, 30, 0, 25]}
    )
    spec = TableSpec(("g", "h"))
    dropped = with_zero.filter(pl.col("count") > 0)
    assert check_counts(with_zero, spec).cells.equals(check_counts(dropped, spec).cells)
    cell = check_counts(with_zero, spec).cells.filter((pl.col("g") == "b") & (pl.col("h") == "x"))
    assert cell["n"].item() == 0 and "zero: no records in cell" in cell["reasons"].item()


def test_report_says_dominance_was_not_checked(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _run(["--table", str(files["counts"]), "--by", "region", "--by", "sex",
                         "--by", "band", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    report = json.loads((out / "disclosure.json").read_text())
    assert report["not_checked"] == ["p% dominance", "(n,k) dominance"]
    assert any("dominance" in n and "not checked" in n for n in report["notes"])
    assert report["source"] == "counts.csv" and report["table"]["input"] == "counts"
    page = (out / "disclosure.html").read_text()
    assert "pre-aggregated counts" in page and "not checked: p% dominance" in page
    # Microdata reports say nothing is missing.
    result = check_table(_microdata(COUNTS, NAMES), TableSpec(("region",)))
    assert report_dict(result)["not_checked"] == []
    assert "not checked" not in report_html(report_dict(result))


def test_count_column_option_and_unsafe_counted_table(
    files: dict[str, Path], tmp_path: Path
) -> None:
    renamed = tmp_path / "renamed.parquet"
    pl.read_csv(files["counts"]).rename({"count": "n_people"}).write_parquet(renamed)
    base = ["--table", str(renamed), "--by", "region", "--by", "sex", "--by", "band"]
    code, output = _run([*base, "--out", str(tmp_path / "o")])
    assert code == EXIT_CONFIG and "['count']" in output  # default column is not there
    code, output = _run([*base, "--count-column", "n_people", "--out", str(tmp_path / "a")])
    assert code == 0, output
    code, output = _run(
        [*base, "--count-column", "n_people", "--no-secondary", "--out", str(tmp_path / "b")]
    )
    assert code == EXIT_DATA and "not safe to release" in output
    report = json.loads((tmp_path / "b" / "disclosure.json").read_text())
    assert report["verdict"] == "fail" and any(a["exposed"] for a in report["audit"])


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--stat", "sum:income"], "need --data"),
        (["--cell-key", "record_key"], "--cell-key needs each record's key"),
        (["--p-ratio", "0.2"], "--p-ratio: dominance needs record-level contributions"),
        (["--nk", "3", "0.8"], "--nk: dominance needs record-level contributions"),
    ],
)
def test_record_level_options_are_refused_with_a_table(
    files: dict[str, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code, output = _run(["--table", str(files["counts"]), "--by", "region", *extra,
                         "--out", str(out)])  # fmt: skip
    assert code == EXIT_CONFIG and message in output
    assert not out.exists()


def test_exactly_one_of_data_and_table(files: dict[str, Path], tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    code, output = _run(["--data", str(files["micro"]), "--table", str(files["counts"]),
                         "--by", "region", "--out", out])  # fmt: skip
    assert code == EXIT_CONFIG and "not both" in output
    code, output = _run(["--by", "region", "--out", out])
    assert code == EXIT_CONFIG and "nothing to check" in output and "--by needs" in output
    code, output = _run(["--table", str(files["counts"]), "--out", out])
    assert code == EXIT_CONFIG and "--by: give at least one" in output
    code, output = _run(["--data", str(files["micro"]), "--by", "region",
                         "--count-column", "n", "--out", out])  # fmt: skip
    assert code == EXIT_CONFIG and "--count-column applies to --table only" in output
    assert not (tmp_path / "out").exists()


BAD_TABLES = [
    # counts (distinctive values that must not be echoed), message naming the rows
    ([31337, -4242, 27183], "count column 'count': negative in row 2"),
    ([31337, None, 27183], "count column 'count': null or not a whole number in row 2"),
    ([31337.0, 16180.5, 27183.0], "count column 'count': null or not a whole number in row 2"),
    (["31337", "<10", "-4242"], "null or not a whole number in row 2; negative in row 3"),
]


@pytest.mark.parametrize("counts,message", BAD_TABLES)
def test_bad_counts_are_named_by_row_never_by_value(
    tmp_path: Path, counts: list[object], message: str
) -> None:
    path = tmp_path / "bad.csv"
    pl.DataFrame({"region": ["N", "S", "E"], "count": counts}).write_csv(path)
    code, output = _run(["--table", str(path), "--by", "region", "--out", str(tmp_path / "o")])
    assert code == EXIT_CONFIG and message in output and "bad.csv" in output
    for value in ("31337", "4242", "27183", "16180", "<10"):
        assert value not in output


def test_repeated_cells_and_totals_are_refused(tmp_path: Path) -> None:
    spec = TableSpec(("region", "sex"))
    repeated = pl.DataFrame(
        {"region": ["Zeta", "Zeta", "Eta", "Zeta"], "sex": ["F", "M", "F", "F"],
         "count": [12, 13, 14, 15]}
    )  # fmt: skip
    with pytest.raises(TableSpecError, match=r"cells repeat in rows 1, 4") as caught:
        check_counts(repeated, spec)
    assert "Zeta" not in str(caught.value)
    totals = repeated.slice(0, 3).with_columns(pl.lit("Total").alias("sex"))
    with pytest.raises(TableSpecError, match="leave totals out"):
        check_counts(totals.slice(0, 1), spec)
    with pytest.raises(TableSpecError, match="has no records"):
        check_counts(repeated.with_columns(pl.lit(0).alias("count")).slice(1, 2), spec)
    with pytest.raises(TableSpecError, match="is also a group-by variable"):
        check_counts(repeated, TableSpec(("region", "count")))
    with pytest.raises(TableSpecError, match="needs the microdata"):
        check_counts(repeated, TableSpec(("region",), "sum", "count"))
    with pytest.raises(TableSpecError, match="needs each record's key"):
        check_counts(repeated, spec, TableCheckSettings(cell_key_column="rk"))


def test_identifier_check_counts_records_not_rows() -> None:
    # 30 categories of 40 records each: a grouping, though every row is a distinct category.
    table = pl.DataFrame({"area": [f"A{i:02d}" for i in range(30)], "count": [40] * 30})
    assert check_counts(table, TableSpec(("area",))).safe
    # 30 categories holding 32 records: identifier-like, refused as for microdata.
    sparse = table.with_columns(pl.Series("count", [2, 2] + [1] * 28))
    with pytest.raises(TableSpecError, match="looks like an identifier"):
        check_counts(sparse, TableSpec(("area",)))


@pytest.mark.parametrize(
    "column",
    [
        pl.Series("g", [["a"], ["b"]]),
        pl.Series("g", [{"v": "a"}, {"v": "b"}]),
        pl.Series("g", [b"a", b"\xff"]),
    ],
)
def test_a_group_by_column_of_lists_structs_or_bytes_is_refused_by_name(column: pl.Series) -> None:
    # found by tests/pipeline/commands/test_fuzz.py: the cast to text failed unexplained
    spec = TableSpec(("g",))
    for build in (
        lambda: build_cells(pl.DataFrame([column]), spec),
        lambda: build_cells_from_counts(pl.DataFrame([column, pl.Series("count", [1, 2])]), spec),
    ):
        with pytest.raises(TableSpecError, match=r"column 'g' is .*: a group-by column must hold"):
            build()
