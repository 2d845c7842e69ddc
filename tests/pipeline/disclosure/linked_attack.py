"""An intruder's check of a linked delivery, independent of pipeline.disclosure.linked: join
every combination of files on every shared key, and count, for each joined row, the distinct
key values among joined rows that match it on every quasi-identifier (a missing value matches
anything). Brute force; for small test deliveries only."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

ROW_ID = "_attack_row"


def joins(
    frames: Mapping[str, pl.DataFrame], keys: Sequence[str], must_include: Sequence[str]
) -> list[tuple[str, tuple[str, ...], pl.DataFrame]]:
    """(key, files, joined frame with ``unit`` and ``<file>.<column>`` columns) for every
    subset of files that share ``key`` and hold at least one of ``must_include``."""
    out = []
    for key in keys:
        holders = [n for n, f in frames.items() if key in f.columns]
        for size in range(1, len(holders) + 1):
            for subset in itertools.combinations(holders, size):
                if not set(subset) & set(must_include):
                    continue
                out.append((key, subset, _join(frames, key, subset)))
    return out


def _join(frames: Mapping[str, pl.DataFrame], key: str, files: Sequence[str]) -> pl.DataFrame:
    joined: pl.DataFrame | None = None
    for name in files:
        frame = frames[name].with_row_index(ROW_ID)
        # A row with no key is a unit of its own (it joins nothing).
        unit = pl.coalesce(
            pl.col(key).cast(pl.String), pl.concat_str(pl.lit(f"{name}#"), pl.col(ROW_ID))
        )
        part = frame.select(
            unit.alias("unit") if len(files) == 1 else pl.col(key).cast(pl.String).alias("unit"),
            *(pl.col(c).alias(f"{name}.{c}") for c in frame.columns if c not in (key, ROW_ID)),
        )
        joined = part if joined is None else joined.join(part, on="unit", how="inner")
    assert joined is not None
    return joined


def smallest_class(joined: pl.DataFrame, columns: Sequence[str]) -> int | None:
    """The fewest distinct units matching any joined row on ``columns``; None when empty."""
    if joined.is_empty():
        return None
    if not columns:
        return joined.get_column("unit").n_unique()
    equal, units = _matches(joined, columns)
    return min(len(set(units[row])) for row in equal)


def _matches(
    joined: pl.DataFrame, columns: Sequence[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """Which joined rows match which on ``columns`` (a missing value matches anything)."""
    values = joined.select(pl.col(c).cast(pl.String) for c in columns).to_numpy().astype(object)
    missing = np.array([[v is None for v in row] for row in values], dtype=bool)
    equal = np.ones((len(values), len(values)), dtype=bool)
    for j in range(values.shape[1]):
        col = values[:, j]
        equal &= (col[:, None] == col[None, :]) | missing[:, j][:, None] | missing[:, j][None, :]
    return equal, joined.get_column("unit").to_numpy().astype(object)


def violations(
    frames: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
    k: int,
    keys: Sequence[str],
    must_include: Sequence[str],
) -> list[str]:
    """Joins (``key: file+file``) where some joined row has fewer than ``k`` matching units."""
    found = []
    for key, files, joined in joins(frames, keys, must_include):
        columns = [f"{n}.{q}" for n in files for q in quasi_identifiers if q in frames[n].columns]
        smallest = smallest_class(joined, columns)
        if smallest is not None and smallest < k:
            found.append(f"{key}: {'+'.join(files)} ({smallest})")
    return found


def expected_reidentifications(joined: pl.DataFrame, columns: Sequence[str]) -> float:
    """Sum over units of 1 / (units matching the unit's best-hidden joined row): the
    intruder's expected number of correct re-identifications in this join."""
    equal, units = _matches(joined, columns)
    best: dict[object, int] = {}
    for i, unit in enumerate(units):
        best[unit] = max(best.get(unit, 0), len(set(units[equal[i]])))
    return sum(1.0 / n for n in best.values())
