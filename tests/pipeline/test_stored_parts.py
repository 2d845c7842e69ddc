"""The link stage hands each prepared part its rows of the standardised records by reading
the record chunks once, in order (pipeline.run_stages._consecutive)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.run_stages import _consecutive


@pytest.mark.parametrize("seed", range(12))
def test_consecutive_runs_equal_slices_of_the_whole(seed: int) -> None:
    rng = np.random.default_rng(seed)
    chunk_sizes = rng.integers(0, 7, int(rng.integers(0, 6))).tolist()
    start, chunks = 0, []
    for size in chunk_sizes:
        ids = [str(i) for i in range(start, start + size)]
        chunks.append(pl.LazyFrame({"_uid": ids}, schema={"_uid": pl.String}))
        start += size
    total = start
    cuts = sorted(rng.integers(0, total + 1, int(rng.integers(0, 5))).tolist())
    sizes = np.diff([0, *cuts, total]).tolist()
    whole = pl.concat([c.collect() for c in chunks]) if chunks else pl.DataFrame()
    got = list(_consecutive(chunks, sizes))
    assert len(got) == len(sizes)
    offset = 0
    for size, rows in zip(sizes, got, strict=True):
        assert rows.height == size
        if size:
            assert rows.equals(whole.slice(offset, size))
        offset += size
