"""The binary-search lookup shared by entity numbering, the link stage and the leak check:
the same answers as a hash-based ``isin`` and a plain ``searchsorted``, probes sorted or not,
as numpy arrays or polars Series (numbers and strings)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.disclosure.hashed_lookup import HashedLookup
from pipeline.sorted_lookup import find_sorted, sorted_member


def _case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    known = np.sort(rng.integers(0, 50, int(rng.integers(0, 40))).astype(np.uint64))
    probes = rng.integers(0, 60, int(rng.integers(0, 80))).astype(np.uint64)
    return known, probes


@pytest.mark.parametrize("seed", range(20))
def test_membership_is_isin(seed: int) -> None:
    known, probes = _case(seed)
    expected = np.isin(probes, known).tolist()
    assert sorted_member(known, probes).tolist() == expected
    assert sorted_member(pl.Series(known), pl.Series(probes)).tolist() == expected
    ordered = np.sort(probes)
    assert sorted_member(known, ordered).tolist() == np.isin(ordered, known).tolist()


@pytest.mark.parametrize("seed", range(20))
def test_positions_are_those_of_searchsorted(seed: int) -> None:
    known, probes = _case(seed)
    at, hit = find_sorted(known, probes)
    if known.size:
        expected = np.minimum(np.searchsorted(known, probes), known.size - 1)
        assert at.tolist() == expected.tolist()
        assert known[at[hit]].tolist() == probes[hit].tolist()
    else:
        assert not hit.any()
    assert at.dtype == np.int64 and len(at) == len(probes)


@pytest.mark.parametrize("seed", range(10))
def test_string_ids(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"h|f|{n}" for n in rng.integers(0, 500, 200)]
    haystack = pl.Series(sorted(set(ids[:120])))
    needles = pl.Series(ids[80:])
    at, hit = find_sorted(haystack, needles)
    assert hit.tolist() == needles.is_in(haystack.implode()).to_list()
    assert (
        haystack.gather(at).filter(pl.Series(hit)).to_list()
        == needles.filter(pl.Series(hit)).to_list()
    )


def test_hashed_lookup_joins_as_a_join() -> None:
    rng = np.random.default_rng(3)
    table = pl.DataFrame({"v": [f"x{n}" for n in range(300)], "w": range(300)})
    frame = pl.DataFrame({"v": [f"x{n}" for n in rng.integers(0, 600, 400)]})
    got = HashedLookup(table, "v").join(frame).sort("v", "w")
    assert got.equals(frame.join(table, on="v").sort("v", "w"))
