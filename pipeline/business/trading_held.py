"""Trading names the register holds once (issue 11): counted per register row
(:func:`trading_held_counts`) and scored like a legal name held once
(:func:`set_trading_held_once`).

A sole trader, a partnership or a shop is often sent under its trading name alone, and when it
has moved or trades away from the address the register shows, its name is all that links it.
A match through a trading name is a level of its own, weighed as any such match (its u among
random pairs, where "THE ROYAL OAK" is common): about 10 bits, too little against a place
that disagrees. A trading name the register holds once, as a legal or a trading name, is
scored like a legal name held once instead: m of a match through a trading name, u the
Good-Turing frequency of a trading name seen once, 2 n2 / (n1 N) over the register's trading
names (n1, n2 held by one and two rows, N the rows). Trading names are not unique by law, and
this frequency is larger than the legal names' whenever the register shares more of them.
"""

from __future__ import annotations

import polars as pl

from linkage import Linker
from linkage.company_names import CompanyNameExactLevel, CompanyTradingHeldOnceLevel
from pipeline.business.training import NameCounts, floor_lift, gamma_of, gamma_where

#: Register rows holding the row's trading name (core), as a legal or a trading name.
TRADING_HELD = "trading_held"


def trading_held_counts(
    incoming: pl.DataFrame, register: pl.DataFrame, *, name: str, trading: str
) -> tuple[pl.DataFrame, pl.DataFrame, NameCounts]:
    """Add :data:`TRADING_HELD` to both frames (0 without a trading name; only the register's
    is compared) and count the register's trading names held by one and by two rows; ``name``
    and ``trading`` are the standardised legal and trading name columns. A row holding one
    name as both counts once."""
    held = (
        register.select(pl.concat_list(name, trading).list.drop_nulls().list.unique().alias("__n"))
        .explode("__n")
        .drop_nulls()
        .group_by("__n")
        .agg(pl.len().cast(pl.Int64).alias(TRADING_HELD))
    )

    def add(frame: pl.DataFrame) -> pl.DataFrame:
        joined = frame.join(
            held, left_on=trading, right_on="__n", how="left", maintain_order="left"
        )
        return joined.with_columns(pl.col(TRADING_HELD).fill_null(0))

    with_counts = add(register)
    sizes = with_counts.filter(pl.col(trading).is_not_null())[TRADING_HELD]
    counts = NameCounts(register.height, int((sizes == 1).sum()), int((sizes == 2).sum()))
    return incoming.with_columns(pl.lit(0, pl.Int64).alias(TRADING_HELD)), with_counts, counts


def set_trading_held_once(linker: Linker, counts: NameCounts) -> dict[str, float | int]:
    """Score ``company_name``'s level of a trading name held once (when it has one, else do
    nothing): it and the level of any match through a trading name share that level's m (it
    is its rarest part: rarity changes u, not m), and its u is ``counts``' Good-Turing
    frequency."""
    comparison = next(c for c in linker.comparisons if c.name == "company_name")
    once = gamma_of(comparison, CompanyTradingHeldOnceLevel)
    if once is None:
        return {}
    through = gamma_where(
        comparison,
        lambda level: isinstance(level, CompanyNameExactLevel) and level.trading_column is not None,
    )
    assert through is not None, "company_name has a level of a match through a trading name"
    parameters = linker.parameters.comparisons["company_name"]
    m = list(parameters.m)
    m[once] = m[through] = (m[once] or 0.0) + (m[through] or 0.0)
    parameters.m = m
    u = list(parameters.u)
    u[once] = counts.once_frequency()
    parameters.u = u
    return {
        "register_trading_names_held_once": counts.held_once,
        "held_twice": counts.held_twice,
        "frequency": counts.once_frequency(),
    }


def trading_held_once_lift(linker: Linker) -> tuple[int | None, float]:
    """(gamma of the trading-name-held-once level, the bits the probability floor cut from its
    weight: :func:`pipeline.business.training.floor_lift`); (None, 0.0) without that level."""
    return floor_lift(linker, CompanyTradingHeldOnceLevel)
