"""Stable entity ids across runs: the entity registry.

A scheduled pipeline delivers each batch of new input files once. For a researcher to follow a
person across deliveries, the same person must get the same ``person_id`` in every delivery of
a project, even when the records arrive in different runs. The registry
(:mod:`pipeline.registry`) keeps every linked record of earlier runs (``_uid``, ``_source``,
the person roles and ``id_*`` columns the linker reads) with the entity id it was given.
A new batch is linked *together with* the registry's records it can be linked with (those
sharing a blocking key or a deterministic identifier with one of its records,
:mod:`pipeline.stages.link_keys`), and then:

* a cluster holding records of earlier runs keeps their entity id (the smallest in text order,
  when new records join two earlier entities: they are counted as ``merged``, and records
  delivered before keep the ids they were delivered with);
* a cluster of new records only is a new entity, named after its founding record: the
  ``_uid`` (``source|file|row``) of its smallest record.

A new entity's id depends on its own records only. Numbering new entities in sequence did
not: one pair decided otherwise (say by a model trained on more history) moved the number, and
so the ``person_id``, of every later new entity in the batch. Named by a record, an entity
keeps its id when other records link differently, and a rerun of the same batch gives the same
ids. Registries written by pprl before this rule hold whole numbers (``"17"``); they are read as
text, which is what the pseudonymise stage always keyed, so their ``person_id``s do not change.

Entity ids never leave: the pseudonymise stage turns them into keyed pseudonyms (type
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

import polars as pl

from pipeline.sorted_lookup import find_sorted

UID = "_uid"
ENTITY = "_entity"
EXISTING = "_entity_existing"  # the record joined an entity of an earlier run
MERGED = "_entity_merged"  # ... and its cluster joined two or more of them


def assign_entities(clusters: pl.DataFrame, history: pl.DataFrame | None) -> pl.DataFrame:
    """Entity ids for the records of ``clusters`` (``_uid``, ``cluster``) that are not in
    ``history`` (``_uid``, ``_entity``): ``_uid``, ``_entity``, ``linked`` (its cluster has
    another record), ``_entity_existing`` and ``_entity_merged`` (see the module docstring), in
    ``_uid`` order.

    Records are handled by their row number in ``_uid`` order and grouped by nothing but the
    cluster label (an integer): at tens of millions of records each join or grouping on the
    ``_uid`` text (its hash table and its output's copy of the ids) costs gigabytes."""
    ordered = clusters.select(UID, "cluster")
    if not ordered.get_column(UID).is_sorted():
        ordered = ordered.sort(UID)
    uids = ordered.get_column(UID)
    label = ordered.get_column("cluster")
    known = _known_entities(uids, history)
    held = known.is_not_null()
    rows = pl.DataFrame({"cluster": label, "__row": pl.int_range(len(uids), eager=True)})
    fresh = rows.filter(~held)
    per_cluster = fresh.group_by("cluster").agg(
        pl.col("__row").min().alias("__first_new"), pl.len().alias("__new")
    )
    if held.any():
        earlier = pl.DataFrame({"cluster": label.filter(held), ENTITY: known.filter(held)})
        old = earlier.group_by("cluster").agg(
            pl.col(ENTITY).min().alias("__old"),
            pl.col(ENTITY).n_unique().alias("__old_count"),
            pl.len().alias("__earlier"),
        )
        per_cluster = per_cluster.join(old, on="cluster", how="left")
    else:
        per_cluster = per_cluster.with_columns(
            pl.lit(None, pl.String).alias("__old"),
            pl.lit(0, pl.UInt32).alias("__old_count"),
            pl.lit(0, pl.UInt32).alias("__earlier"),
        )
    founder = uids.gather(per_cluster.get_column("__first_new"))
    per_cluster = per_cluster.with_columns(
        pl.coalesce("__old", founder).alias(ENTITY),
        pl.col("__old").is_not_null().alias(EXISTING),
        (pl.col("__old_count").fill_null(0) > 1).alias(MERGED),
        (pl.col("__new") + pl.col("__earlier").fill_null(0) > 1).alias("linked"),
    )
    numbered = fresh.join(
        per_cluster.select("cluster", ENTITY, "linked", EXISTING, MERGED),
        on="cluster",
        maintain_order="left",
    )
    at = numbered.get_column("__row")
    return numbered.select(uids.gather(at).alias(UID), ENTITY, "linked", EXISTING, MERGED)


def _known_entities(uids: pl.Series, history: pl.DataFrame | None) -> pl.Series:
    """The entity id of each of ``uids`` (sorted) that ``history`` holds, else null."""
    known = pl.repeat(None, len(uids), dtype=pl.String, eager=True).alias(ENTITY)
    if history is not None and history.height:
        earlier = history.select(UID, pl.col(ENTITY).cast(pl.String)).sort(UID)
        at, hit = find_sorted(uids, earlier.get_column(UID))
        known = known.scatter(at[hit], earlier.get_column(ENTITY).filter(pl.Series(hit)))
    return known


def rename_held(assigned: pl.DataFrame, held: pl.Series) -> pl.DataFrame:
    """``assigned`` (:func:`assign_entities`) with each new entity whose id is in ``held``
    renamed ``<id>~<n>`` (the smallest free ``n``). A batch processed again founds its entities
    under the ids of its own records, which records of later runs may have joined: those
    entities are not the new ones, and keep their id."""
    fresh, entity = ~pl.col(EXISTING), pl.col(ENTITY)
    clashing = assigned.filter(fresh & entity.is_in(held.implode()))
    if clashing.is_empty():
        return assigned
    suffixed = assigned.filter(entity.str.contains("~", literal=True)).get_column(ENTITY)
    used = set(held.to_list()) | set(suffixed.unique().to_list())
    renamed: dict[str, str] = {}
    for name in sorted(clashing.get_column(ENTITY).unique().to_list()):
        n = 1
        while f"{name}~{n}" in used:
            n += 1
        renamed[name] = f"{name}~{n}"
        used.add(renamed[name])
    return assigned.with_columns(
        pl.when(fresh).then(entity.replace(renamed)).otherwise(entity).alias(ENTITY)
    )


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
