"""Entity naming by row numbers in ``_uid`` order (pipeline/entities.py) and the batch put
back in its own order (pipeline/stages/link.py ``in_order_of``) give exactly what the earlier
joins on the ``_uid`` text give; those joins are kept here as the reference."""

from __future__ import annotations

import random

import polars as pl
import pytest

from pipeline.entities import ENTITY, EXISTING, MERGED, UID, assign_entities
from pipeline.stages.link import _without_cluster, in_order_of


def _reference(clusters: pl.DataFrame, history: pl.DataFrame | None) -> pl.DataFrame:
    """The naming rule written with joins on the _uid text."""
    if history is None or history.height == 0:
        known = pl.DataFrame(schema={UID: pl.String, ENTITY: pl.String})
    else:
        known = history.select(UID, pl.col(ENTITY).cast(pl.String))
    labelled = clusters.select(UID, "cluster").join(known, on=UID, how="left")
    per_cluster = labelled.group_by("cluster").agg(
        pl.col(ENTITY).min().alias("__old"),
        pl.col(ENTITY).drop_nulls().n_unique().alias("__old_count"),
        pl.col(UID).filter(pl.col(ENTITY).is_null()).min().alias("__first_new"),
        pl.len().alias("__size"),
    )
    per_cluster = per_cluster.with_columns(
        pl.coalesce("__old", "__first_new").alias(ENTITY),
        pl.col("__old").is_not_null().alias(EXISTING),
        (pl.col("__old_count") > 1).alias(MERGED),
        (pl.col("__size") > 1).alias("linked"),
    )
    batch = labelled.filter(pl.col(ENTITY).is_null()).select(UID, "cluster")
    return batch.join(
        per_cluster.select("cluster", ENTITY, "linked", EXISTING, MERGED), on="cluster"
    ).drop("cluster")


def _case(seed: int) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.Series]:
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    uids = [f"s{rng.randint(0, 2)}|f{rng.randint(0, 9)}|{i}" for i in range(n)]
    rng.shuffle(uids)
    labels = [rng.randint(0, max(1, n // 3)) for _ in uids]
    clusters = pl.DataFrame({UID: uids, "cluster": labels})
    earlier = rng.sample(uids, rng.randint(0, n // 2))
    history = (
        pl.DataFrame({UID: earlier, ENTITY: [rng.randint(1, 50) for _ in earlier]})
        if earlier or rng.random() < 0.5
        else None
    )
    batch = [u for u in uids if u not in set(earlier)]
    rng.shuffle(batch)
    return clusters, history, pl.Series(UID, batch, dtype=pl.String)


@pytest.mark.parametrize("seed", range(40))
def test_numbering_by_rows_equals_the_joins_on_ids(seed: int) -> None:
    clusters, history, batch = _case(seed)
    expected = batch.to_frame().join(
        _reference(clusters, history), on=UID, how="left", maintain_order="left"
    )
    got = in_order_of(batch, assign_entities(clusters, history))
    assert got.equals(expected)
    assert got.get_column(UID).equals(batch)


def test_a_batch_the_numbering_does_not_cover_is_joined_and_left_null() -> None:
    assigned = assign_entities(pl.DataFrame({UID: ["b", "a"], "cluster": [1, 1]}), None)
    got = in_order_of(pl.Series(UID, ["c", "a", "b"]), assigned)
    assert got.get_column(UID).to_list() == ["c", "a", "b"]
    assert got.get_column(ENTITY).to_list() == [None, "a", "a"]


def test_records_without_a_cluster_are_counted() -> None:
    records = pl.Series(UID, ["a", "b", "c", "d"])
    assert _without_cluster(records, pl.Series(UID, ["d", "b", "a", "c"])) == 0
    assert _without_cluster(records, pl.Series(UID, ["a", "c"])) == 2
    assert _without_cluster(records, pl.Series(UID, [], dtype=pl.String)) == 4
