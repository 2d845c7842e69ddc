"""Clusters of records as people: deterministic identifier links, model links, one constraint.

Edges, strongest first:

1. **Shared identifiers** (deterministic): records holding the same valid identifier of a type
   linked with the ``identifier`` comparison are one person, whatever the model says. Each
   record is joined to the first record (smallest ``_uid``) sharing its value.
2. **Scored pairs** at or above the match threshold (curators' ``match`` decisions come with
   probability 1), strongest first.

**Constraint**: a cluster never holds two different valid identifiers of one type from one
source (a source lists a person once per identifier). Plain connected components are computed
first; only components that break the constraint are rebuilt, adding their edges strongest
first and refusing a scored edge that would join two such identifiers: the cluster is split
at its weakest links. Shared-identifier edges are never refused (a record holding the same
NHS number as another is that person); if such a group holds two different identifiers of
another type from one source, it is kept and counted as a conflict.

Cluster labels are the number of each cluster's smallest ``_uid`` in sorted ``_uid`` order, so
reruns label alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from linkage.cluster import component_minimum
from pipeline.entities import UID
from pipeline.sorted_lookup import find_sorted

PAIR_L, PAIR_R, PROBABILITY = "_uid_l", "_uid_r", "match_probability"
_DETERMINISTIC = 2.0  # edge strength above any probability
_Key = tuple[str, str]  # (source, identifier column)


@dataclass(frozen=True)
class ClusterCounts:
    """What the identifiers did to the clusters (counts only)."""

    identifier_links: int  # records joined to another record by a shared identifier
    links_refused: int  # scored links refused by the constraint
    conflicting_groups: int  # shared-identifier groups holding conflicting identifiers

    def as_dict(self) -> dict[str, int]:
        return {
            "identifier_links": self.identifier_links,
            "links_refused_by_identifier_constraint": self.links_refused,
            "identifier_conflicts_kept": self.conflicting_groups,
        }


def identifier_edges(records: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``_uid_l``, ``_uid_r``: each record holding a value of ``columns`` joined to the first
    record (smallest ``_uid``) holding the same value in the same column."""
    parts = []
    for column in columns:
        held = records.select(UID, column).drop_nulls(column)
        first = held.group_by(column).agg(pl.col(UID).min().alias(PAIR_L))
        parts.append(
            held.join(first, on=column)
            .filter(pl.col(UID) != pl.col(PAIR_L))
            .select(PAIR_L, pl.col(UID).alias(PAIR_R))
        )
    if not parts:
        return pl.DataFrame(schema={PAIR_L: pl.String, PAIR_R: pl.String})
    return pl.concat(parts).unique(maintain_order=True)


def cluster_records(
    records: pl.DataFrame,
    pairs: pl.DataFrame,
    *,
    threshold: float,
    identifiers: Sequence[str] = (),
) -> tuple[pl.DataFrame, ClusterCounts]:
    """Cluster labels (``_uid``, ``cluster``) for ``records`` (``_uid``, ``_source`` and the
    identifier columns ``identifiers``), from the scored ``pairs`` (``_uid_l``, ``_uid_r``,
    ``match_probability``) at ``threshold`` and the shared identifiers (module docstring).

    Records are numbered by their ``_uid`` in sorted order, and every edge is a pair of those
    numbers: the ids are sorted once, never joined on (at tens of millions of records each
    copy of them, and each join's hash table, costs gigabytes)."""
    uids = records.get_column(UID)
    order = uids.arg_sort().to_numpy()
    nodes = uids.gather(order)
    node_of = np.empty(len(order), dtype=np.int64)  # record row -> its node
    node_of[order] = np.arange(len(order), dtype=np.int64)
    fixed = _identifier_node_edges(records, node_of, identifiers)
    scored = pairs.filter(pl.col(PROBABILITY) >= threshold)
    found = pl.DataFrame(
        {
            "a": _nodes_of(nodes, scored.get_column(PAIR_L).cast(pl.String)),
            "b": _nodes_of(nodes, scored.get_column(PAIR_R).cast(pl.String)),
            PROBABILITY: scored.get_column(PROBABILITY).cast(pl.Float64),
        }
    ).filter((pl.col("a") >= 0) & (pl.col("b") >= 0))
    edges = pl.concat([fixed.with_columns(pl.lit(_DETERMINISTIC).alias(PROBABILITY)), found]).sort(
        [PROBABILITY, "a", "b"], descending=[True, False, False]
    )
    del scored, found
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    component = component_minimum(len(nodes), a, b)
    held = _held_identifiers(records, node_of, identifiers)
    held = held.with_columns(pl.Series("__component", component[held["__node"].to_numpy()]))
    broken = _broken_components(held)
    refused = conflicts = 0
    if broken.size:
        inside = np.isin(component[a], broken)
        strength = edges[PROBABILITY].to_numpy()[inside]
        rebuilt = _ConstrainedUnion(_values(held.filter(pl.col("__component").is_in(broken))))
        refused, conflicts = rebuilt.add(
            zip(a[inside], b[inside], strength >= _DETERMINISTIC, strict=True)
        )
        members = np.flatnonzero(np.isin(component, broken))
        component[members] = [rebuilt.find(int(n)) for n in members]
    # the label is the number of the cluster's smallest _uid: an integer, not a copy of the ids
    labels = pl.DataFrame({UID: nodes, "cluster": pl.Series(component, dtype=pl.Int64)})
    return labels, ClusterCounts(fixed.height, refused, conflicts)


def _nodes_of(nodes: pl.Series, uids: pl.Series) -> np.ndarray:
    """The node of each of ``uids`` in the sorted ``nodes`` (-1 where it is not one)."""
    at, hit = find_sorted(nodes, uids)
    return np.where(hit, at, -1)


def _identifier_node_edges(
    records: pl.DataFrame, node_of: np.ndarray, columns: Sequence[str]
) -> pl.DataFrame:
    """:func:`identifier_edges` as nodes ``a`` (the first record) and ``b``."""
    parts = []
    for column in columns:
        held = pl.DataFrame({"b": node_of, "__value": records.get_column(column)})
        held = held.drop_nulls("__value")
        first = held.group_by("__value").agg(pl.col("b").min().alias("a"))
        parts.append(
            held.join(first, on="__value").filter(pl.col("b") != pl.col("a")).select("a", "b")
        )
    if not parts:
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    return pl.concat(parts).unique(maintain_order=True)


def _held_identifiers(
    records: pl.DataFrame, node_of: np.ndarray, identifiers: Sequence[str]
) -> pl.DataFrame:
    """``_source``, ``__column``, ``__value``, ``__node``: one row per identifier held."""
    schema = pl.Schema(
        {"_source": pl.String, "__column": pl.String, "__value": pl.String, "__node": pl.Int64}
    )
    parts = [
        records.select(
            pl.col("_source").cast(pl.String),
            pl.lit(c).alias("__column"),
            pl.col(c).cast(pl.String).alias("__value"),
            pl.Series("__node", node_of),
        ).drop_nulls("__value")
        for c in identifiers
    ]
    return pl.concat([pl.DataFrame(schema=schema), *parts])


def _broken_components(held: pl.DataFrame) -> np.ndarray:
    """Components holding two different values for one source and identifier column."""
    counted = held.group_by("__component", "_source", "__column").agg(
        pl.col("__value").n_unique().alias("__values")
    )
    broken = counted.filter(pl.col("__values") > 1)["__component"].unique().sort()
    return broken.to_numpy().astype(np.int64)


def _values(held: pl.DataFrame) -> dict[int, dict[_Key, str]]:
    """Node -> {(source, identifier column): value}."""
    values: dict[int, dict[_Key, str]] = {}
    for node, source, column, value in held.select(
        "__node", "_source", "__column", "__value"
    ).iter_rows():
        values.setdefault(int(node), {})[(str(source), str(column))] = str(value)
    return values


class _ConstrainedUnion:
    """Union-find whose sets remember their identifier values and refuse conflicting merges."""

    def __init__(self, values: dict[int, dict[_Key, str]]) -> None:
        self.parent: dict[int, int] = {}
        self.held = {node: dict(v) for node, v in values.items()}

    def find(self, node: int) -> int:
        """The root of ``node``'s set: its smallest node (the smaller root always wins)."""
        root = node
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while node != root:  # path compression
            self.parent[node], node = root, self.parent.get(node, node)
        return root

    def add(self, edges: Iterable[tuple[int, int, bool]]) -> tuple[int, int]:
        """Merge along ``edges`` (a, b, forced) in order; returns (refused, forced conflicts)."""
        refused = conflicts = 0
        for a, b, forced in edges:
            ra, rb = self.find(int(a)), self.find(int(b))
            if ra == rb:
                continue
            va, vb = self.held.get(ra, {}), self.held.get(rb, {})
            clash = any(vb.get(key, value) != value for key, value in va.items())
            if clash and not forced:
                refused += 1
                continue
            conflicts += clash
            root, child = min(ra, rb), max(ra, rb)
            self.parent[child] = root
            self.held[root] = {**vb, **va} if root == ra else {**va, **vb}
            self.held.pop(child, None)
        return refused, conflicts
