"""Adapter from the pipeline's linkage spec to the ``linkage`` package's ``Linker`` facade.

The records handed over hold ``_uid``, ``_source``, person roles and identifiers only (see
:func:`pipeline.stages.link.linkage_view`), each role standardised as
:data:`~pipeline.stages.link_records.ROLE_STANDARDISATION` says
(:class:`~pipeline.stages.link_records.LinkRecords`: files the engine's database reads, or
frames). Comparisons are chosen
by kind per role from linkage's registry (:mod:`linkage.kinds`, which lists each kind's levels);
an identifier role ``identifier:<type>`` reads its ``id_<type>`` column as it is (values there
passed ``pseudonym.identifiers.check`` at ingest). Blocking rules are roles joined with ``&``
(exact equality on each).

The match threshold is the model's automatic one (:meth:`linkage.Linker.auto_threshold`) when
the spec says ``auto``. Clusters come from :func:`pipeline.stages.link_clusters.cluster_records`:
records sharing a valid identifier compared as ``identifier`` are linked first, then the
scored pairs, under the one-identifier-per-source constraint.
"""

from __future__ import annotations

import builtins
import logging
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from linkage import LinkageSettings, Linker, block_on
from linkage.kinds import build_comparison
from linkage.partitions import PartitionMap
from pipeline.charts import record_training
from pipeline.entities import UID
from pipeline.errors import ConfigError
from pipeline.linkage_spec import LinkageSpec, blocking_roles, role_column
from pipeline.linkage_warnings import training_warnings
from pipeline.machine_memory import memory_bytes
from pipeline.stages.link_clusters import cluster_records
from pipeline.stages.link_diagnostics import link_diagnostics
from pipeline.stages.link_records import ROLE_STANDARDISATION, LinkRecords
from pipeline.stages.link_result import LinkResult

logger = logging.getLogger(__name__)

#: At most this share of true matches holds two different *valid* identifiers of one type (a
#: keying error of several digits that still passes the check digit, or a re-issued number):
#: a disagreement then counts at least log2(1/0.001), about 10 bits, against a match. EM
#: learns more when its match class takes in people who share a household, name and birth date.
MAX_IDENTIFIER_DISAGREEMENT = 1e-3

#: The engine's DuckDB holds both inputs as tables, about 20 bytes a record (id, term
#: frequencies, parsed parts) and 30 more per column read: 944 MiB for the 5.9M records of
#: 3M + 3M with 5 columns, 3.1 GiB expected at 10M + 10M. Beyond its memory limit DuckDB
#: evicts them to temporary files and reads them back for every query (training's counts,
#: the comparison vectors, scoring): at 3M + 3M under a 600 MB limit loading and the
#: comparison vectors took twice the CPU they took under 2 GB. So the limit grows with them.
TABLE_BYTES_PER_RECORD = (20, 30)
#: Room to join, group and sort in beside the tables
ENGINE_WORKING_MEMORY = 2**30
#: The limit for batches whose tables leave this much room (LinkageSettings' default)
ENGINE_MIN_MEMORY = 2 * 10**9


#: Largest share of the machine's (or container's) memory the engine's DuckDB may take: the
#: pipeline holds the batch's ids, pairs and clusters in the same process beside it
ENGINE_MEMORY_SHARE = 0.5


def engine_memory_limit(records: int, columns: int, machine: int | None = None) -> str:
    """The engine's DuckDB memory limit for ``records`` records of ``columns`` compared or
    blocked columns: :data:`ENGINE_MIN_MEMORY`, or room for the input tables (see
    :data:`TABLE_BYTES_PER_RECORD`) and :data:`ENGINE_WORKING_MEMORY` beside them when that is
    more, but at most :data:`ENGINE_MEMORY_SHARE` of ``machine`` bytes (by default this
    machine's or container's memory, :func:`pipeline.machine_memory.memory_bytes`). Capped,
    DuckDB evicts tables to temporary files: slower, but the run finishes."""
    tables = records * TABLE_BYTES_PER_RECORD[0] + records * columns * TABLE_BYTES_PER_RECORD[1]
    needed = tables + ENGINE_WORKING_MEMORY
    if needed <= ENGINE_MIN_MEMORY:
        return "2GB"
    machine = memory_bytes() if machine is None else machine
    cap = None if machine is None else max(int(machine * ENGINE_MEMORY_SHARE), ENGINE_MIN_MEMORY)
    if cap is not None and needed > cap:
        logger.warning(
            "the linkage engine's tables (%.1f GB for %d records) leave too little room in "
            "%.1f GB, %d%% of this machine's memory: DuckDB will spill them to disk (slower)",
            tables / 1e9,
            records,
            cap / 1e9,
            round(ENGINE_MEMORY_SHARE * 100),
        )
        needed = cap
    return f"{math.ceil(needed / 10**6)}MB"


def _settings(spec: LinkageSpec, records: int = 0, columns: int = 0) -> LinkageSettings:
    return LinkageSettings(
        link_type="link_only" if spec.mode == "link" else "dedupe_only",
        comparisons=[
            build_comparison(
                kind, role_column(role), standardised_as=ROLE_STANDARDISATION.get(role)
            )
            for role, kind in spec.comparisons.items()
        ],
        blocking_rules=[
            block_on(*map(role_column, blocking_roles(rule))) for rule in spec.blocking
        ],
        unique_id_column=UID,
        em_max_iterations=spec.max_iterations,
        memory_limit=engine_memory_limit(records, columns),
    )


def _bind(records: LinkRecords, spec: LinkageSpec) -> tuple[Linker, pl.Series | None]:
    """A linker over the standardised records (the first source on the left in link mode)
    and, in link mode, the left side's ids."""
    records.check_roles(spec)
    sources = records.sources()
    settings = _settings(spec, records.height, len(records.columns))
    if spec.mode != "link":
        return Linker(settings, records.side(sources, "left")), None
    first = min(sources)
    left, right = records.side([first], "left"), records.side(sources - {first}, "right")
    left_uids = records.ids.filter(pl.col("_source") == first).get_column(UID)
    return Linker(settings, left, right), left_uids


def facade_linker(
    records: LinkRecords | pl.DataFrame,
    spec: LinkageSpec,
    decisions: pl.DataFrame | None = None,
    *,
    scratch: Path | None = None,
    partition_map: PartitionMap = builtins.map,
) -> LinkResult:
    """Train on these records, score pairs down to the review threshold, apply curators'
    decisions (:func:`pipeline.review.apply_decisions`) and cluster at the match threshold
    with the shared identifiers (:func:`~pipeline.stages.link_clusters.cluster_records`).
    The pairs are ``_uid_l``, ``_uid_r``, ``match_probability`` and, for grey-band pairs,
    each comparison's ``level_*`` and ``weight_*``. ``records``: standardised (a linkage
    view is standardised here, in memory). Scored pairs are written to Parquet in
    ``scratch`` (a temporary folder without one); with ``spec.partitions``, they are compared
    and scored partition by partition there, each job through ``partition_map`` (the builtin
    ``map``, or ``linkage.distributed.DaskPartitionMap``)."""
    from pipeline.review import PAIR_L, PAIR_R, PROBABILITY, apply_decisions

    if isinstance(records, pl.DataFrame):  # a linkage view
        records = LinkRecords.from_view(records, spec)
    if spec.partitions is not None and scratch is None:
        raise ConfigError("linkage.partitions: this run gave no folder for the partitions")
    linker, left_uids = _bind(records, spec)
    with _folder(scratch) as folder:
        try:
            if spec.partitions is not None:
                # a job holds one partition's records: the fixed limit, not the batch's
                job_memory = LinkageSettings.memory_limit
                linker.partition(
                    folder / "work", spec.partitions, map=partition_map, memory_limit=job_memory
                )
            with record_training() as training_log:
                linker.train()
            _bound_identifier_disagreement(linker, spec)
            diagnostics = link_diagnostics(linker, records, training_log)
            t = spec.thresholds
            match = linker.auto_threshold() if t.match == "auto" else t.match
            review = min(t.review, match)
            scored = _score(linker, spec, folder / "pairs", review)
            pairs = apply_decisions(
                scored.select("id_l", "id_r", PROBABILITY).collect(),
                decisions,
                records.ids[UID],
                left_uids,
            )
            # why each grey-band pair scored as it did, for the clerical-review file
            p = pl.col(PROBABILITY)
            band = scored.filter((p >= review) & (p < match)).collect()
            pairs = pairs.join(linker.explain_wide(band), on=["id_l", "id_r"], how="left")
            training = training_warnings(linker)
            scored_pairs = int(scored.select(pl.len()).collect().item())
        finally:
            linker.close()
    pairs = pairs.select(
        pl.col("id_l").cast(pl.String).alias(PAIR_L),
        pl.col("id_r").cast(pl.String).alias(PAIR_R),
        pl.col(PROBABILITY).cast(pl.Float64),
        pl.exclude("id_l", "id_r", PROBABILITY),
    )
    identifiers = [role_column(r) for r in spec.deterministic_roles()]
    clusters, counts = cluster_records(records.ids, pairs, threshold=match, identifiers=identifiers)
    _log_identifier_counts(counts.as_dict())
    logger.info("linkage scored %d pairs at or above the review threshold", scored_pairs)
    return LinkResult(clusters, pairs, match, review, counts.as_dict(), training, diagnostics)


@contextmanager
def _folder(scratch: Path | None) -> Iterator[Path]:
    """``scratch``, or a temporary folder removed afterwards."""
    if scratch is not None:
        yield scratch
        return
    with tempfile.TemporaryDirectory(prefix="pprl-link-") as tmp:
        yield Path(tmp)


def _score(linker: Linker, spec: LinkageSpec, out: Path, review: float) -> pl.LazyFrame:
    """The pairs at or above ``review``, written to Parquet in ``out`` by the engine's
    database (partition by partition with ``spec.partitions``), read lazily: the stage
    collects three columns of them and the grey band's comparison levels, never every
    column of every pair."""
    if spec.partitions is not None:
        return linker.predict_partitioned(out, threshold=review).scan()
    out.mkdir(parents=True, exist_ok=True)
    linker.predict_to_parquet(out / "pairs.parquet", threshold=review)
    return pl.scan_parquet(out / "pairs.parquet")


def _bound_identifier_disagreement(linker: Linker, spec: LinkageSpec) -> None:
    """Cap m of the "all other" level of each ``identifier`` comparison at
    :data:`MAX_IDENTIFIER_DISAGREEMENT` (a valid identifier that differs is strong evidence
    against a match), then estimate lambda again with the capped m."""
    capped = False
    for role in spec.deterministic_roles():
        params = linker.parameters.comparisons[role_column(role)]
        other = params.m[0]
        if other is not None and other > MAX_IDENTIFIER_DISAGREEMENT:
            scale = (1.0 - MAX_IDENTIFIER_DISAGREEMENT) / (1.0 - other)
            params.m = [MAX_IDENTIFIER_DISAGREEMENT, *((m or 0.0) * scale for m in params.m[1:])]
            logger.info("m of a differing %s capped at %g", role, MAX_IDENTIFIER_DISAGREEMENT)
            capped = True
    if capped:
        linker.estimate_lambda()


def _log_identifier_counts(counts: dict[str, int]) -> None:
    refused = counts["links_refused_by_identifier_constraint"]
    if refused:
        logger.warning(
            "identifier constraint: %d link(s) at or above the match threshold refused, as "
            "each would give one person two different identifiers from one source",
            refused,
        )
    conflicts = counts["identifier_conflicts_kept"]
    if conflicts:
        logger.warning(
            "identifiers disagree: %d group(s) of records sharing one identifier hold two "
            "different identifiers of another type from one source; kept together",
            conflicts,
        )
    logger.info(
        "%d record(s) linked by a shared identifier",
        counts["identifier_links"],
        extra={"identifier_links": counts["identifier_links"]},
    )
