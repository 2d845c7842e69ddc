"""A trading name the register holds once is scored like a legal name held once (issue 11:
sole traders and shops sent under their trading name alone, away from the address the
register shows)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import cast

import duckdb
import polars as pl
import pytest

from linkage import Linker
from linkage.company_names import (
    CompanyNameComparison,
    CompanyNameExactLevel,
    CompanyTradingHeldOnceLevel,
)
from linkage.errors import SettingsError
from linkage.sql import DUCKDB
from pipeline.business.trading_held import (
    TRADING_HELD,
    set_trading_held_once,
    trading_held_counts,
    trading_held_once_lift,
)
from pipeline.business.training import NameCounts


def test_trading_held_once_level_needs_the_register_row_alone_with_that_trading_name() -> None:
    level = CompanyTradingHeldOnceLevel("name", "trading", "held")
    cases = [  # (left name, left trading, right name, right trading, right held)
        ("ZYTRONIX CAFE", None, "J SMITH", "ZYTRONIX CAFE", 1),
        ("J SMITH", "ZYTRONIX CAFE", "J SMITH", "ZYTRONIX CAFE", 1),
        ("ZYTRONIX CAFE", None, "J SMITH", "ZYTRONIX CAFE", 2),  # another row holds it
        ("J SMITH", None, "J SMITH", "ZYTRONIX CAFE", 1),  # legal names agree: not this level
        ("ZYTRONIX CAFE", None, "ZYTRONIX CAFE", None, 1),  # no trading name on the right
        (None, None, "J SMITH", "ZYTRONIX CAFE", 1),
    ]
    con = duckdb.connect()
    left = pl.DataFrame(
        {"i": range(len(cases)), "name": [c[0] for c in cases], "trading": [c[1] for c in cases]},
        schema={"i": pl.Int64, "name": pl.String, "trading": pl.String},
    )
    right = pl.DataFrame(
        {
            "i": range(len(cases)),
            "name": [c[2] for c in cases],
            "trading": [c[3] for c in cases],
            "held": [c[4] for c in cases],
        },
        schema={"i": pl.Int64, "name": pl.String, "trading": pl.String, "held": pl.Int64},
    )
    con.register("l_cases", left)
    con.register("r_cases", right)
    got = con.execute(
        f"SELECT {level.sql(DUCKDB)} FROM l_cases l JOIN r_cases r USING (i) ORDER BY i"
    ).fetchall()
    assert [g[0] for g in got] == [True, True, False, False, False, False]
    assert level.columns() == ("name", "trading", "held")
    with pytest.raises(SettingsError):
        CompanyTradingHeldOnceLevel("name", "", "held")


def test_the_level_comes_before_any_match_through_a_trading_name() -> None:
    comparison = CompanyNameComparison("n", trading_column="t", trading_held_column="h")
    kinds = [type(level) for level in comparison.levels]
    at = kinds.index(CompanyTradingHeldOnceLevel)
    following = comparison.levels[at + 1]
    assert isinstance(following, CompanyNameExactLevel) and following.trading_column == "t"
    without = CompanyNameComparison("n", trading_column="t")
    assert CompanyTradingHeldOnceLevel not in [type(level) for level in without.levels]


def test_trading_names_are_counted_over_legal_and_trading_names() -> None:
    register = pl.DataFrame(
        {
            "name_core": ["A SMITH", "B JONES", "ZYTRONIX CAFE", "C BROWN", "D GREEN"],
            "trading_core": ["ZYTRONIX CAFE", "QUORVEX BAR", None, "ROYAL OAK", "ROYAL OAK"],
        }
    )
    incoming = pl.DataFrame({"name_core": ["X"], "trading_core": ["QUORVEX BAR"]})
    inc, reg, counts = trading_held_counts(
        incoming, register, name="name_core", trading="trading_core"
    )
    # ZYTRONIX CAFE is also a legal name: two rows hold it; QUORVEX BAR is held once
    assert reg[TRADING_HELD].to_list() == [2, 1, 0, 2, 2]
    assert inc[TRADING_HELD].to_list() == [0]  # only the register's count is compared
    assert counts == NameCounts(rows=5, held_once=1, held_twice=3)


def test_a_trading_name_held_once_shares_m_and_gets_the_good_turing_u() -> None:
    """The level is the rare part of "exact through a trading name": both get their summed m
    (rarity changes u, not m); its u is the trading names' Good-Turing frequency, and the
    bits the engine's floor cuts from it are given back (:func:`trading_held_once_lift`)."""
    comparison = CompanyNameComparison(
        "name_core", trading_column="trading_core", trading_held_column=TRADING_HELD,
        name="company_name",
    )  # fmt: skip
    infos = list(zip(comparison.levels, comparison.level_info(), strict=True))
    once = next(i.gamma for lv, i in infos if isinstance(lv, CompanyTradingHeldOnceLevel))
    through = next(
        i.gamma
        for lv, i in infos
        if isinstance(lv, CompanyNameExactLevel) and lv.trading_column is not None
    )
    m = [0.01 * (g + 1) for g in range(len(infos) - 1)]
    parameters = SimpleNamespace(m=list(m), u=[0.001] * len(m))
    linker = cast(
        Linker,
        SimpleNamespace(
            comparisons=[comparison],
            parameters=SimpleNamespace(comparisons={"company_name": parameters}),
        ),
    )
    counts = NameCounts(rows=300_000, held_once=50_000, held_twice=5_000)
    facts = set_trading_held_once(linker, counts)
    assert parameters.m[once] == parameters.m[through] == pytest.approx(m[once] + m[through])
    frequency = 2 * 5_000 / 50_000 / 300_000
    assert parameters.u[once] == pytest.approx(frequency) == facts["frequency"]
    assert parameters.u[through] == 0.001
    assert trading_held_once_lift(linker) == (once, pytest.approx(math.log2(1e-6 / frequency)))


def test_without_the_level_nothing_is_set() -> None:
    comparison = CompanyNameComparison(
        "name_core", trading_column="trading_core", name="company_name"
    )
    parameters = SimpleNamespace(m=[0.1] * 8, u=[0.1] * 8)
    linker = cast(
        Linker,
        SimpleNamespace(
            comparisons=[comparison],
            parameters=SimpleNamespace(comparisons={"company_name": parameters}),
        ),
    )
    assert set_trading_held_once(linker, NameCounts(10, 5, 1)) == {}
    assert trading_held_once_lift(linker) == (None, 0.0)
    assert parameters.u == [0.1] * 8
