"""Sums of an integer attribute are published as integers, like counts; other statistics and
sums of decimals stay decimal."""

from __future__ import annotations

import polars as pl

from pipeline.disclosure import TableSpec, check_table


def _data(dtype: type[pl.DataType]) -> pl.DataFrame:
    incomes = [1000 + 37 * i if i % 7 else None for i in range(60)]
    return pl.DataFrame(
        {"region": ["N"] * 30 + ["S"] * 30, "income": pl.Series(incomes, dtype=dtype)}
    )


def test_integer_sums_are_integers() -> None:
    table = check_table(_data(pl.Int64), TableSpec.parse(["region"], "sum:income"))
    published = table.published_table()
    assert published.schema["sum_income"] == pl.Int64 and published.schema["n"] == pl.Int64
    north = _data(pl.Int64).filter(pl.col("region") == "N")["income"].sum()
    assert published.filter(pl.col("region") == "N")["sum_income"].item() == north


def test_decimal_sums_and_means_are_decimals() -> None:
    decimal = check_table(_data(pl.Float64), TableSpec.parse(["region"], "sum:income"))
    assert decimal.published_table().schema["sum_income"] == pl.Float64
    mean = check_table(_data(pl.Int64), TableSpec.parse(["region"], "mean:income"))
    assert mean.published_table().schema["mean_income"] == pl.Float64
