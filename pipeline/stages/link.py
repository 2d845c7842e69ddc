"""Stage 2: link records on identifying fields only, and label each row with a cluster.

The linker never sees research attributes: :func:`linkage_view` projects the frame onto the
accounting columns, person roles and identifier columns before anything is handed over.
"""

from __future__ import annotations

import logging

import polars as pl

from pipeline.config import PERSON_ROLES, LinkageSpec
from pipeline.errors import ConfigError
from pipeline.stages.services import Linker

logger = logging.getLogger(__name__)

UID = "_uid"


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
    frame: pl.DataFrame, spec: LinkageSpec, linker: Linker | None
) -> tuple[pl.DataFrame, pl.Series]:
    """Add ``person_id`` (dense, deterministic cluster number) and ``linked`` to ``frame``.

    Returns the frame and the match probabilities of scored pairs (for the report). With
    ``mode: none`` every row is its own cluster and nothing is linked.
    """
    view = linkage_view(frame)
    if skip_reason := _nothing_to_link(view, spec):
        logger.warning("linkage skipped: %s", skip_reason)
    if spec.mode == "none" or skip_reason:
        clusters = view.select(UID, pl.col(UID).alias("cluster"))
        probabilities = pl.Series("match_probability", [], dtype=pl.Float64)
    else:
        if linker is None:
            raise ConfigError("linkage.mode: no linkage engine is available for this run")
        clusters, probabilities = linker(view, spec)
        missing = view.height - clusters.join(view.select(UID), on=UID, how="semi").height
        if missing:
            raise ValueError("the linker did not return a cluster for every record")
    # Cluster labels become small integers ordered by their smallest member: deterministic.
    clusters = clusters.with_columns(
        pl.col(UID).min().over("cluster").alias("__first"),
        pl.len().over("cluster").alias("__size"),
    )
    clusters = clusters.with_columns(
        pl.col("__first").rank("dense").cast(pl.Int64).alias("person_id"),
        (pl.col("__size") > 1).alias("linked"),
    )
    keyed = frame.with_columns(linkage_view(frame)[UID])
    out = keyed.join(clusters.select(UID, "person_id", "linked"), on=UID, how="left")
    logger.info(
        "linkage finished: %d records, %d linked, %d pairs scored",
        out.height,
        int(out["linked"].sum()),
        len(probabilities),
        extra={
            "records": out.height,
            "linked": int(out["linked"].sum()),
            "pairs": len(probabilities),
        },
    )
    return out.drop(UID), probabilities


def _nothing_to_link(view: pl.DataFrame, spec: LinkageSpec) -> str | None:
    """Why this batch cannot be linked (e.g. an incremental batch from one source), or None."""
    if spec.mode == "link" and view["_source"].n_unique() < 2:
        return "the batch holds records from one source only; its records stay unlinked"
    if spec.mode == "dedupe" and view.height < 2:
        return "the batch holds fewer than two records"
    return None
