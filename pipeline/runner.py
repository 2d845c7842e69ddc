"""Run the batch pipeline: ingest -> identifiers -> link -> pseudonymise -> de-identify -> deliver.

Guarantees:

* **Locked**: one run per config state at a time (:mod:`pipeline.lock`, exit 75 otherwise).
* **Incremental**: input files already delivered (same path and SHA-256 in the DuckDB catalogue,
  :mod:`pipeline.state`) are skipped; a run with nothing new changes nothing.
* **Deterministic**: the run ID derives from the config and the input checksums, and nothing in
  the delivery carries a timestamp, so a rerun of the same inputs gives byte-identical files.
* **Resumable**: each stage checkpoints to ``<work_dir>/<run_id>/`` (identifying data, kept
  outside the delivery folder); the de-identified delivery is assembled in
  ``<work_dir>/staging/<run_id>/`` (:mod:`pipeline.stages.deliver`) and promoted with one
  directory rename (:func:`pipeline.atomic.promote_folder`; across filesystems, a copy to a
  hidden temporary folder beside the target first), so a killed run leaves nothing visible
  and a rerun picks up from the last finished stage. The catalogue, audit log and lock live
  in the state folder (:mod:`pipeline.locations`); nothing but deliveries is in the delivery
  folder.
* **Accounted**: every input row is delivered or quarantined (with a reason); delivered rows
  are further split into linked and unlinked. The manifest's counts add up.
* **Stable person IDs**: each batch is linked together with earlier runs' records (the entity
  registry in the work folder, :mod:`pipeline.entities`), so a person keeps one ``person_id``
  across the project's deliveries; ``person_id`` is a keyed pseudonym of the entity number.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import (
    private_dir,
    promote_folder,
    remove_stale_temporaries,
    write_text_atomic,
    write_with_atomic,
)
from pipeline.audit import AuditLog, check_run_log, run_log, run_log_head
from pipeline.config import PipelineConfig
from pipeline.entities import (
    ENTITY,
    REGISTRY_FILE,
    UID,
    entity_summary,
    load_registry,
    save_registry,
)
from pipeline.errors import ConfigError, DataError
from pipeline.executors import Executor, LocalExecutor
from pipeline.ingest import QUARANTINE_SCHEMA, IngestResult, discover_files
from pipeline.locations import (
    STATE_FILE,
    refuse_legacy_state,
    remove_unpromoted_copies,
    staging_root,
)
from pipeline.lock import LOCK_FILE, RunLock
from pipeline.manifest import RunFacts, config_digest, read_manifest
from pipeline.project import refuse_closed
from pipeline.review import (
    DECISIONS_FILE,
    REVIEW_DIR,
    load_decisions,
    review_rows,
    store_decisions,
    write_review,
)
from pipeline.stages import deidentify as deidentify_stage
from pipeline.stages import deliver as deliver_stage
from pipeline.stages import link as link_stage
from pipeline.stages import prepare as prepare_stage
from pipeline.stages import pseudonymise as pseudonymise_stage
from pipeline.stages.pseudonymise import PERSON_TYPE
from pipeline.stages.services import Services, key_ids
from pipeline.state import FileRecord, StateCatalogue
from pseudonym.digests import bytes_sha256, file_sha256

logger = logging.getLogger(__name__)

CHUNK_ROWS = 200_000
STAGES = ("ingest", "link", "pseudonymise", "deidentify", "deliver")
Progress = Callable[[str, int, int], None]


@dataclass
class RunSummary:
    """What a run did. ``status`` is ``delivered`` or ``up_to_date`` (nothing new to do);
    ``audit_log`` is the run log's path; ``review_file`` is the run's clerical-review file in
    the work folder, when it wrote one."""

    status: str
    run_id: str | None = None
    delivery_dir: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    audit_log: Path | None = None
    review_file: Path | None = None


@dataclass(frozen=True)
class _Batch:
    """One run's new input files, and what processes them."""

    config: PipelineConfig
    run_id: str
    files: list[FileRecord]
    executor: Executor
    services: Services
    progress: Progress | None


def run_pipeline(
    config: PipelineConfig,
    *,
    executor: Executor | None = None,
    services: Services | None = None,
    progress: Progress | None = None,
    reprocess: bool = False,
    decisions: Sequence[Path] = (),
) -> RunSummary:
    """Run the pipeline for every input file not yet delivered. See the module docstring.

    ``reprocess`` takes every current input file, delivered or not (e.g. after a config
    change); with an unchanged config and inputs it finds the earlier delivery and changes nothing.
    ``decisions`` are edited clerical-review files: they are stored first (even when nothing
    is new) and shape this and every later run's linkage (:mod:`pipeline.review`).
    """
    if decisions and config.linkage.mode == "none":
        raise ConfigError("--decisions: linkage.mode is none, so there is nothing to decide")
    services = services or Services.default()
    refuse_legacy_state(config)  # state still in <delivery>/.pprl: pprl project migrate
    with RunLock(private_dir(config.state_dir) / LOCK_FILE):
        log, catalogue = _checked_state(config, services)
        if decisions:
            stored = store_decisions(config.work_dir / DECISIONS_FILE, list(decisions))
            logger.info("stored %d clerical-review decisions", stored, extra={"decisions": stored})
        files = _discover(config)
        done = catalogue.delivered(files)
        new = files if reprocess else [f for f in files if (f.path, f.sha256) not in done]
        if not new:
            logger.info(
                "nothing new to process (%d files seen)",
                len(files),
                extra={"files_seen": len(files)},
            )
            return RunSummary(status="up_to_date", audit_log=log.path)
        run_id = _run_id(config, new)
        target = config.delivery_dir / run_id
        if target.exists():  # promoted by a run that died before it could update the catalogue
            logger.info(
                "%s: delivery already promoted; recording it", run_id, extra={"run_id": run_id}
            )
        else:
            batch = _Batch(config, run_id, new, executor or LocalExecutor(), services, progress)
            _run_and_promote(batch, catalogue, target)
        deliver_stage.update_index(config.delivery_dir, run_id)  # as soon as it is visible
        manifest = read_manifest(target / "manifest.json")
        _audit(log, config, manifest, new, target)
        catalogue.finish_run(run_id)
        logger.info(
            "%s: run delivered", run_id, extra={"run_id": run_id, "rows": manifest["totals"]}
        )
        review = config.work_dir / REVIEW_DIR / f"{run_id}.csv"
        return RunSummary(
            status="delivered",
            run_id=run_id,
            delivery_dir=target,
            manifest=manifest,
            audit_log=log.path,
            review_file=review if review.is_file() else None,
        )


def _checked_state(config: PipelineConfig, services: Services) -> tuple[AuditLog, StateCatalogue]:
    """Under the run lock, before any work: the approval current, the audit log sound (exit 3
    if tampered, truncated or emptied) and not closed, and killed runs' leftovers removed."""
    if config.approvals is not None:
        config.approvals.enforce(date.today())  # expired, or recipient not approved: exit 2
    authenticator = services.open_audit_authenticator(config)
    check_run_log(config, authenticator)
    log = run_log(config, authenticator)
    refuse_closed(log)  # keys destroyed, work folder deleted: nothing may run again
    catalogue = StateCatalogue(config.state_dir / STATE_FILE)
    remove_unpromoted_copies(config, catalogue.unfinished())  # a cross-filesystem copy
    remove_stale_temporaries(private_dir(config.work_dir))
    return log, catalogue


def pending_files(
    config: PipelineConfig, *, reprocess: bool = False
) -> tuple[list[FileRecord], list[FileRecord]]:
    """Every current input file, and those a run would process now (all with ``reprocess``),
    without writing anything (for ``pprl run --dry-run``)."""
    files = _discover(config)
    state = config.state_dir / STATE_FILE
    if reprocess or not state.exists():
        return files, files
    done = StateCatalogue(state).delivered(files)
    return files, [f for f in files if (f.path, f.sha256) not in done]


def _run_id(config: PipelineConfig, files: list[FileRecord]) -> str:
    """From the config, the input checksums and the stored decisions: the same inputs give the
    same ID, so a rerun finds its earlier delivery or checkpoints."""
    fingerprint = config_digest(config) + "".join(f"|{f.source}|{f.path}|{f.sha256}" for f in files)
    store = config.work_dir / DECISIONS_FILE
    if config.linkage.mode != "none" and store.exists():
        # decisions change the linkage: with new ones, --all delivers anew
        fingerprint += "|decisions|" + file_sha256(store)
    return "run-" + bytes_sha256(fingerprint.encode("utf-8"))[:16]


def _run_and_promote(batch: _Batch, catalogue: StateCatalogue, target: Path) -> None:
    config, run_id = batch.config, batch.run_id
    catalogue.start_run(run_id, config_digest(config), batch.files)
    _remove_stale_runs(config.work_dir, keep=run_id)
    _remove_stale_runs(staging_root(config), keep=run_id)
    work = private_dir(config.work_dir / run_id)
    staging = private_dir(staging_root(config)) / run_id
    _run_stages(batch, work, staging)
    promote_folder(staging, target)  # the delivery appears whole or not at all
    shutil.rmtree(work, ignore_errors=True)


# --- discovery ---------------------------------------------------------------------------------


def _display_path(config: PipelineConfig, path: Path) -> str:
    """Relative to the config's folder when inside it, else absolute: stages resolve it again."""
    try:
        return str(path.resolve().relative_to(config.base_dir.resolve()))
    except ValueError:
        return str(path.resolve())


def _discover(config: PipelineConfig) -> list[FileRecord]:
    records = []
    for source in config.sources:
        paths = discover_files(config, source)
        if not paths and not source.allow_empty:
            raise ConfigError(
                f"sources.{source.name}.path: the pattern matches no files (set allow_empty: "
                "true if this source may have none yet)"
            )
        for path in paths:
            if not path.is_file():
                raise DataError(f"sources.{source.name}: input file not found: {path.name}")
            records.append(
                FileRecord(
                    source=source.name,
                    path=_display_path(config, path),
                    sha256=file_sha256(path),
                    size=path.stat().st_size,
                )
            )
    return records


# --- stages ------------------------------------------------------------------------------------


class _StageClock:
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
        return _stage_seconds(self.started, time.perf_counter())


def _run_stages(batch: _Batch, work: Path, out: Path) -> None:
    """Every stage, each resumed from its checkpoint in ``work`` when a killed run finished it;
    the delivery is assembled in ``out``."""
    config, services = batch.config, batch.services
    clock = _StageClock(batch.run_id, batch.progress)
    clock.start("ingest")
    rows, quarantine = _checkpoint(work / "01-prepared", lambda: _prepare_all(batch))

    clock.start("link")
    linking = config.linkage.mode != "none"
    history = _earlier_entities(config.work_dir / REGISTRY_FILE, rows) if linking else None
    decisions = load_decisions(config.work_dir / DECISIONS_FILE) if linking else None
    linked, pairs, link_facts = _link(batch, work / "02-linked", rows, history, decisions)

    clock.start("pseudonymise")
    pseudonymised, _ = _checkpoint(
        work / "03-pseudonymised", lambda: _pseudonymise_all(batch, linked)
    )

    clock.start("deidentify")
    # Disclosure control covers joins with what this recipient already holds (issue 12).
    qis = config.disclosure.quasi_identifiers
    earlier = deidentify_stage.earlier_extracts(config, qis, exclude=batch.run_id)
    extract, disclosure = deidentify_stage.deidentify(
        pseudonymised, config, deidentify_stage.identifying_values(linked), earlier=earlier
    )

    clock.start("deliver")
    facts = RunFacts(
        config=config,
        run_id=batch.run_id,
        files=batch.files,
        delivered=linked,
        quarantine=quarantine,
        probabilities=pairs["match_probability"],
        key_ids=_key_ids(config, services),
        disclosure=disclosure,
        entities=entity_summary(linked, history),
        audit_head=run_log_head(config),
        linking=link_facts,
    )
    deliver_stage.deliver(out, extract, facts, stage_seconds=clock.seconds)
    if linking:
        # before promotion: a run killed after this reruns to the same numbers (rows are keyed)
        registry_batch = link_stage.registry_rows(linked)
        match, review = facts.thresholds()
        if match is not None and review is not None:
            registry = (history, registry_batch)
            _write_review(config, batch.run_id, pairs, registry, decisions, (review, match))
        save_registry(config.work_dir / REGISTRY_FILE, history, registry_batch)


def _link(
    batch: _Batch,
    stem: Path,
    rows: pl.DataFrame,
    history: pl.DataFrame | None,
    decisions: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Stage 2 with its checkpoint: the linked rows, the scored pairs and the stage's facts
    (thresholds used, counts, warnings), which are kept beside the checkpoint so a resumed
    run reports them too."""
    facts_path = stem.with_suffix(".facts.json")
    if not facts_path.exists():  # written first: without it the checkpoint is incomplete
        stem.with_suffix(".main.parquet").unlink(missing_ok=True)
    config, linker = batch.config, batch.services.linker

    def compute() -> tuple[pl.DataFrame, pl.DataFrame]:
        outcome = link_stage.link_records(rows, config.linkage, linker, history, decisions)
        write_text_atomic(facts_path, json.dumps(outcome.summary()))
        return outcome.linked, outcome.pairs

    linked, pairs = _checkpoint(stem, compute)
    return linked, pairs, json.loads(facts_path.read_text(encoding="utf-8"))


def _checkpoint(
    stem: Path, compute: Callable[[], tuple[pl.DataFrame, pl.DataFrame]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reuse a finished stage's two outputs after a crash; otherwise compute and save them.

    The second output is written first, so the first one existing means both are complete.
    """
    main, side = stem.with_suffix(".main.parquet"), stem.with_suffix(".side.parquet")
    if main.exists() and side.exists():
        logger.info("resuming from checkpoint %s", stem.name, extra={"checkpoint": stem.name})
        return pl.read_parquet(main), pl.read_parquet(side)
    first, second = compute()
    write_with_atomic(side, lambda tmp: second.write_parquet(tmp))
    write_with_atomic(main, lambda tmp: first.write_parquet(tmp))
    return first, second


def _prepare_task(
    path: str, source_name: str, config: PipelineConfig, services: Services, display: str
) -> IngestResult:
    source = next(s for s in config.sources if s.name == source_name)
    return prepare_stage.prepare_file(
        config.resolve(path), source, services.check_identifiers, display
    )


def _prepare_all(batch: _Batch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stage 1 per file on the executor: the rows kept, and every file's quarantine."""
    tasks = [(f.path, f.source, batch.config, batch.services, f.path) for f in batch.files]
    results = batch.executor.map(_prepare_task, tasks)
    quarantine = pl.concat(
        [pl.DataFrame(schema=QUARANTINE_SCHEMA), *(r.quarantine for r in results)]
    )
    return pl.concat([r.rows for r in results], how="diagonal_relaxed"), quarantine


def _pseudonymise_all(batch: _Batch, linked: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stage 3 per chunk of rows on the executor (no side output)."""
    factory = batch.services.pseudonymiser_factory
    chunks = [
        (linked.slice(start, CHUNK_ROWS), batch.config, factory)
        for start in range(0, max(linked.height, 1), CHUNK_ROWS)
    ]
    parts = batch.executor.map(pseudonymise_stage.pseudonymise_chunk, chunks)
    return pl.concat(parts), pl.DataFrame()


def _key_ids(config: PipelineConfig, services: Services) -> dict[str, str]:
    """Key IDs of every identifier type the run pseudonymised (and ``person`` when linking)."""
    id_types = sorted({t for s in config.sources for t in s.identifier_columns().values()})
    if config.linkage.mode != "none":
        id_types.append(PERSON_TYPE)
    return key_ids(services.pseudonymiser_factory(config), id_types)


def _write_review(
    config: PipelineConfig,
    run_id: str,
    pairs: pl.DataFrame,
    registry: tuple[pl.DataFrame | None, pl.DataFrame],
    decisions: pl.DataFrame | None,
    thresholds: tuple[float, float],
) -> None:
    """The curators' clerical-review file for this run's grey band (:mod:`pipeline.review`):
    ``registry`` is the earlier runs' rows and this batch's, ``thresholds`` (review, match)."""
    history, batch = registry
    records = batch if history is None else pl.concat([history, batch], how="diagonal_relaxed")
    rows = review_rows(
        pairs,
        records.drop(ENTITY),
        batch[UID],
        review=thresholds[0],
        match=thresholds[1],
        decisions=decisions,
    )
    write_review(config.work_dir / REVIEW_DIR / f"{run_id}.csv", rows)
    logger.info("%d pairs for clerical review", rows.height, extra={"review_pairs": rows.height})


def _earlier_entities(registry: Path, rows: pl.DataFrame) -> pl.DataFrame | None:
    """Registry rows of records not in this batch (a rerun's own rows are replaced)."""
    history = load_registry(registry)
    if history is None:
        return None
    return history.join(link_stage.linkage_view(rows).select(UID), on=UID, how="anti")


def _stage_seconds(started: dict[str, float], now: float) -> dict[str, float]:
    """Wall seconds per stage: each stage runs until the next one starts (a stage resumed from
    its checkpoint shows the time to load it)."""
    names = list(started)
    ends = [started[n] for n in names[1:]] + [now]
    return {n: round(end - started[n], 3) for n, end in zip(names, ends, strict=True)}


# --- promotion and audit -----------------------------------------------------------------------


def _remove_stale_runs(directory: Path, *, keep: str) -> None:
    """Delete leftovers of runs that can no longer resume (their inputs or config changed)."""
    if directory.is_dir():
        for old in directory.glob("run-*"):
            if old.name != keep and old.is_dir():
                logger.info("removing leftovers of an abandoned run %s", old.name)
                shutil.rmtree(old, ignore_errors=True)


def _audit(
    log: AuditLog,
    config: PipelineConfig,
    manifest: dict[str, Any],
    files: list[FileRecord],
    target: Path,
) -> None:
    run_id = manifest["run_id"]
    if any(
        e.get("action") == "pipeline.run" and e.get("details", {}).get("run_id") == run_id
        for e in log.entries()
    ):
        return  # recorded before a crash; a resumed run must not record it twice
    log.append(
        "pipeline.run",
        inputs={f.path: f.sha256 for f in files},
        outputs={f"{run_id}/{name}": o["sha256"] for name, o in manifest["outputs"].items()},
        details={
            "run_id": run_id,
            "project": config.project,
            "environment": config.environment,
            "totals": manifest["totals"],
            "key_ids": manifest["key_ids"],
            "manifest_sha256": file_sha256(target / "manifest.json"),
            **({"approvals": config.approvals.record()} if config.approvals else {}),
        },
    )
