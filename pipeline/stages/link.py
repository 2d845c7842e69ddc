"""Stage 2: link records on identifying fields only, and give each row an entity number.

The linker never sees research attributes: :func:`linkage_view` projects the frame onto the
accounting columns, person roles and identifier columns before anything is handed over. The
batch is linked together with the records of earlier runs (the entity registry, see
:mod:`pipeline.entities`), so a person keeps one entity number across deliveries and a batch
from one source links to the other sources' earlier records.
"""

from __future__ import annotations

import logging

import polars as pl

from pipeline.config import PERSON_ROLES, LinkageSpec
from pipeline.entities import ENTITY, EXISTING, MERGED, UID, assign_entities
from pipeline.errors import ConfigError
from pipeline.stages.services import Linker

logger = logging.getLogger(__name__)

PAIRS_SCHEMA = {"_uid_l": pl.String, "_uid_r": pl.String, "match_probability": pl.Float64}


def linkage_view(frame: pl.DataFrame) -> pl.DataFrame:
    """Only what linkage may read: ``_uid``, ``_source``, person roles and ``id_*`` columns."""
    keep = [c for c in frame.columns if c in PERSON_ROLES or c.startswith("id_")]
    return frame.select(
        pl.concat_str(
            [pl.col("_source"), pl.col("_file"), pl.col("_row").cast(pl.String)], separator="|"
        ).alias(UID),
        "_source",
        *keep,
    )


def link_records(
    frame: pl.DataFrame,
    spec: LinkageSpec,
    linker: Linker | None,
    history: pl.DataFrame | None = None,
    decisions: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``_entity`` (entity number), ``linked`` and the entity bookkeeping columns.

    ``history`` holds the registry rows of earlier runs (``linkage_view`` columns and
    ``_entity``), none of them in ``frame``; the batch is linked together with them, under
    the curators' ``decisions`` (:mod:`pipeline.review`). Returns the frame and the scored
    pairs (``_uid_l``, ``_uid_r``, ``match_probability``). With ``mode: none`` every row is
    its own entity, numbered within the batch, and nothing is linked.
    """
    view = linkage_view(frame)
    if spec.mode == "none":
        history = None
    union = (
        view if history is None else pl.concat([history.drop(ENTITY), view], how="diagonal_relaxed")
    )
    if skip_reason := _nothing_to_link(union, spec):
        logger.warning("linkage skipped: %s", skip_reason)
    if spec.mode == "none" or skip_reason:
        clusters = union.select(UID, pl.col(UID).alias("cluster"))
        pairs = pl.DataFrame(schema=PAIRS_SCHEMA)
    else:
        if linker is None:
            raise ConfigError("linkage.mode: no linkage engine is available for this run")
        clusters, pairs = linker(union, spec, decisions)
        missing = union.height - clusters.join(union.select(UID), on=UID, how="semi").height
        if missing:
            raise ValueError("the linker did not return a cluster for every record")
    assigned = assign_entities(clusters, history)
    keyed = frame.with_columns(view[UID])
    out = keyed.join(assigned, on=UID, how="left")
    logger.info(
        "linkage finished: %d records, %d linked, %d joined earlier entities, %d pairs scored",
        out.height,
        int(out["linked"].sum()),
        int(out[EXISTING].sum()),
        pairs.height,
        extra={
            "records": out.height,
            "linked": int(out["linked"].sum()),
            "joined_earlier": int(out[EXISTING].sum()),
            "merged": int(out[MERGED].sum()),
            "pairs": pairs.height,
        },
    )
    return out.drop(UID), pairs


def registry_rows(linked: pl.DataFrame) -> pl.DataFrame:
    """What the entity registry keeps of a linked batch: the linkage view and ``_entity``."""
    return linkage_view(linked).with_columns(linked[ENTITY])


def _nothing_to_link(view: pl.DataFrame, spec: LinkageSpec) -> str | None:
    """Why these records cannot be linked (e.g. all from one source), or None."""
    if spec.mode == "link" and view["_source"].n_unique() < 2:
        return "every record (this batch and earlier runs) is from one source; none is linked"
    if spec.mode == "dedupe" and view.height < 2:
        return "the batch holds fewer than two records"
    return None
