"""A large table looked up many times by small frames: sorted once by a hash of its key, then
probed with a sorted search, so each lookup costs the probe, not the table.

Joining a small frame with a table of tens of millions of rows costs time in proportion to
the table on every call; the leak check makes one such lookup per column of every chunk, so
at 10M + 10M records the joins grew with the square of the data."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.sorted_lookup import sorted_member


class HashedLookup:
    """``table`` keyed by its column ``key``; :meth:`join` is an inner join of a frame with
    it on that column (exact: hashes only choose the rows to join with)."""

    def __init__(self, table: pl.DataFrame, key: str) -> None:
        self.key = key
        self.table = table.with_columns(_hash(key).alias("__hash")).sort("__hash")
        self._hashes = self.table.get_column("__hash").to_numpy()
        self.table = self.table.drop("__hash")

    def join(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` joined with the rows of the table holding its key values."""
        hashes = frame.select(_hash(self.key)).to_series().to_numpy()
        maybe = sorted_member(self._hashes, hashes)
        wanted = np.unique(hashes[maybe])
        start = np.searchsorted(self._hashes, wanted, side="left")
        count = np.searchsorted(self._hashes, wanted, side="right") - start
        rows = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
        return frame.filter(pl.Series(maybe)).join(self.table[rows], on=self.key)


def _hash(column: str) -> pl.Expr:
    return pl.col(column).hash(seed=0)
