"""Counting matches with missing values, the machinery under :mod:`pipeline.disclosure.kanon`
and :mod:`pipeline.disclosure.risk`.

Semantics of missing values (as sdcMicro's ``freqCalc``): a missing quasi-identifier matches any
value. Record *j* counts towards record *i* when, for every quasi-identifier, both are equal or
either is missing. ``fk`` is the number of such records (including *i*), ``Fk`` the sum of their
weights.

Work is done on distinct combinations (with their record counts) rather than records. For each
pair of missing-value patterns (P of the probe, Q of the population), the population is summed
over the quasi-identifiers missing in neither and joined to the probe on those columns: at most
2^q x 2^q joins, in practice a handful; small inputs are compared pairwise instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import polars as pl

from pipeline.disclosure.errors import TableSpecError

ID, N, W, MASK = "__combo", "__n", "__w", "__mask"
# Below this many (probe x population) combination pairs, compare them all at once.
PAIRWISE_MAX = 250_000
# One sensitive attribute or several: l-diversity then holds for each of them.
Sensitive: TypeAlias = str | Sequence[str] | None


def candidates(combos: pl.DataFrame, k: int, l_diversity: int | None) -> pl.DataFrame:
    """The combinations that may be unsafe: without l-diversity, a combination of at least
    ``k`` records is safe (it matches itself), so only smaller ones need assessing."""
    return combos if l_diversity is not None else combos.filter(pl.col(N) < k)


def listed(sensitive: Sensitive) -> list[str]:
    if sensitive is None:
        return []
    return [sensitive] if isinstance(sensitive, str) else list(sensitive)


def check_columns(
    df: pl.DataFrame, qis: Sequence[str], weight: str | None, sensitive: Sensitive
) -> list[str]:
    wanted = [*qis, *(c for c in (weight,) if c is not None), *listed(sensitive)]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise TableSpecError(f"columns not in the data: {missing}")
    if set(listed(sensitive)) & set(qis):
        raise TableSpecError("a sensitive attribute cannot also be a quasi-identifier")
    return list(qis)


def combinations(
    df: pl.DataFrame, qis: Sequence[str], weight: str | None, sensitive: Sensitive
) -> pl.DataFrame:
    """The distinct combinations with their record counts and weights, numbered."""
    keys = [*qis, *listed(sensitive)]
    w = pl.col(weight).cast(pl.Float64).sum() if weight else pl.len().cast(pl.Float64)
    return (
        df.group_by(keys, maintain_order=True).agg(pl.len().alias(N), w.alias(W)).with_row_index(ID)
    )


def tagged_combinations(
    df: pl.DataFrame, qis: Sequence[str], weight: str | None, sensitive: Sensitive
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records tagged with a combination id, and the distinct combinations with counts."""
    keys = [*qis, *listed(sensitive)]
    combos = combinations(df, qis, weight, sensitive)
    records = df.join(
        combos.select(*keys, ID), on=keys, how="left", nulls_equal=True, maintain_order="left"
    )
    return records, combos


def missing_mask(qis: Sequence[str]) -> pl.Expr:
    bits = [pl.col(q).is_null().cast(pl.UInt32) * (1 << i) for i, q in enumerate(qis)]
    return pl.sum_horizontal(bits).alias(MASK)


def partition(
    population: pl.DataFrame, qis: Sequence[str], sensitive: Sensitive
) -> dict[int, pl.DataFrame]:
    """The population split by missing-value pattern (the mask of missing QIs)."""
    pop = population.select(*qis, *listed(sensitive), N, W).with_columns(missing_mask(qis))
    parts = pop.partition_by(MASK, as_dict=True, include_key=False)
    return {int(key[0]): part for key, part in parts.items()}


def assess(
    probe: pl.DataFrame,
    population: pl.DataFrame,
    qis: Sequence[str],
    sensitive: Sensitive,
    parts: dict[int, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """For each probe combination: fk, Fk and (with ``sensitive``) distinct l, per the module
    docstring's missing-matches-anything rule. ``parts``: :func:`partition` of
    ``population``, when the caller keeps it across calls."""
    extra = listed(sensitive)
    if probe.is_empty():
        schema: dict[str, pl.DataType] = {
            ID: probe.schema[ID],
            "fk": pl.UInt32(),
            "Fk": pl.Float64(),
        }
        if extra:
            schema["l"] = pl.UInt32()
        return pl.DataFrame(schema=schema)
    if not extra and probe.height * population.height <= PAIRWISE_MAX:
        return assess_pairwise(probe, population, qis)
    probe = probe.select(ID, *qis).with_columns(missing_mask(qis))
    parts = partition(population, qis, sensitive) if parts is None else parts
    small = probe.height * 20 < population.height
    pieces: list[pl.DataFrame] = []
    for p_mask in probe.get_column(MASK).unique().to_list():
        probe_p = probe.filter(pl.col(MASK) == p_mask)
        for q_mask, pop_q in parts.items():
            on = [q for i, q in enumerate(qis) if not (p_mask | q_mask) >> i & 1]
            if not small or not on:
                # Summing the population first keeps the join small for large probes.
                pop_q = pop_q.group_by([*on, *extra]).agg(pl.col(N).sum(), pl.col(W).sum())
            if on:
                joined = probe_p.select(ID, *on).join(pop_q, on=on, how="inner")
            else:
                joined = probe_p.select(ID).join(pop_q, how="cross")
            pieces.append(joined.select(ID, N, W, *extra))
    allp = pl.concat(pieces, how="vertical_relaxed")
    aggs = [pl.col(N).sum().alias("fk"), pl.col(W).sum().alias("Fk")]
    if extra:
        distinct = [pl.col(c).drop_nulls().n_unique() for c in extra]
        aggs.append(pl.min_horizontal(distinct).alias("l"))
    return allp.group_by(ID).agg(aggs)


def assess_pairwise(
    probe: pl.DataFrame, population: pl.DataFrame, qis: Sequence[str]
) -> pl.DataFrame:
    """:func:`assess` for small inputs (many missing-value patterns make its joins many and
    tiny): compare every probe combination with every population one."""
    matches = np.ones((probe.height, population.height), dtype=bool)
    for q in qis:
        both = pl.concat([probe.get_column(q), population.get_column(q)])
        codes = both.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        mine, theirs = codes[: probe.height, None], codes[None, probe.height :]
        matches &= (mine == theirs) | (mine == 0) | (theirs == 0)
    counts = population.get_column(N).cast(pl.Float64).to_numpy()
    weights = population.get_column(W).cast(pl.Float64).to_numpy()
    return pl.DataFrame(
        {
            ID: probe.get_column(ID),
            "fk": (matches @ counts).round().astype(np.int64),
            "Fk": matches @ weights,
        }
    )


def unsafe(stats: pl.DataFrame, k: int, l_diversity: int | None) -> pl.Expr:
    expr = pl.col("fk") < k
    if l_diversity is not None and "l" in stats.columns:
        expr = expr | (pl.col("l") < l_diversity)
    return expr
