"""Turning scored pairs into entities: one-to-one matching and clustering.

:func:`cluster_records` is what :meth:`Linker.cluster <linkage.linker.Linker.cluster>` runs:

* ``method="components"``: connected components over the pairs at or above the threshold;
* ``method="best_link"``: only each record's best-scoring pair(s) at or above the threshold
  are edges, then components. A household member who scores just above the threshold with
  a person, but better with no one, no longer chains two people's records together;
* ``one_value_per_source=[column, ...]``: edges are merged greedily, most probable first,
  and a merge is refused when the cluster would hold two different non-null values of one of
  these columns from the same input (a valid NHS number, say): two records with different
  identifiers are two people, however alike the rest of them is.

Cluster ids are the smallest member id (dedupe) or that id prefixed by its side (link), so
reruns on the same data give the same ids, whatever the order of the pairs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from linkage.backend import DuckDBBackend
from linkage.blocking import RID, LinkType
from linkage.errors import InputDataError, SettingsError
from linkage.sql import quote
from linkage.tables import LEFT_TABLE, RIGHT_TABLE

ClusterMethod = Literal["components", "best_link"]
IntArray = npt.NDArray[np.int64]
#: Edges read from DuckDB per batch when clustering.
EDGE_BATCH = 1_000_000


def component_minimum(n_nodes: int, a: IntArray, b: IntArray) -> IntArray:
    """For each node, the smallest node index in its connected component.

    Using the smallest member (not scipy's arbitrary label) makes cluster ids stable across
    reruns and independent of edge order.
    """
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    return _smallest_member(n_nodes, np.asarray(labels, dtype=np.int64))


def _smallest_member(n_nodes: int, labels: IntArray) -> IntArray:
    smallest = np.full(labels.max() + 1 if n_nodes else 0, n_nodes, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n_nodes, dtype=np.int64))
    return np.asarray(smallest[labels], dtype=np.int64)


def best_links(
    n_nodes: int, a: IntArray, b: IntArray, weight: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Edges that are the heaviest of at least one of their two ends (ties all kept)."""
    best = np.full(n_nodes, -np.inf)
    np.maximum.at(best, a, weight)
    np.maximum.at(best, b, weight)
    return np.asarray((weight >= best[a]) | (weight >= best[b]))


class ConstrainedMerge:
    """Union-find that merges edges in the order given (heaviest first) and refuses a merge
    when the two clusters hold different values (codes >= 0; -1 is none) in any column of
    ``values`` (one row per node). Fed edge batch by edge batch."""

    def __init__(self, values: npt.NDArray[np.int64]) -> None:
        self.parent = np.arange(len(values), dtype=np.int64)
        self.held = values.copy()

    def root(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    def merge(self, a: IntArray, b: IntArray) -> None:
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            ra, rb = self.root(x), self.root(y)
            if ra == rb:
                continue
            va, vb = self.held[ra], self.held[rb]
            if np.any((va >= 0) & (vb >= 0) & (va != vb)):
                continue
            self.parent[rb] = ra
            self.held[ra] = np.where(va >= 0, va, vb)

    def smallest(self) -> IntArray:
        n = len(self.parent)
        roots = np.array([self.root(x) for x in range(n)], dtype=np.int64)
        return _smallest_member(n, roots)


def constrained_minimum(
    n_nodes: int,
    a: IntArray,
    b: IntArray,
    weight: npt.NDArray[np.float64],
    values: npt.NDArray[np.int64],
) -> IntArray:
    """Smallest node of each cluster when edges are merged heaviest first and a merge is
    refused if the two clusters hold different values (see :class:`ConstrainedMerge`)."""
    merge = ConstrainedMerge(values[:n_nodes])
    order = np.argsort(-weight, kind="stable")
    merge.merge(a[order], b[order])
    return merge.smallest()


Edges = Iterator[tuple[IntArray, IntArray, npt.NDArray[np.float64]]]


def streamed_components(n_nodes: int, edges: Edges) -> IntArray:
    """:func:`component_minimum` over edges read batch by batch: each batch's components
    are taken over the current labels (each the smallest member so far), so memory holds
    the labels and one batch, never every edge."""
    labels = np.arange(n_nodes, dtype=np.int64)
    for a, b, _ in edges:
        labels = component_minimum(n_nodes, labels[a], labels[b])[labels]
    return labels


class _Stream(Protocol):
    def __call__(self, *, ordered: bool = False) -> Edges: ...


class _EdgeStream:
    """The pairs at or above a threshold as node indices (left row id; right row id after
    the left ones in a link) and probabilities, read from DuckDB in batches."""

    def __init__(self, backend: DuckDBBackend, sql: str) -> None:
        self.backend, self.sql = backend, sql

    def __call__(self, *, ordered: bool = False) -> Edges:
        order = " ORDER BY w DESC, a, b" if ordered else ""
        reader = self.backend.con.sql(self.sql + order).to_arrow_reader(EDGE_BATCH)
        for batch in reader:
            a = batch.column("a").to_numpy().astype(np.int64)
            b = batch.column("b").to_numpy().astype(np.int64)
            yield a, b, batch.column("w").to_numpy().astype(np.float64)


def _edges_sql(
    link_type: LinkType, id_column: str, source: str, threshold: float, offset: int
) -> str:
    right = LEFT_TABLE if link_type == "dedupe_only" else RIGHT_TABLE
    id_col, rid = quote(id_column), quote(RID)
    return (
        f"SELECT l.{rid}::BIGINT AS a, r.{rid}::BIGINT + {offset} AS b, "
        f"p.match_probability::DOUBLE AS w FROM {source} p "
        f"JOIN {quote(LEFT_TABLE)} l ON l.{id_col} = p.id_l "
        f"JOIN {quote(right)} r ON r.{id_col} = p.id_r "
        f"WHERE p.match_probability >= {threshold!r}"
    )


def _cluster_nodes(
    edges: _EdgeStream,
    nodes: pl.DataFrame,
    method: ClusterMethod,
    one_value_per_source: Sequence[str],
) -> IntArray:
    """Each node's smallest cluster member, by ``method`` under the constraint."""
    n = nodes.height
    stream: _Stream = edges
    if method == "best_link":
        best = np.full(n, -np.inf)
        for a, b, w in edges():
            np.maximum.at(best, a, w)
            np.maximum.at(best, b, w)

        def best_only(*, ordered: bool = False) -> Edges:
            for a, b, w in edges(ordered=ordered):
                keep = (w >= best[a]) | (w >= best[b])
                yield a[keep], b[keep], w[keep]

        stream = best_only
    if not one_value_per_source:
        return streamed_components(n, stream())
    merge = ConstrainedMerge(_value_codes(nodes, one_value_per_source))
    for a, b, _ in stream(ordered=True):
        merge.merge(a, b)
    return merge.smallest()


def cluster_records(
    backend: DuckDBBackend,
    link_type: LinkType,
    id_column: str,
    pairs: pl.DataFrame | str,
    threshold: float,
    *,
    method: ClusterMethod = "components",
    one_value_per_source: Sequence[str] = (),
) -> pl.DataFrame:
    """Every input record with its ``cluster_id`` (and ``source_dataset`` for a link); see
    the module docstring for ``method`` and ``one_value_per_source``. ``pairs`` (``id_l``,
    ``id_r``, ``match_probability``) is a frame or a DuckDB table expression such as
    ``read_parquet([...])``: only pairs at or above the threshold are read, in batches."""
    if method not in ("components", "best_link"):
        raise SettingsError("cluster method must be 'components' or 'best_link'")
    if not 0.0 <= threshold <= 1.0:
        raise SettingsError("cluster threshold must be a probability in [0, 1]")
    tables = [LEFT_TABLE] if link_type == "dedupe_only" else [LEFT_TABLE, RIGHT_TABLE]
    sides = [_side(backend, t, id_column, one_value_per_source) for t in tables]
    nodes = pl.concat(
        [
            s.with_columns(pl.lit(n).alias("source_dataset"))
            for s, n in zip(sides, ("left", "right"), strict=False)
        ],
        how="vertical_relaxed",
    )
    source = pairs
    if isinstance(pairs, pl.DataFrame):
        source = "__cluster_pairs"
        backend.con.register(source, pairs.select("id_l", "id_r", "match_probability"))
    try:
        offset = 0 if link_type == "dedupe_only" else sides[0].height
        sql = _edges_sql(link_type, id_column, str(source), threshold, offset)
        smallest = _cluster_nodes(_EdgeStream(backend, sql), nodes, method, one_value_per_source)
    finally:
        if isinstance(pairs, pl.DataFrame):
            backend.con.unregister(str(source))
    if link_type == "dedupe_only":
        return nodes.select("id").with_columns(cluster_id=nodes["id"].gather(smallest))
    prefix = pl.when(pl.col("source_dataset") == "left").then(pl.lit("l:")).otherwise(pl.lit("r:"))
    labels = nodes.select((prefix + pl.col("id").cast(pl.String)).alias("label"))["label"]
    out = nodes.select("source_dataset", "id")
    return out.with_columns(cluster_id=labels.gather(smallest))


def _side(
    backend: DuckDBBackend, table: str, id_column: str, columns: Sequence[str]
) -> pl.DataFrame:
    """Ids (and the constrained columns) of one loaded input, in row-id order."""
    have = set(backend.columns(table))
    missing = [c for c in columns if c not in have]
    if missing:
        raise InputDataError(
            [f"one_value_per_source column {c!r} is not in the input" for c in missing]
        )
    extra = "".join(f", {quote(c)} AS {quote('__v_' + c)}" for c in columns)
    return backend.frame(
        f"SELECT {quote(id_column)} AS id{extra} FROM {quote(table)} ORDER BY {quote(RID)}"
    )


def _value_codes(nodes: pl.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.int64]:
    """One column of value codes per (constrained column, source): -1 where the node is of
    another source or its value is null."""
    out = []
    for column in columns:
        v = pl.col("__v_" + column).cast(pl.String)
        code = v.rank("dense").cast(pl.Int64).fill_null(0) - 1
        for source in nodes["source_dataset"].unique().sort():
            own = (pl.col("source_dataset") == source) & v.is_not_null()
            out.append(nodes.select(pl.when(own).then(code).otherwise(-1))[:, 0].to_numpy())
    return np.stack(out, axis=1).astype(np.int64)


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
