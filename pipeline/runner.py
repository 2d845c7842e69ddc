"""Run the batch pipeline: ingest -> identifiers -> link -> pseudonymise -> de-identify -> deliver.

Guarantees:

* **Locked**: one run per delivery folder at a time (:mod:`pipeline.lock`, exit 75 otherwise).
* **Incremental**: input files already delivered (same path and SHA-256 in the DuckDB catalogue,
  :mod:`pipeline.state`) are skipped; a run with nothing new changes nothing.
* **Deterministic**: the run ID derives from the config and the input checksums, and nothing in
  the delivery carries a timestamp, so a rerun of the same inputs gives byte-identical files.
* **Resumable**: each stage checkpoints to ``<work_dir>/<run_id>/`` (identifying data, kept
  outside the delivery folder); the de-identified delivery is assembled in
  ``<delivery>/.pprl/staging/<run_id>/`` and promoted with one directory rename, so a killed
  run leaves nothing visible and a rerun picks up from the last finished stage.
* **Accounted**: every input row is delivered or quarantined (with a reason); delivered rows
  are further split into linked and unlinked. The manifest's counts add up.
* **Stable person IDs**: each batch is linked together with earlier runs' records (the entity
  registry in the work folder, :mod:`pipeline.entities`), so a person keeps one ``person_id``
  across the project's deliveries; ``person_id`` is a keyed pseudonym of the entity number.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import remove_stale_temporaries, write_text_atomic, write_with_atomic
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
from pipeline.lock import RunLock
from pipeline.manifest import write_manifest
from pipeline.review import (
    DECISIONS_FILE,
    REVIEW_DIR,
    load_decisions,
    review_rows,
    store_decisions,
    write_review,
)
from pipeline.stages import deidentify as deidentify_stage
from pipeline.stages import link as link_stage
from pipeline.stages import prepare as prepare_stage
from pipeline.stages import pseudonymise as pseudonymise_stage
from pipeline.stages.prepare import NULLED_STAGE
from pipeline.stages.pseudonymise import PERSON_TYPE
from pipeline.stages.services import Services, key_ids
from pipeline.state import FileRecord, StateCatalogue
from pseudonym.digests import bytes_sha256, file_sha256

logger = logging.getLogger(__name__)

CHUNK_ROWS = 200_000
MANIFEST_KIND = "pipeline-run"
Progress = Callable[[str, int, int], None]


@dataclass
class RunSummary:
    """What a run did. ``status`` is ``delivered`` or ``up_to_date`` (nothing new to do)."""

    status: str
    run_id: str | None = None
    delivery_dir: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)


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
    executor = executor or LocalExecutor()
    services = services or Services.default()
    state_dir = config.state_dir
    if decisions and config.linkage.mode == "none":
        raise ConfigError("--decisions: linkage.mode is none, so there is nothing to decide")
    with RunLock(state_dir / "lock"):
        remove_stale_temporaries(config.delivery_dir)
        if decisions:
            stored = store_decisions(config.work_dir / DECISIONS_FILE, list(decisions))
            logger.info("stored %d clerical-review decisions", stored, extra={"decisions": stored})
        catalogue = StateCatalogue(state_dir / "state.duckdb")
        files = _discover(config)
        done = catalogue.delivered(files)
        new = files if reprocess else [f for f in files if (f.path, f.sha256) not in done]
        if not new:
            logger.info(
                "nothing new to process (%d files seen)",
                len(files),
                extra={"files_seen": len(files)},
            )
            return RunSummary(status="up_to_date")
        config_sha = bytes_sha256(config.model_dump_json().encode("utf-8"))
        fingerprint = config_sha + "".join(f"|{f.source}|{f.path}|{f.sha256}" for f in new)
        store = config.work_dir / DECISIONS_FILE
        if config.linkage.mode != "none" and store.exists():
            # decisions change the linkage: with new ones, --all delivers anew
            fingerprint += "|decisions|" + file_sha256(store)
        run_id = "run-" + bytes_sha256(fingerprint.encode("utf-8"))[:16]
        target = config.delivery_dir / run_id
        if not target.exists():
            catalogue.start_run(run_id, config_sha, new)
            _remove_stale_runs(config.work_dir, keep=run_id)
            _remove_stale_runs(state_dir / "staging", keep=run_id)
            work = config.work_dir / run_id
            work.mkdir(parents=True, exist_ok=True)
            staging = state_dir / "staging" / run_id
            manifest = _run_stages(config, new, run_id, work, staging, executor, services, progress)
            _promote(staging, target)
            shutil.rmtree(work, ignore_errors=True)
        else:  # promoted by a run that died before it could update the catalogue
            logger.info(
                "%s: delivery already promoted; recording it", run_id, extra={"run_id": run_id}
            )
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        _audit(config, run_id, manifest, new, target)
        catalogue.finish_run(run_id)
        logger.info(
            "%s: run delivered", run_id, extra={"run_id": run_id, "rows": manifest["totals"]}
        )
        return RunSummary(status="delivered", run_id=run_id, delivery_dir=target, manifest=manifest)


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


def _run_stages(
    config: PipelineConfig,
    files: list[FileRecord],
    run_id: str,
    work: Path,
    out: Path,
    executor: Executor,
    services: Services,
    progress: Progress | None,
) -> dict[str, Any]:
    started: dict[str, float] = {}  # stage -> perf_counter at its start, for stage_seconds

    def step(name: str, number: int) -> None:
        started[name] = time.perf_counter()
        logger.info("%s: stage %s started", run_id, name, extra={"stage": name, "run_id": run_id})
        if progress is not None:
            progress(name, number, 5)

    step("ingest", 1)

    def prepare_all() -> tuple[pl.DataFrame, pl.DataFrame]:
        tasks = [(f.path, f.source, config, services, f.path) for f in files]
        results = executor.map(_prepare_task, tasks)
        quarantine = pl.concat(
            [pl.DataFrame(schema=QUARANTINE_SCHEMA), *(r.quarantine for r in results)]
        )
        return pl.concat([r.rows for r in results], how="diagonal_relaxed"), quarantine

    rows, quarantine = _checkpoint(work / "01-prepared", prepare_all)

    step("link", 2)
    registry = config.work_dir / REGISTRY_FILE
    linking = config.linkage.mode != "none"
    history = _earlier_entities(registry, rows) if linking else None
    decisions = load_decisions(config.work_dir / DECISIONS_FILE) if linking else None

    def link() -> tuple[pl.DataFrame, pl.DataFrame]:
        return link_stage.link_records(rows, config.linkage, services.linker, history, decisions)

    linked, pairs = _checkpoint(work / "02-linked", link)
    probabilities = pairs["match_probability"]

    step("pseudonymise", 3)

    def pseudonymise() -> tuple[pl.DataFrame, pl.DataFrame]:
        chunks = [
            (linked.slice(start, CHUNK_ROWS), config, services.pseudonymiser_factory)
            for start in range(0, max(linked.height, 1), CHUNK_ROWS)
        ]
        parts = executor.map(pseudonymise_stage.pseudonymise_chunk, chunks)
        return pl.concat(parts), pl.DataFrame()

    pseudonymised, _ = _checkpoint(work / "03-pseudonymised", pseudonymise)

    step("deidentify", 4)
    extract, disclosure = deidentify_stage.deidentify(
        pseudonymised, config, deidentify_stage.identifying_values(linked)
    )

    step("deliver", 5)
    if out.exists():
        shutil.rmtree(out)  # an unfinished assembly from a killed run: rebuild it
    out.mkdir(parents=True)
    outputs: dict[str, dict[str, Any]] = {}
    batch_sources = {f.source for f in files}
    for source in config.sources:
        if source.name not in batch_sources:
            continue  # an incremental batch with no new files for this source
        foreign = set(config.approved_attributes) - set(source.attribute_columns())
        part = extract.filter(pl.col("_source") == source.name).drop(foreign, strict=False)
        name = f"{source.name}.parquet"
        write_with_atomic(out / name, part.write_parquet)
        outputs[name] = {"sha256": file_sha256(out / name), "rows": part.height}
    ordered_quarantine = quarantine.sort("_source", "_file", "_row")
    write_with_atomic(out / "quarantine.parquet", ordered_quarantine.write_parquet)
    outputs["quarantine.parquet"] = {
        "sha256": file_sha256(out / "quarantine.parquet"),
        "rows": ordered_quarantine.height,
    }
    id_types = sorted({t for s in config.sources for t in s.identifier_columns().values()})
    if linking:
        id_types.append(PERSON_TYPE)
    pseudonymiser_keys = key_ids(services.pseudonymiser_factory(config), id_types)
    manifest = build_manifest(
        config, run_id, files, linked, quarantine, outputs, probabilities, pseudonymiser_keys
    )
    manifest["disclosure"].update(disclosure)
    manifest["linkage"]["entities"] = entity_summary(linked, history)
    manifest["stage_seconds"] = _stage_seconds(started, time.perf_counter())
    manifest = write_manifest(out / "manifest.json", MANIFEST_KIND, manifest)
    from pipeline.run_report import render_report

    write_text_atomic(out / "report.html", render_report(manifest, probabilities))
    if linking:
        # before promotion: a run killed after this reruns to the same numbers (rows are keyed)
        batch = link_stage.registry_rows(linked)
        _write_review(config, run_id, pairs, history, batch, decisions)
        save_registry(registry, history, batch)
    return manifest


def _write_review(
    config: PipelineConfig,
    run_id: str,
    pairs: pl.DataFrame,
    history: pl.DataFrame | None,
    batch: pl.DataFrame,
    decisions: pl.DataFrame | None,
) -> None:
    """The curators' clerical-review file for this run's grey band (:mod:`pipeline.review`)."""
    records = batch if history is None else pl.concat([history, batch], how="diagonal_relaxed")
    rows = review_rows(
        pairs,
        records.drop(ENTITY),
        batch[UID],
        review=config.linkage.thresholds.review,
        match=config.linkage.thresholds.match,
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


def build_manifest(
    config: PipelineConfig,
    run_id: str,
    files: list[FileRecord],
    delivered: pl.DataFrame,
    quarantine: pl.DataFrame,
    outputs: dict[str, dict[str, Any]],
    probabilities: pl.Series,
    pseudonymiser_keys: dict[str, str],
) -> dict[str, Any]:
    """Counts, checksums, key IDs and settings for a run: no values, no timestamps."""
    sources: dict[str, dict[str, Any]] = {}
    for source in config.sources:
        rows = delivered.filter(pl.col("_source") == source.name)
        problems = quarantine.filter(pl.col("_source") == source.name)
        q = problems.filter(pl.col("stage") != NULLED_STAGE)
        by_stage = {s: q.filter(pl.col("stage") == s).height for s in ("ingest", "identifiers")}
        linked = int(rows["linked"].sum()) if rows.height else 0
        sources[source.name] = {
            "files": sum(1 for f in files if f.source == source.name),
            "input_rows": rows.height + q.height,
            "quarantined": q.height,
            "quarantined_by_stage": by_stage,
            "delivered": rows.height,
            "identifiers_nulled": problems.height - q.height,
            "linked": linked if config.linkage.mode != "none" else 0,
            "unlinked": rows.height - linked if config.linkage.mode != "none" else rows.height,
        }
    totals = {
        key: sum(int(s[key]) for s in sources.values())
        for key in (
            "input_rows",
            "quarantined",
            "delivered",
            "linked",
            "unlinked",
            "identifiers_nulled",
        )
    }
    reasons = (
        quarantine.group_by("stage", "reason").len().sort("stage", "reason").iter_rows()
        if quarantine.height
        else iter(())
    )
    match_threshold = config.linkage.thresholds.match
    matches = int((probabilities >= match_threshold).sum()) if len(probabilities) else 0
    review = (
        int(
            (
                (probabilities >= config.linkage.thresholds.review)
                & (probabilities < match_threshold)
            ).sum()
        )
        if len(probabilities)
        else 0
    )
    return {
        "run_id": run_id,
        "project": config.project,
        "environment": config.environment,
        "config_sha256": bytes_sha256(config.model_dump_json().encode("utf-8")),
        "inputs": [
            {"source": f.source, "path": f.path, "sha256": f.sha256, "size": f.size} for f in files
        ],
        "outputs": outputs,
        "sources": sources,
        "totals": totals,
        "quarantine_reasons": [
            {"stage": stage, "reason": reason, "rows": n} for stage, reason, n in reasons
        ],
        "linkage": {
            "mode": config.linkage.mode,
            "pairs_scored": len(probabilities),
            "pairs_matched": matches,
            "pairs_for_review": review,
            "match_threshold": match_threshold,
            "review_threshold": config.linkage.thresholds.review,
            "match_rate": (totals["linked"] / totals["delivered"]) if totals["delivered"] else 0.0,
        },
        "key_ids": pseudonymiser_keys,
        "disclosure": {
            "approved_attributes": list(config.approved_attributes),
            "direct_identifiers_removed": True,
            "leak_check": "passed",
            "derived_attributes": list(config.disclosure.derive),
            "k": config.disclosure.k,
            "quasi_identifiers": list(config.disclosure.quasi_identifiers),
            "suppression_budget": config.disclosure.suppression_budget,
            "geography_floor": config.disclosure.geography_floor,
        },
    }


# --- promotion and audit -----------------------------------------------------------------------


def _remove_stale_runs(directory: Path, *, keep: str) -> None:
    """Delete leftovers of runs that can no longer resume (their inputs or config changed)."""
    if directory.is_dir():
        for old in directory.glob("run-*"):
            if old.name != keep and old.is_dir():
                logger.info("removing leftovers of an abandoned run %s", old.name)
                shutil.rmtree(old, ignore_errors=True)


def _promote(assembled: Path, target: Path) -> None:
    """Move the finished delivery into place with one rename (atomic on one filesystem)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(assembled, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _audit(
    config: PipelineConfig,
    run_id: str,
    manifest: dict[str, Any],
    files: list[FileRecord],
    target: Path,
) -> None:
    from pipeline.audit import AuditLog

    log = AuditLog(config.state_dir / "audit.jsonl")
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
        },
    )
