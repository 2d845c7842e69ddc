"""Stage 2: link records on identifying fields only, and give each row an entity number.

The linker never sees research attributes: :func:`linkage_view` projects the frame onto the
accounting columns, person roles and identifier columns before anything is handed over. The
batch is linked together with the records of earlier runs (the entity registry, see
:mod:`pipeline.entities`), so a person keeps one entity number across deliveries and a batch
from one source links to the other sources' earlier records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.entities import ENTITY, EXISTING, MERGED, UID, assign_entities
from pipeline.errors import ConfigError
from pipeline.linkage_spec import PERSON_ROLES, LinkageSpec
from pipeline.linkage_warnings import capture_warnings, combined
from pipeline.stages.link_result import LinkResult
from pipeline.stages.services import Linker

logger = logging.getLogger(__name__)

PAIRS_SCHEMA = {"_uid_l": pl.String, "_uid_r": pl.String, "match_probability": pl.Float64}


@dataclass(frozen=True)
class LinkOutcome:
    """The linked frame and scored pairs, with what the manifest and report say about them:
    the thresholds used (None when nothing was scored), the linker's counts and the
    warnings raised while linking (messages carry no values)."""

    linked: pl.DataFrame
    pairs: pl.DataFrame
    match_threshold: float | None = None
    review_threshold: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready facts (no frames), as the runner keeps them with its checkpoint."""
        return {
            "match_threshold": self.match_threshold,
            "review_threshold": self.review_threshold,
            "counts": dict(self.counts),
            "warnings": list(self.warnings),
            "diagnostics": dict(self.diagnostics),
        }


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
) -> LinkOutcome:
    """Add ``_entity`` (entity number), ``linked`` and the entity bookkeeping columns.

    ``history`` holds the registry rows of earlier runs (``linkage_view`` columns and
    ``_entity``), none of them in ``frame``; the batch is linked together with them, under
    the curators' ``decisions`` (:mod:`pipeline.review`). The outcome holds the frame, the
    scored pairs (``_uid_l``, ``_uid_r``, ``match_probability``), the thresholds used and the
    warnings logged while linking (:mod:`pipeline.linkage_warnings`; the linker's own
    list of training problems replaces the engine's log records when it has one). With
    ``mode: none`` every row is its own entity, numbered within the batch, and nothing is
    linked.
    """
    view = linkage_view(frame)
    if spec.mode == "none":
        history = None
    union = (
        view if history is None else pl.concat([history.drop(ENTITY), view], how="diagonal_relaxed")
    )
    with capture_warnings() as captured:
        result = _run_linker(union, spec, linker, decisions)
    alone = union.select(UID, pl.col(UID).alias("cluster"))  # every record its own entity
    clusters = alone if result is None else result.clusters
    pairs = _no_pairs() if result is None else result.pairs
    missing = union.height - clusters.join(union.select(UID), on=UID, how="semi").height
    if missing:
        raise ValueError("the linker did not return a cluster for every record")
    assigned = assign_entities(clusters, history)
    out = frame.with_columns(view[UID]).join(assigned, on=UID, how="left")
    _log_finished(out, pairs)
    if result is None:
        return LinkOutcome(out.drop(UID), pairs, warnings=combined(captured, None))
    return LinkOutcome(
        out.drop(UID),
        pairs,
        result.match,
        result.review,
        dict(result.counts),
        combined(captured, result.training_warnings),
        dict(result.diagnostics),
    )


def _run_linker(
    union: pl.DataFrame,
    spec: LinkageSpec,
    linker: Linker | None,
    decisions: pl.DataFrame | None,
) -> LinkResult | None:
    """The linker's result on these records, or None when there is nothing to link."""
    if spec.mode == "none":
        return None
    if skip_reason := _nothing_to_link(union, spec):
        logger.warning("linkage skipped: %s", skip_reason)
        return None
    if linker is None:
        raise ConfigError("linkage.mode: no linkage engine is available for this run")
    return linker(union, spec, decisions)


def _no_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema=PAIRS_SCHEMA)


def _log_finished(out: pl.DataFrame, pairs: pl.DataFrame) -> None:
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
