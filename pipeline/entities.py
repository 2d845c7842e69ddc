"""Stable entity numbers across runs: the entity registry.

A scheduled pipeline delivers each batch of new input files once. For a researcher to follow a
person across deliveries, the same person must get the same ``person_id`` in every delivery of
a project, even when the records arrive in different runs. The registry
(:mod:`pipeline.registry`) keeps every linked record of earlier runs (``_uid``, ``_source``,
the person roles and ``id_*`` columns the linker reads) with the entity number it was given.
A new batch is linked *together with* the registry's records it can be linked with (those
sharing a blocking key or a deterministic identifier with one of its records,
:mod:`pipeline.stages.link_keys`), and then:

* a cluster holding records of earlier runs keeps their entity number (the smallest, when new
  records join two earlier entities: they are counted as ``merged``, and records delivered
  before keep the numbers they were delivered with);
* a cluster of new records only gets a new number, after the largest in the registry (leaving
  out the batch's own rows, so a rerun numbers them the same way), in the order of each
  cluster's smallest ``_uid``.

Entity numbers never leave: the pseudonymise stage turns them into keyed pseudonyms (type
``person``) in the project's environment, so two projects' extracts cannot be joined on them.
The registry holds identifying data and lives in the work folder, outside the delivery folder.
Rows are keyed by ``_uid``: a batch processed again (a rerun after a killed run, or
``--all``) replaces its own rows instead of adding copies.

Earlier records that share no key with the batch are not read: they could not be paired with
a new record. What that leaves out, compared with linking the whole history again (the model
is trained on the batch and the history it reads, and pairs of two earlier records outside
it are not decided again), is measured in ``tests/pipeline/test_incremental_link.py`` and
``benchmarks/SCALING_pipeline.md``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.sorted_lookup import find_sorted

UID = "_uid"
ENTITY = "_entity"
EXISTING = "_entity_existing"  # the record joined an entity of an earlier run
MERGED = "_entity_merged"  # ... and its cluster joined two or more of them


def assign_entities(
    clusters: pl.DataFrame, history: pl.DataFrame | None, *, last_entity: int | None = None
) -> pl.DataFrame:
    """Entity numbers for the records of ``clusters`` (``_uid``, ``cluster``) that are not in
    ``history``: ``_uid``, ``_entity``, ``linked`` (its cluster has another record),
    ``_entity_existing`` and ``_entity_merged`` (see the module docstring), in ``_uid`` order.
    New entities are numbered after ``last_entity`` (the largest in the whole registry when
    ``history`` holds only part of it; by default the largest in ``history``).

    Records are handled by their row number in ``_uid`` order and joined on nothing but the
    cluster label: at tens of millions of records each join on the ``_uid`` text (its hash
    table and its output's copy of the ids) costs gigabytes."""
    ordered = clusters.select(UID, "cluster")
    if not ordered.get_column(UID).is_sorted():
        ordered = ordered.sort(UID)
    uids = ordered.get_column(UID)
    known = _known_entities(uids, history)
    if last_entity is None:
        top = None if history is None or history.height == 0 else history.get_column(ENTITY).max()
        last_entity = 0 if top is None else int(top)  # type: ignore[arg-type]
    labelled = pl.DataFrame({"cluster": ordered.get_column("cluster"), ENTITY: known})
    labelled = labelled.with_row_index("__row")
    per_cluster = labelled.group_by("cluster").agg(
        pl.col(ENTITY).min().alias("__old"),
        pl.col(ENTITY).drop_nulls().n_unique().alias("__old_count"),
        pl.col("__row").filter(pl.col(ENTITY).is_null()).min().alias("__first_new"),
        pl.len().alias("__size"),
    )
    fresh = (
        per_cluster.filter(pl.col("__old").is_null())
        .sort("__first_new")
        .with_row_index("__n", offset=1)
        .select("cluster", "__n")
    )
    per_cluster = per_cluster.join(fresh, on="cluster", how="left").with_columns(
        pl.coalesce("__old", pl.col("__n").cast(pl.Int64) + last_entity).alias(ENTITY),
        pl.col("__old").is_not_null().alias(EXISTING),
        (pl.col("__old_count") > 1).alias(MERGED),
        (pl.col("__size") > 1).alias("linked"),
    )
    batch = labelled.filter(pl.col(ENTITY).is_null()).select("__row", "cluster")
    del labelled
    numbered = batch.join(
        per_cluster.select("cluster", ENTITY, "linked", EXISTING, MERGED),
        on="cluster",
        maintain_order="left",
    )
    rows = numbered.get_column("__row")
    return numbered.select(uids.gather(rows).alias(UID), ENTITY, "linked", EXISTING, MERGED)


def _known_entities(uids: pl.Series, history: pl.DataFrame | None) -> pl.Series:
    """The entity number of each of ``uids`` (sorted) that ``history`` holds, else null."""
    values = np.zeros(len(uids), dtype=np.int64)
    held = np.zeros(len(uids), dtype=bool)
    if history is not None and history.height:
        earlier = history.select(UID, pl.col(ENTITY).cast(pl.Int64)).sort(UID)
        at, hit = find_sorted(uids, earlier.get_column(UID))
        values[at[hit]] = earlier.get_column(ENTITY).to_numpy()[hit]
        held[at[hit]] = True
    return pl.Series(ENTITY, values).set(pl.Series(~held), None)


def entity_summary(linked: pl.DataFrame, earlier_records: int) -> dict[str, int]:
    """Counts for the manifest (no values) from the batch's entity columns; ``earlier_records``
    counts the registry's records of earlier runs."""
    if ENTITY not in linked.columns:
        return {}
    existing = linked.filter(pl.col(EXISTING))
    return {
        "earlier_records": earlier_records,
        "records_joining_earlier_entities": existing.height,
        "new_entities": linked.filter(~pl.col(EXISTING))[ENTITY].n_unique(),
        "entities_merged_by_new_records": existing.filter(pl.col(MERGED))[ENTITY].n_unique(),
    }
