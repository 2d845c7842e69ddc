"""Membership and position of many values in a large sorted column, by binary search.

A join or ``is_in`` on tens of millions of values builds a hash table of them (gigabytes for
string ids); a binary search over the sorted column builds nothing. The probes are sorted
first, so the searches walk the column in order: ten times faster than random probes at 20M
values (cache misses, not comparisons, are the cost).
"""

from __future__ import annotations

import numpy as np
import polars as pl

Values = pl.Series | np.ndarray


def find_sorted(haystack: Values, needles: Values) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``needles`` stands in the sorted ``haystack`` (an index into it, clipped
    to its last row) and whether it is there, both in the order of ``needles``."""
    column, probes = _series(haystack), _series(needles)
    if column.is_empty():
        return np.zeros(probes.len(), dtype=np.int64), np.zeros(probes.len(), dtype=bool)
    order = None if probes.is_sorted() else probes.arg_sort().to_numpy()
    ordered = probes if order is None else probes.gather(order)
    at = np.minimum(column.search_sorted(ordered).to_numpy(), column.len() - 1).astype(np.int64)
    hit = (column.gather(at) == ordered).fill_null(False).to_numpy()
    if order is None:
        return at, hit
    at_out, hit_out = np.empty_like(at), np.empty_like(hit)
    at_out[order], hit_out[order] = at, hit
    return at_out, hit_out


def sorted_member(haystack: Values, needles: Values) -> np.ndarray:
    """Whether each of ``needles`` is in the sorted ``haystack`` (see :func:`find_sorted`)."""
    return find_sorted(haystack, needles)[1]


def _series(values: Values) -> pl.Series:
    return values if isinstance(values, pl.Series) else pl.Series(values)
