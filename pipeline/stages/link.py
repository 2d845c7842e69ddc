"""Stage 2: link records on identifying fields only, and give each row an entity id.

The linker never sees research attributes: :func:`linkage_view` projects the frame onto the
accounting columns, person roles and identifier columns before anything is handed over. The
batch is linked together with the records of earlier runs it can be linked with: those of
the entity registry (:mod:`pipeline.registry`) sharing a blocking key or a deterministic
identifier with a new record (:mod:`pipeline.stages.link_keys`), and any a curator's
``match`` decision ties to them. So a person keeps one entity id across deliveries and a
batch from one source links to the other sources' earlier records, without reading or
re-linking the whole history (``whole_history`` does that, for comparison).

In ``link`` mode the linkage engine compares the first source (by name) with the others: when
neither the batch nor the history it reads holds a record of the first source of the whole
registry, none of these records would be compared, and only shared identifiers link them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipeline.entities import (
    ENTITY,
    EXISTING,
    MERGED,
    UID,
    assign_entities,
    entity_summary,
    rename_held,
)
from pipeline.errors import ConfigError
from pipeline.linkage_spec import PERSON_ROLES, LinkageSpec, role_column
from pipeline.linkage_warnings import capture_warnings, combined
from pipeline.registry import STD_PREFIX, Earlier, Registry
from pipeline.review.decisions import DECISION, MATCH
from pipeline.sorted_lookup import find_sorted
from pipeline.stages.link_clusters import cluster_records
from pipeline.stages.link_keys import BlockKeys
from pipeline.stages.link_records import LinkRecords, RecordCollector
from pipeline.stages.link_result import LinkResult
from pipeline.stages.services import Linker

logger = logging.getLogger(__name__)

PAIRS_SCHEMA = {"_uid_l": pl.String, "_uid_r": pl.String, "match_probability": pl.Float64}
_NO_HISTORY = Earlier(0, frozenset(), reprocessed=False)


@dataclass(frozen=True)
class LinkOutcome:
    """The batch's entity columns and the scored pairs, with what the manifest and report say
    about them: the thresholds used (None when nothing was scored), the linker's counts, the
    warnings raised while linking (messages carry no values) and the entity counts.

    ``assigned`` has one row per batch record, in the order of the view linked: ``_uid``,
    ``_entity``, ``linked``, ``_entity_existing``, ``_entity_merged``. ``history`` holds the
    registry rows linked with the batch and ``keys`` the batch's registry keys (in view
    order), for the clerical-review file and the registry."""

    assigned: pl.DataFrame
    pairs: pl.DataFrame
    history: pl.DataFrame | None = None
    keys: pl.DataFrame | None = None
    match_threshold: float | None = None
    review_threshold: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready facts (no frames), as the runner keeps them with its checkpoint."""
        return {
            "match_threshold": self.match_threshold,
            "review_threshold": self.review_threshold,
            "counts": dict(self.counts),
            "warnings": list(self.warnings),
            "diagnostics": dict(self.diagnostics),
            "entities": dict(self.entities),
        }


@dataclass(frozen=True)
class StandardisedBatch:
    """A batch's records standardised for linkage (:mod:`pipeline.stages.link_records`) and
    its registry keys (:meth:`BlockKeys.hashes`), one row per record in the same order."""

    records: LinkRecords
    keys: pl.DataFrame

    @classmethod
    def of(
        cls, views: Iterable[pl.DataFrame], spec: LinkageSpec, folder: Path | None = None
    ) -> StandardisedBatch:
        """Standardise ``views`` (chunks of a linkage view) one at a time, into Parquet files
        in ``folder`` when given."""
        collector = RecordCollector(spec, folder)
        block_keys = BlockKeys.for_spec(spec)
        keys = [block_keys.standardised_hashes(collector.add(view)) for view in views]
        empty = block_keys.standardised_hashes(pl.DataFrame(), 0)
        return cls(collector.finish(), pl.concat([empty, *keys]))


def is_link_column(column: str) -> bool:
    """A person role or an identifier: what linkage may read besides ``_uid`` and ``_source``."""
    return column in PERSON_ROLES or column.startswith("id_")


def linkage_view(frame: pl.DataFrame) -> pl.DataFrame:
    """Only what linkage may read: ``_uid``, ``_source``, person roles and ``id_*`` columns."""
    keep = [c for c in frame.columns if is_link_column(c)]
    return frame.select(
        pl.concat_str(
            [pl.col("_source"), pl.col("_file"), pl.col("_row").cast(pl.String)], separator="|"
        ).alias(UID),
        "_source",
        *keep,
    )


def link_batch(
    view: pl.DataFrame | StandardisedBatch,
    spec: LinkageSpec,
    linker: Linker | None,
    registry: Registry | None = None,
    decisions: pl.DataFrame | None = None,
    *,
    whole_history: bool = False,
) -> LinkOutcome:
    """Entity ids for the records of ``view`` (:func:`linkage_view` of the batch, or the
    batch already standardised).

    The batch is linked together with the ``registry``'s records it can be linked with (all
    of them with ``whole_history``), under the curators' ``decisions``
    (:mod:`pipeline.review`). The outcome holds the scored pairs (``_uid_l``, ``_uid_r``,
    ``match_probability``), the thresholds used and the warnings logged while linking
    (:mod:`pipeline.linkage_warnings`; the linker's own list of training problems replaces
    the engine's log records when it has one).
    """
    batch = view if isinstance(view, StandardisedBatch) else StandardisedBatch.of([view], spec)
    records, keys = batch.records, batch.keys
    uids = records.ids.get_column(UID)
    earlier = registry.earlier(uids) if registry is not None else _NO_HISTORY
    history = None
    if registry is not None and earlier.records:
        history = (
            registry.everything(uids)
            if whole_history
            else _linkable_history(registry, keys, uids, decisions)
        )
    union = records if history is None else records.with_history(history.drop(ENTITY), spec)
    if history is not None:  # its standardised columns are in ``union`` now
        history = history.select(pl.exclude(f"^{STD_PREFIX}.*$"))
    sources = earlier.sources | records.sources()
    with capture_warnings() as captured:
        result, clusters, unscored = _run_linker(union, spec, linker, decisions, sources)
    pairs = _no_pairs() if result is None else result.pairs
    if _without_cluster(union.ids.get_column(UID), clusters.get_column(UID)):
        raise ValueError("the linker did not return a cluster for every record")
    del union
    assigned = assign_entities(clusters, history)
    del clusters
    if registry is not None and earlier.reprocessed:
        founded = assigned.filter(~pl.col(EXISTING)).get_column(ENTITY).unique()
        assigned = rename_held(assigned, registry.entities_held(founded, uids))
    assigned = in_order_of(records.ids.get_column(UID), assigned)
    entities = {
        **entity_summary(assigned, earlier.records),
        "earlier_records_read": 0 if history is None else history.height,
    }
    _log_finished(assigned, pairs, entities)
    common = {"history": history, "keys": keys, "entities": entities}
    if result is None:
        warnings = combined(captured, None)
        return LinkOutcome(assigned, pairs, counts=unscored, warnings=warnings, **common)  # type: ignore[arg-type]
    return LinkOutcome(
        assigned,
        pairs,
        match_threshold=result.match,
        review_threshold=result.review,
        counts=dict(result.counts),
        warnings=combined(captured, result.training_warnings),
        diagnostics=dict(result.diagnostics),
        **common,  # type: ignore[arg-type]
    )


def _without_cluster(uids: pl.Series, clustered: pl.Series) -> int:
    """How many of ``uids`` are not among ``clustered``, compared by 64-bit hashes."""
    _, hit = find_sorted(clustered.hash().sort(), uids.hash())
    return int((~hit).sum())


def in_order_of(uids: pl.Series, assigned: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``assigned`` (in ``_uid`` order, :func:`assign_entities`) for ``uids``, in
    their order: by one argsort when it holds exactly these records (a join on tens of millions
    of ids costs gigabytes), else by a left join."""
    if assigned.height == uids.len():
        position = np.empty(uids.len(), dtype=np.int64)
        position[uids.arg_sort().to_numpy()] = np.arange(uids.len(), dtype=np.int64)
        candidate = assigned.gather(position)
        if candidate.get_column(UID).equals(uids):
            return candidate.with_columns(uids)  # the caller's ids, not the copy
    return uids.to_frame().join(assigned, on=UID, how="left", maintain_order="left")


def _linkable_history(
    registry: Registry, keys: pl.DataFrame, uids: pl.Series, decisions: pl.DataFrame | None
) -> pl.DataFrame:
    """The registry's records sharing a key with the batch, and those a ``match`` decision
    ties to any record read (and so on, until no decision adds one)."""
    history = registry.lookup(keys, uids)
    matches = (  # stored decisions: record_a, record_b, decision (pipeline.review)
        pl.DataFrame(schema={"record_a": pl.String, "record_b": pl.String})
        if decisions is None
        else decisions.filter(pl.col(DECISION) == MATCH).select("record_a", "record_b")
    )
    known = pl.concat([uids, history.get_column(UID)])
    while matches.height:
        ends = pl.col("record_a").is_in(known.implode()) | pl.col("record_b").is_in(known.implode())
        tied = matches.filter(ends)
        partners = pl.concat([tied.get_column("record_a"), tied.get_column("record_b")])
        partners = partners.filter(~partners.is_in(known.implode())).unique()
        if partners.is_empty():
            break
        history = pl.concat([history, registry.records(partners, uids)], how="diagonal_relaxed")
        known = pl.concat([known, partners])  # found or not, never looked up again
    return history


def _run_linker(
    union: LinkRecords,
    spec: LinkageSpec,
    linker: Linker | None,
    decisions: pl.DataFrame | None,
    sources: set[str] | frozenset[str],
) -> tuple[LinkResult | None, pl.DataFrame, dict[str, int]]:
    """The linker's result on these records (None when nothing was scored), their clusters
    and, when nothing was scored, the counts of the links made by shared identifiers."""
    alone = union.ids.select(UID, pl.col(UID).alias("cluster"))  # every record its own entity
    if spec.mode == "none":
        return None, alone, {}
    if skip_reason := _nothing_to_link(union.height, spec, sources):
        logger.warning("linkage skipped: %s", skip_reason)
        return None, alone, {}
    present = union.sources()
    if spec.mode == "link" and (min(sources) not in present or len(present) < 2):
        # no two of these records would be compared (module docstring)
        identifiers = [role_column(r) for r in spec.deterministic_roles()]
        clusters, counts = cluster_records(
            union.ids, _no_pairs(), threshold=1.0, identifiers=identifiers
        )
        return None, clusters, counts.as_dict()
    if linker is None:
        raise ConfigError("linkage.mode: no linkage engine is available for this run")
    result = linker(union, spec, decisions)
    return result, result.clusters, {}


def _no_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema=PAIRS_SCHEMA)


def _log_finished(out: pl.DataFrame, pairs: pl.DataFrame, entities: dict[str, int]) -> None:
    logger.info(
        "linkage finished: %d records, %d linked, %d joined earlier entities, %d pairs scored;"
        " %d of %d earlier records read",
        out.height,
        int(out["linked"].sum()),
        int(out[EXISTING].sum()),
        pairs.height,
        entities["earlier_records_read"],
        entities["earlier_records"],
        extra={
            "records": out.height,
            "linked": int(out["linked"].sum()),
            "joined_earlier": int(out[EXISTING].sum()),
            "merged": int(out[MERGED].sum()),
            "pairs": pairs.height,
            "earlier_records_read": entities["earlier_records_read"],
        },
    )


def _nothing_to_link(
    records: int, spec: LinkageSpec, sources: set[str] | frozenset[str]
) -> str | None:
    """Why these records cannot be linked (e.g. all from one source), or None."""
    if spec.mode == "link" and len(sources) < 2:
        return "every record (this batch and earlier runs) is from one source; none is linked"
    if spec.mode == "dedupe" and records < 2:
        return "the batch holds fewer than two records"
    return None
