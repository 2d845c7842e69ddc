"""Run the batch pipeline: ingest -> identifiers -> link -> pseudonymise -> de-identify -> deliver.

Guarantees:

* **Locked**: one run per config state at a time (:mod:`pipeline.lock`, exit 75 otherwise).
* **Incremental**: input files already delivered (same path and SHA-256 in the DuckDB catalogue,
  :mod:`pipeline.state`) are skipped; a run with nothing new changes nothing.
* **Deterministic**: the run ID derives from the config and the input checksums, and nothing in
  the delivery carries a timestamp, so a rerun of the same inputs gives byte-identical files.
* **Resumable**: each stage checkpoints to ``<work_dir>/<run_id>/`` (identifying data, kept
  outside the delivery folder; :mod:`pipeline.run_stages`, which streams every stage in
  chunks); the de-identified delivery is assembled in
  ``<work_dir>/staging/<run_id>/`` (:mod:`pipeline.stages.deliver`) and promoted with one
  directory rename (:func:`pipeline.atomic.promote_folder`; across filesystems, a copy to a
  hidden temporary folder beside the target first), so a killed run leaves nothing visible
  and a rerun picks up from the last finished stage. The catalogue, audit log and lock live
  in the state folder (:mod:`pipeline.locations`); nothing but deliveries is in the delivery
  folder.
* **Accounted**: every input row is delivered or quarantined (with a reason); delivered rows
  are further split into linked and unlinked. The manifest's counts add up.
* **Stable person IDs**: each batch is linked together with the earlier runs' records it can
  be linked with (the entity registry in the work folder, :mod:`pipeline.entities` and
  :mod:`pipeline.registry`), so a person keeps one ``person_id`` across the project's
  deliveries; ``person_id`` is a keyed pseudonym of the entity id.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.atomic import (
    private_dir,
    promote_folder,
    remove_stale_temporaries,
)
from pipeline.audit import AuditLog, check_run_log, run_log
from pipeline.config import PipelineConfig
from pipeline.errors import ConfigError, DataError
from pipeline.executors import Executor, LocalExecutor
from pipeline.ingest import discover_files
from pipeline.locations import (
    STATE_FILE,
    refuse_legacy_state,
    remove_unpromoted_copies,
    staging_root,
)
from pipeline.lock import LOCK_FILE, RunLock
from pipeline.manifest import config_digest, read_manifest
from pipeline.project import refuse_closed
from pipeline.review import DECISIONS_FILE, REVIEW_DIR, store_decisions
from pipeline.run_stages import STAGES, Batch, Progress, run_stages
from pipeline.stages import deliver as deliver_stage
from pipeline.stages.services import Services
from pipeline.state import FileRecord, StateCatalogue, file_stamp
from pseudonym.digests import bytes_sha256, file_sha256

__all__ = ["STAGES", "RunSummary", "pending_files", "run_pipeline"]

logger = logging.getLogger(__name__)


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


def run_pipeline(
    config: PipelineConfig,
    *,
    executor: Executor | None = None,
    services: Services | None = None,
    progress: Progress | None = None,
    reprocess: bool = False,
    decisions: Sequence[Path] = (),
    whole_history: bool = False,
) -> RunSummary:
    """Run the pipeline for every input file not yet delivered. See the module docstring.

    ``reprocess`` takes every current input file, delivered or not (e.g. after a config
    change); with an unchanged config and inputs it finds the earlier delivery and changes nothing.
    ``decisions`` are edited clerical-review files: they are stored first (even when nothing
    is new) and shape this and every later run's linkage (:mod:`pipeline.review`).
    ``whole_history`` links the batch with every record of the entity registry instead of
    those sharing a blocking key or identifier with it (slower; for comparison).
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
        files = _discover(config, None if reprocess else catalogue.delivered_stamps())
        done = catalogue.delivered(files)
        new = files if reprocess else [f for f in files if (f.path, f.sha256) not in done]
        catalogue.record_stamps([f for f in files if (f.path, f.sha256) in done])
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
            executor = executor or LocalExecutor()
            batch = Batch(config, run_id, new, executor, services, progress, whole_history)
            _run_and_promote(batch, catalogue, target)
        return _record_delivery(config, log, catalogue, new, run_id)


def _record_delivery(
    config: PipelineConfig,
    log: AuditLog,
    catalogue: StateCatalogue,
    files: list[FileRecord],
    run_id: str,
) -> RunSummary:
    """Once the delivery is promoted: the delivery index, the audit log, the catalogue."""
    target = config.delivery_dir / run_id
    deliver_stage.update_index(config.delivery_dir, run_id)  # as soon as it is visible
    manifest = read_manifest(target / "manifest.json")
    _audit(log, config, manifest, files, target)
    catalogue.finish_run(run_id)
    logger.info("%s: run delivered", run_id, extra={"run_id": run_id, "rows": manifest["totals"]})
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


def _run_and_promote(batch: Batch, catalogue: StateCatalogue, target: Path) -> None:
    config, run_id = batch.config, batch.run_id
    catalogue.start_run(run_id, config_digest(config), batch.files)
    _remove_stale_runs(config.work_dir, keep=run_id)
    _remove_stale_runs(staging_root(config), keep=run_id)
    work = private_dir(config.work_dir / run_id)
    staging = private_dir(staging_root(config)) / run_id
    run_stages(batch, work, staging)
    promote_folder(staging, target)  # the delivery appears whole or not at all
    shutil.rmtree(work, ignore_errors=True)


# --- discovery ---------------------------------------------------------------------------------


def _display_path(config: PipelineConfig, path: Path) -> str:
    """Relative to the config's folder when inside it, else absolute: stages resolve it again."""
    try:
        return str(path.resolve().relative_to(config.base_dir.resolve()))
    except ValueError:
        return str(path.resolve())


def _discover(
    config: PipelineConfig, known: Mapping[str, tuple[str, str]] | None = None
) -> list[FileRecord]:
    """Every input file with its SHA-256; ``known``: path -> (stamp, SHA-256) of delivered
    files, whose digest is taken again while the file's stamp is unchanged
    (:mod:`pipeline.state`)."""
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
            records.append(_file_record(config, source.name, path, known or {}))
    return records


def _file_record(
    config: PipelineConfig, source: str, path: Path, known: Mapping[str, tuple[str, str]]
) -> FileRecord:
    shown = _display_path(config, path)
    stamp = file_stamp(path)
    seen = known.get(shown)
    if seen is not None and seen[0] == stamp:  # delivered, bytes not rewritten since
        return FileRecord(source, shown, seen[1], path.stat().st_size, stamp)
    digest = file_sha256(path)
    unchanged = file_stamp(path) == stamp  # not written to while it was read
    return FileRecord(source, shown, digest, path.stat().st_size, stamp if unchanged else None)


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
