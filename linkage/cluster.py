"""Turning scored pairs into entities: one-to-one matching and connected components."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def component_minimum(
    n_nodes: int, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """For each node, the smallest node index in its connected component.

    Using the smallest member (not scipy's arbitrary label) makes cluster ids stable across
    reruns and independent of edge order.
    """
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1 if n_nodes else 0, n_nodes, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n_nodes, dtype=np.int64))
    return np.asarray(smallest[labels], dtype=np.int64)


def one_to_one(
    pairs: pl.DataFrame, *, weight: str = "match_weight", left: str = "id_l", right: str = "id_r"
) -> pl.DataFrame:
    """Keep pairs so that no left or right id appears twice, greedily by descending weight.

    Implemented as rounds of mutually-best pairs (a pair is kept when it is the heaviest
    remaining pair for both its ids, ties broken by id), which selects exactly what the
    sequential greedy algorithm selects, but vectorised.
    """
    remaining = pairs.sort([weight, left, right], descending=[True, False, False]).with_row_index(
        "__order"
    )
    kept = []
    while remaining.height:
        best_l = remaining.group_by(left).agg(pl.col("__order").min().alias("__bl"))
        best_r = remaining.group_by(right).agg(pl.col("__order").min().alias("__br"))
        chosen = (
            remaining.join(best_l, on=left)
            .join(best_r, on=right)
            .filter((pl.col("__order") == pl.col("__bl")) & (pl.col("__order") == pl.col("__br")))
            .drop("__bl", "__br")
        )
        kept.append(chosen)
        remaining = remaining.join(chosen.select(left), on=left, how="anti").join(
            chosen.select(right), on=right, how="anti"
        )
    if not kept:
        return pairs.clear()
    return pl.concat(kept).sort("__order").drop("__order")
