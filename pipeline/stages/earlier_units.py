"""Units of the earlier-delivery summary (:mod:`pipeline.stages.earlier_summary`): rows of the
earlier extracts connected through any key value share a unit, as the linked views connect
them (:func:`pipeline.disclosure.linked_views.Delivery`).

A row's label is written once, with its part. A later extract whose rows connect several
earlier units merges them under the smallest of their labels: the merge table maps each
merged label to the unit (root) it now belongs to, so parts are never rewritten. ``count`` is
the number of units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.atomic import write_with_atomic

UNIT = "__unit"
_LABEL, _ROOT = "label", "root"
Parts = Sequence[tuple[Path, Sequence[str]]]  # (part file, its key columns)


class Units:
    """The merge table, unit count and next free label of a summary."""

    def __init__(self, merges: pl.DataFrame, count: int, next_label: int) -> None:
        self.merges, self.count, self.next_label = merges, count, next_label

    @classmethod
    def empty(cls) -> Units:
        return cls(pl.DataFrame(schema={_LABEL: pl.Int64, _ROOT: pl.Int64}), 0, 0)

    @classmethod
    def load(cls, folder: Path, document: Mapping[str, Any]) -> Units:
        merges = pl.read_parquet(folder / document["merges"])
        return cls(merges, int(document["count"]), int(document["next_label"]))

    def save(self, folder: Path, sequence: int) -> dict[str, Any]:
        """Write the merge table as a new file; its entry for ``summary.json``."""
        name = f"merges-{sequence:06d}.parquet"
        write_with_atomic(folder / name, self.merges.write_parquet)
        return {"merges": name, "count": self.count, "next_label": self.next_label}

    def root(self, labels: pl.Series) -> pl.Series:
        """The unit each label now belongs to."""
        if self.merges.is_empty():
            return labels
        return labels.replace(self.merges.get_column(_LABEL), self.merges.get_column(_ROOT))

    def labels_of(self, roots: pl.Series) -> pl.Series:
        """Every label written for rows of the units ``roots``."""
        merged = self.merges.filter(pl.col(_ROOT).is_in(roots.implode())).get_column(_LABEL)
        return pl.concat([roots, merged]).alias(UNIT)

    def roots_meeting(self, values: Mapping[str, pl.Series], parts: Parts) -> pl.Series:
        """The units holding any of ``values`` (per key column) in any part."""
        labels = [pl.Series(UNIT, [], pl.Int64)]
        for path, keys in parts:
            held = [k for k in keys if k in values]
            if held:
                hit = pl.any_horizontal(pl.col(k).is_in(values[k].implode()) for k in held)
                scan = pl.scan_parquet(path).filter(hit).select(pl.col(UNIT).unique())
                labels.append(scan.collect().get_column(UNIT))
        return self.root(pl.concat(labels)).unique().sort()

    def label(self, frame: pl.DataFrame, keys: Sequence[str], parts: Parts) -> pl.Series:
        """Labels for the rows of a new extract (keys hashed) joining the units of ``parts``;
        updates the merge table and the count."""
        rows = frame.height
        if not rows:
            return pl.Series(UNIT, [], pl.Int64)
        edges = pl.concat(
            [
                frame.select(
                    pl.int_range(rows, dtype=pl.Int64).alias("row"),
                    pl.lit(i, dtype=pl.Int8).alias("key"),
                    pl.col(k).alias("value"),
                ).drop_nulls("value")
                for i, k in enumerate(keys)
            ]
        )
        values = edges.select("key", "value").unique(maintain_order=True)
        values = values.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("node") + rows)
        old = self._earlier_holders(values, keys, parts)
        roots = old.get_column(_ROOT).unique().sort()
        base = rows + values.height
        root_nodes = pl.DataFrame({_ROOT: roots, "rnode": pl.int_range(roots.len(), eager=True)})
        pairs = [
            edges.join(values, on=["key", "value"]).select("row", "node"),
            old.join(values, on=["key", "value"])
            .join(root_nodes, on=_ROOT)
            .select(pl.col("node").alias("row"), (pl.col("rnode") + base).alias("node")),
        ]
        group = _components(pl.concat(pairs), base + roots.len())
        return self._assign(group[:rows], pl.DataFrame({"group": group[base:], _ROOT: roots}))

    def _earlier_holders(
        self, values: pl.DataFrame, keys: Sequence[str], parts: Parts
    ) -> pl.DataFrame:
        """(key, value, root) for every value of ``values`` an earlier part holds (``key``:
        the index of the key column in ``keys``)."""
        found = [pl.DataFrame(schema={"key": pl.Int8, "value": pl.Int64, _ROOT: pl.Int64})]
        for path, held in parts:
            for k in held:
                if k not in keys:
                    continue
                wanted = values.filter(pl.col("key") == keys.index(k)).get_column("value")
                if wanted.is_empty():
                    continue
                scan = pl.scan_parquet(path).select(pl.col(k).alias("value"), UNIT)
                hits = scan.filter(pl.col("value").is_in(wanted.implode())).unique().collect()
                found.append(
                    hits.select(
                        pl.lit(keys.index(k), dtype=pl.Int8).alias("key"),
                        "value",
                        self.root(hits.get_column(UNIT)).alias(_ROOT),
                    )
                )
        return pl.concat(found).unique()

    def _assign(self, row_groups: np.ndarray, root_groups: pl.DataFrame) -> pl.Series:
        """Each row's label: its group's smallest earlier root, or a new label; the other
        roots of a group are merged into the smallest."""
        smallest = root_groups.group_by("group").agg(pl.col(_ROOT).min().alias("keep"))
        groups = pl.DataFrame({"group": row_groups}).with_row_index("row")
        fresh = groups.select("group").unique().join(smallest, on="group", how="anti").sort("group")
        fresh = fresh.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + self.next_label).alias("keep")
        )
        labels = groups.join(pl.concat([smallest, fresh]), on="group").sort("row")
        merged = root_groups.join(smallest, on="group").filter(pl.col(_ROOT) != pl.col("keep"))
        self._merge(merged.select(_ROOT, "keep"))
        self.count += groups.get_column("group").n_unique() - root_groups.height
        self.next_label += fresh.height
        return labels.get_column("keep").alias(UNIT)

    def _merge(self, merged: pl.DataFrame) -> None:
        """Record roots ``merged[root]`` as now part of ``merged[keep]``."""
        if merged.is_empty():
            return
        into = self.merges.get_column(_ROOT).replace(merged.get_column(_ROOT), merged["keep"])
        new = merged.select(pl.col(_ROOT).alias(_LABEL), pl.col("keep").alias(_ROOT))
        self.merges = pl.concat([self.merges.with_columns(into.alias(_ROOT)), new])


def _components(pairs: pl.DataFrame, nodes: int) -> np.ndarray:
    """Connected component of each of ``nodes`` nodes given edges (``row``, ``node``)."""
    a, b = pairs.get_column("row").to_numpy(), pairs.get_column("node").to_numpy()
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(nodes, nodes))
    return connected_components(graph, directed=False)[1]
