"""The stages of one run (:mod:`pipeline.runner` decides what runs and promotes the delivery).

Every stage reads the previous stage's parts from the run's work folder and writes its own
(:mod:`pipeline.stages.parts`), one part per chunk of an input file, so no stage holds the
batch's records whole:

1. ``01-prepared``: each file ingested and validated chunk by chunk (an executor task per
   file, writing its parts itself), with its quarantine.
2. ``02-linked``: the batch linked with the registry history it can be linked with, each
   part's linkage view standardised as it is read into scratch files the linkage engine reads
   (held whole: each record's id, source, compared identifiers and registry keys); per part,
   the entity columns, registry keys and standardised link columns (kept in the registry);
   the scored pairs, the history read, the stage's facts.
3. ``03-pseudonymised``: each part pseudonymised (an executor task per part).
4. ``04-deidentified``: each part as delivered, after disclosure control has seen the
   keys, quasi-identifiers and sensitive attributes of the whole delivery.
5. The delivery, assembled in the staging folder from the de-identified parts; then the
   clerical-review file and the registry's new rows, before the runner promotes it.

Stages 1 to 3 are checkpoints: a folder whose index is written is reused by a resumed run.
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.audit import run_log_head
from pipeline.config import PipelineConfig
from pipeline.entities import ENTITY, UID
from pipeline.executors import Executor
from pipeline.ingest import DEFAULT_CHUNKING, QUARANTINE_SCHEMA, Chunking
from pipeline.manifest import RunFacts
from pipeline.registry import Registry
from pipeline.review import DECISIONS_FILE, REVIEW_DIR, load_decisions, review_rows, write_review
from pipeline.stages import deidentify as deidentify_stage
from pipeline.stages import deliver as deliver_stage
from pipeline.stages import link as link_stage
from pipeline.stages import prepare as prepare_stage
from pipeline.stages import pseudonymise as pseudonymise_stage
from pipeline.stages.link_keys import BlockKeys
from pipeline.stages.link_result import LinkResult
from pipeline.stages.parts import Part, PartSet
from pipeline.stages.pseudonymise import PERSON_TYPE
from pipeline.stages.services import Linker, Services, key_ids
from pipeline.state import FileRecord

logger = logging.getLogger(__name__)

STAGES = ("ingest", "link", "pseudonymise", "deidentify", "deliver")
Progress = Callable[[str, int, int], None]
#: How much of an input file is read at once (tests make it small).
CHUNKING: Chunking = DEFAULT_CHUNKING


@dataclass(frozen=True)
class Batch:
    """One run's new input files, and what processes them. ``whole_history`` links the batch
    with every record of the registry instead of those sharing a key with it (to compare)."""

    config: PipelineConfig
    run_id: str
    files: list[FileRecord]
    executor: Executor
    services: Services
    progress: Progress | None
    whole_history: bool = False


class StageClock:
    """Announces each stage (a log line, the progress callback) and times it for the manifest."""

    def __init__(self, run_id: str, progress: Progress | None) -> None:
        self.run_id = run_id
        self.progress = progress
        self.started: dict[str, float] = {}  # stage -> perf_counter at its start

    def start(self, name: str) -> None:
        self.started[name] = time.perf_counter()
        logger.info(
            "%s: stage %s started", self.run_id, name, extra={"stage": name, "run_id": self.run_id}
        )
        if self.progress is not None:
            self.progress(name, STAGES.index(name) + 1, len(STAGES))

    def seconds(self) -> dict[str, float]:
        return stage_seconds(self.started, time.perf_counter())


def stage_seconds(started: dict[str, float], now: float) -> dict[str, float]:
    """Wall seconds per stage: each stage runs until the next one starts (a stage resumed from
    its checkpoint shows the time to load it)."""
    names = list(started)
    ends = [started[n] for n in names[1:]] + [now]
    return {n: round(end - started[n], 3) for n, end in zip(names, ends, strict=True)}


def run_stages(batch: Batch, work: Path, out: Path) -> None:
    """Every stage, each resumed from its checkpoint in ``work`` when a killed run finished
    it; the delivery is assembled in ``out``."""
    config = batch.config
    clock = StageClock(batch.run_id, batch.progress)
    clock.start("ingest")
    prepared = _prepare(batch, PartSet(work / "01-prepared"))

    clock.start("link")
    linking = config.linkage.mode != "none"
    linked = _link(batch, prepared, PartSet(work / "02-linked")) if linking else None

    clock.start("pseudonymise")
    pseudonymised = _pseudonymise(batch, prepared, linked, PartSet(work / "03-pseudonymised"))

    clock.start("deidentify")
    # Disclosure control covers joins with what this recipient already holds (issue 12).
    qis = config.disclosure.quasi_identifiers
    earlier = deidentify_stage.recipient_holdings(config, qis, exclude=batch.run_id)
    extract = PartSet(work / "04-deidentified")
    identifying = deidentify_stage.identifying_values(prepared)
    disclosure = deidentify_stage.deidentify(
        pseudonymised, config, identifying, extract, earlier=earlier
    )

    clock.start("deliver")
    link_facts = linked.facts() if linked is not None else {}
    pairs = _pairs(linked)
    facts = RunFacts(
        config=config,
        run_id=batch.run_id,
        files=batch.files,
        delivered=_delivered(prepared, linked),
        quarantine=_quarantine(prepared),
        probabilities=pairs["match_probability"],
        key_ids=_key_ids(config, batch.services),
        disclosure=disclosure,
        entities=link_facts.get("entities", {}),
        audit_head=run_log_head(config),
        linking=link_facts,
        execution=batch.executor.settings(),
    )
    deliver_stage.deliver(out, extract, facts, stage_seconds=clock.seconds)
    if linked is not None:
        # before promotion: a run killed after this reruns to the same numbers (rows are keyed)
        match, review = facts.thresholds()
        if match is not None and review is not None:
            _write_review(batch, prepared, linked, pairs, (review, match))
        _register(batch, prepared, linked)


# --- stage 1 -----------------------------------------------------------------------------------


def _resumed(parts: PartSet) -> bool:
    if parts.is_complete():
        name = parts.folder.name
        logger.info("resuming from checkpoint %s", name, extra={"checkpoint": name})
        return True
    return False


def _prepare(batch: Batch, parts: PartSet) -> PartSet:
    """Stage 1, a task per file on the executor; parts numbered in file order (by source in
    config order, then by file name: the order rows are delivered in)."""
    if _resumed(parts):
        return parts
    parts.start()
    config = batch.config
    order = {s.name: i for i, s in enumerate(config.sources)}
    files = sorted(batch.files, key=lambda f: (order[f.source], f.path))
    sources = {s.name: s for s in config.sources}
    tasks = [
        (
            str(config.resolve(f.path)),
            sources[f.source],
            batch.services.check_identifiers,
            f.path,
            str(parts.folder.resolve()),
            f"{n:05d}",
            CHUNKING,
        )
        for n, f in enumerate(files)
    ]
    results = batch.executor.map(prepare_stage.prepare_to_parts, tasks)
    parts.finish(
        [p for r in results for p in r.parts], {"quarantine": [r.quarantine for r in results]}
    )
    return parts


def _quarantine(prepared: PartSet) -> pl.DataFrame:
    files = [prepared.path(name) for name in prepared.facts()["quarantine"]]
    return pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *map(pl.read_parquet, files)])


# --- stage 2 -----------------------------------------------------------------------------------


def _view_columns(prepared: PartSet, source: str) -> list[str]:
    return [c for c in prepared.schema(source) if link_stage.is_link_column(c)]


def _linker(batch: Batch, scratch: Path) -> Linker | None:
    """The batch's linker; when the config asks for partitions, given ``scratch`` for their
    files and the executor's partition map (when it has one) to score them through."""
    linker = batch.services.linker
    if linker is None or batch.config.linkage.partitions is None:
        return linker
    engine: Callable[..., LinkResult] = linker  # the facade's keywords
    partition_map = batch.executor.partition_map()
    if partition_map is None:
        return functools.partial(engine, scratch=scratch)
    return functools.partial(engine, scratch=scratch, partition_map=partition_map)


def _views(prepared: PartSet) -> Iterator[tuple[Part, pl.DataFrame]]:
    """Each prepared part's linkage view (:func:`pipeline.stages.link.linkage_view`)."""
    for part in prepared.parts():
        columns = ["_source", "_file", "_row", *_view_columns(prepared, part.source)]
        yield part, link_stage.linkage_view(prepared.read(part, columns))


def _link(batch: Batch, prepared: PartSet, out: PartSet) -> PartSet:
    """Stage 2: link the batch's view with the registry; per prepared part, its rows' entity
    columns and registry keys (same name, same row order). Each part's view is standardised
    as it is read, into the stage's scratch folder (:mod:`pipeline.stages.link_records`)."""
    if _resumed(out):
        return out
    out.start()
    config = batch.config
    scratch = out.folder / "scratch"
    standardised = link_stage.StandardisedBatch.of(
        (view for _, view in _views(prepared)), config.linkage, scratch / "records"
    )
    registry = Registry.open(config.work_dir, BlockKeys.for_spec(config.linkage))
    outcome = link_stage.link_batch(
        standardised,
        config.linkage,
        _linker(batch, scratch / "linker"),
        registry,
        load_decisions(config.work_dir / DECISIONS_FILE),
        whole_history=batch.whole_history,
    )
    columns = outcome.assigned.drop(UID)
    if outcome.keys is not None:
        columns = columns.hstack(outcome.keys)
    records = standardised.records  # their stored columns, for the registry, a part at a time
    parts = prepared.parts()
    in_order = _consecutive(records.stored_chunks(), [p.rows for p in parts])
    stored = records.stored()
    offset = 0
    for part, rows in zip(parts, in_order, strict=True):
        uids = outcome.assigned.get_column(UID).slice(offset, part.rows)
        std = _stored_of(rows, stored, uids)
        out.write(part.name, columns.slice(offset, part.rows).hstack(std.drop(UID)))
        offset += part.rows
    del standardised
    shutil.rmtree(scratch, ignore_errors=True)  # records and comparison vectors: not needed
    out.write("pairs.parquet", outcome.pairs)
    if outcome.history is not None:
        out.write("history.parquet", outcome.history)
    out.finish(prepared.parts(), outcome.summary())
    return out


def _consecutive(chunks: list[pl.LazyFrame], sizes: list[int]) -> Iterator[pl.DataFrame]:
    """Consecutive runs of ``sizes`` rows from ``chunks``, each chunk read once, in order (at
    10M + 10M, slicing the whole scan at each part's offset re-read what came before: 90 s);
    a run past the last row is short."""
    pending = iter(chunks)
    held = pl.DataFrame()
    for size in sizes:
        while held.height < size:
            chunk = next(pending, None)
            if chunk is None:
                break
            rows = chunk.collect()
            held = rows if held.is_empty() else pl.concat([held, rows], how="vertical_relaxed")
        yield held.head(size)
        held = held.slice(size)


def _stored_of(rows: pl.DataFrame, stored: pl.LazyFrame, uids: pl.Series) -> pl.DataFrame:
    """The standardised columns of records ``uids``: ``rows`` when they are those records (as
    when each chunk standardised held one source, as each prepared part does), else looked
    up in ``stored``."""
    if UID in rows.columns and rows.get_column(UID).equals(uids):
        return rows
    wanted = stored.filter(pl.col(UID).is_in(uids.implode())).collect()
    return uids.to_frame().join(wanted, on=UID, how="left", maintain_order="left")


def _pairs(linked: PartSet | None) -> pl.DataFrame:
    if linked is None:
        return pl.DataFrame(schema=link_stage.PAIRS_SCHEMA)
    return pl.read_parquet(linked.path("pairs.parquet"))


def _delivered(prepared: PartSet, linked: PartSet | None) -> pl.DataFrame:
    """One row per delivered record: ``_source`` and ``linked`` (for the manifest's counts)."""
    frames = []
    for part in prepared.parts():
        if linked is None:
            frame = pl.DataFrame({"linked": pl.Series([False] * part.rows)})
        else:
            frame = linked.read(part, ["linked"])
        frames.append(frame.select(pl.lit(part.source, pl.Categorical).alias("_source"), "linked"))
    schema = {"_source": pl.Categorical, "linked": pl.Boolean}
    return pl.concat([pl.DataFrame(schema=schema), *frames])


# --- stage 3 -----------------------------------------------------------------------------------


def _pseudonymise(batch: Batch, prepared: PartSet, linked: PartSet | None, out: PartSet) -> PartSet:
    """Stage 3, a task per part on the executor."""
    if _resumed(out):
        return out
    out.start()
    factory = batch.services.pseudonymiser_factory
    tasks = [
        (
            str(prepared.path(p.name).resolve()),
            None if linked is None else str(linked.path(p.name).resolve()),
            str(out.path(p.name).resolve()),
            batch.config,
            factory,
        )
        for p in prepared.parts()
    ]
    batch.executor.map(pseudonymise_stage.pseudonymise_part, tasks)
    out.finish(prepared.parts())
    return out


def _key_ids(config: PipelineConfig, services: Services) -> dict[str, str]:
    """Key IDs of every identifier type the run pseudonymised (and ``person`` when linking)."""
    id_types = sorted({t for s in config.sources for t in s.identifier_columns().values()})
    if config.linkage.mode != "none":
        id_types.append(PERSON_TYPE)
    return key_ids(services.pseudonymiser_factory(config), id_types)


# --- after delivery: the review file and the registry ------------------------------------------


def _history(linked: PartSet) -> pl.DataFrame | None:
    path = linked.path("history.parquet")
    return pl.read_parquet(path) if path.exists() else None


def _write_review(
    batch: Batch,
    prepared: PartSet,
    linked: PartSet,
    pairs: pl.DataFrame,
    thresholds: tuple[float, float],
) -> None:
    """The curators' clerical-review file for this run's grey band (:mod:`pipeline.review`),
    ``thresholds`` (review, match): both records' link fields, read for those pairs only."""
    review, match = thresholds
    p = pl.col("match_probability")
    band = pairs.filter((p >= review) & (p < match))
    history = _history(linked)
    earlier = pl.Series(UID, [], pl.String) if history is None else history[UID]
    wanted = pl.concat([band["_uid_l"], band["_uid_r"]]).unique()
    mine = wanted.filter(~wanted.is_in(earlier.implode()))  # records of this batch
    records = [v.filter(pl.col(UID).is_in(mine.implode())) for _, v in _views(prepared)]
    if history is not None:
        records.insert(0, history.filter(pl.col(UID).is_in(wanted.implode())).drop(ENTITY))
    rows = review_rows(
        band,
        pl.concat(records, how="diagonal_relaxed"),
        mine,
        review=review,
        match=match,
        decisions=load_decisions(batch.config.work_dir / DECISIONS_FILE),
    )
    write_review(batch.config.work_dir / REVIEW_DIR / f"{batch.run_id}.csv", rows)
    logger.info("%d pairs for clerical review", rows.height, extra={"review_pairs": rows.height})


def _register(batch: Batch, prepared: PartSet, linked: PartSet) -> None:
    """Add the batch's records to the entity registry (replacing its own earlier rows)."""
    config = batch.config
    logger.info("%s: registering the batch's records", batch.run_id, extra={"phase": "register"})
    registry = Registry.open(config.work_dir, BlockKeys.for_spec(config.linkage))

    def rows() -> Iterator[pl.DataFrame]:
        for part, view in _views(prepared):
            entities = linked.read(part)
            keys = [c for c in entities.columns if c.startswith(("_key_", "_std_"))]
            yield view.hstack(entities.select(ENTITY, *keys))

    sources = dict.fromkeys(p.source for p in prepared.parts())
    schema = {c: t for s in sources for c, t in _view_schema(prepared, s).items()}
    registry.commit(rows(), pl.Schema({**schema, ENTITY: pl.String()}))


def _view_schema(prepared: PartSet, source: str) -> pl.Schema:
    columns = ["_source", "_file", "_row", *_view_columns(prepared, source)]
    empty = pl.DataFrame(schema={c: prepared.schema(source)[c] for c in columns})
    return link_stage.linkage_view(empty).schema
