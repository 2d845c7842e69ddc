"""Cell-key perturbation: cell keys, the generated p-table's design, same cell same noise."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.disclosure import TableCheckSettings, TableSpec, check_table, make_ptable
from pipeline.disclosure.cellkey import KEYS, cell_key


def test_cell_key_is_sum_of_record_keys_mod_256() -> None:
    assert cell_key([200, 100, 3]) == 47  # 303 mod 256
    assert cell_key([255]) == 255
    assert cell_key([]) == 0


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
    from pipeline.disclosure import TableSpecError

    with pytest.raises(TableSpecError, match="UInt8"):
        check_table(df, TableSpec(("g",)), TableCheckSettings(cell_key_column="rk"))
    with pytest.raises(TableSpecError, match="count tables only"):
        check_table(df, TableSpec(("g",), "sum", "v"), TableCheckSettings(cell_key_column="rk"))
