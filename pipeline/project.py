"""A project's life cycle around its runs: moving older state, and closing the project.

:func:`migrate_state` moves the run state an older pprl kept in ``<delivery>/.pprl/`` (the
catalogue and the audit log; leftover staging is deleted, since a rerun rebuilds it) to the
config's state folder (:mod:`pipeline.locations`). The log is verified with the audit key
before the move, against every delivered manifest's recorded head; the move itself is recorded
in it; the copy must be byte-identical and verify again before the old folder is removed. A
migration killed part-way is resumed by running it again.

:func:`close_project` ends a project: it destroys the environment's keys in the keystore
(crypto-shredding: its pseudonyms can never be reproduced or matched again), deletes the work
folder (checkpoints, the entity registry, decisions, review files, staging: identifying data),
and records the closure in the run's audit log. It keeps the delivery folder and the state
folder (audit log and catalogue). The audit key derives from the master key alone
(:mod:`pseudonym.macs`), not from the destroyed environment, so the log still verifies after.
A closed project refuses further runs (:func:`refuse_closed`); closing again changes nothing.
"""

from __future__ import annotations

import filecmp
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.atomic import TMP_PREFIX, private_dir, remove_stale_temporaries, write_with_atomic
from pipeline.audit import (
    RUN_LOG_FILE,
    AuditLog,
    check_against_deliveries,
    check_run_log,
    keystore_log,
    run_log,
)
from pipeline.config import PipelineConfig
from pipeline.errors import ConfigError, DataError
from pipeline.locations import (
    STAGING_DIR,
    STATE_FILE,
    legacy_state_dir,
    refuse_legacy_state,
    remove_unpromoted_copies,
)
from pipeline.lock import LOCK_FILE, RunLock
from pipeline.registry import LEGACY_FILE, REGISTRY_DIR
from pipeline.review import DECISIONS_FILE, REVIEW_DIR
from pipeline.state import StateCatalogue
from pseudonym.keystore import Keystore
from pseudonym.macs import RecordAuthenticator

CLOSE_ACTION = "project.close"
MIGRATE_ACTION = "pipeline.state_moved"
# What a run writes in the work folder, besides run-*/ checkpoints and .tmp-* temporaries.
WORK_ENTRIES = frozenset({REGISTRY_DIR, LEGACY_FILE, DECISIONS_FILE, REVIEW_DIR, STAGING_DIR})
# What older versions kept in <delivery>/.pprl/ (the lock and its guard go last).
LEGACY_FILES = (RUN_LOG_FILE, STATE_FILE, STATE_FILE + ".wal")


class ProjectClosed(ConfigError):
    """The project was closed: its keys are destroyed and nothing may run again."""


@dataclass(frozen=True)
class CloseResult:
    """What :func:`close_project` did. ``closed_at`` is the closure entry's time."""

    already_closed: bool
    environment: str
    key_ids: tuple[str, ...]
    removed: tuple[str, ...]
    closed_at: str
    audit_log: Path


@dataclass(frozen=True)
class MigrateResult:
    """What :func:`migrate_state` moved, and the verified log it left."""

    source: Path
    target: Path
    moved: tuple[str, ...]
    entries: int
    head: str


def closure(log: AuditLog) -> dict[str, Any] | None:
    """The log's ``project.close`` entry, or None while the project is open (not verified)."""
    return next((e for e in log.entries() if e.get("action") == CLOSE_ACTION), None)


def refuse_closed(log: AuditLog) -> None:
    """Raise :class:`ProjectClosed` if ``log`` records the project's closure."""
    entry = closure(log)
    if entry is not None:
        raise ProjectClosed(
            f"{log.path}: the project was closed at {entry.get('time', '?')} (its keys are"
            " destroyed); nothing can run for it again"
        )


# --- close -------------------------------------------------------------------------------------


def close_project(config: PipelineConfig, keystore: Keystore) -> CloseResult:
    """Destroy the project's keys, delete its work folder and record it (module docstring).

    ``keystore`` is the configured keystore opened with its master key. The run lock is held
    throughout and the run log must verify first (exit 3 otherwise), so a closure is always
    recorded in a sound log. A work folder holding files no run wrote is refused before
    anything is destroyed.
    """
    authenticator = keystore.audit_authenticator()
    refuse_legacy_state(config)
    with RunLock(private_dir(config.state_dir) / LOCK_FILE):
        check_run_log(config, authenticator)
        log = run_log(config, authenticator)
        earlier = closure(log)
        if earlier is not None:
            details = earlier.get("details", {})
            return CloseResult(
                already_closed=True,
                environment=config.environment,
                key_ids=tuple(details.get("key_ids", ())),
                removed=(),
                closed_at=str(earlier.get("time", "?")),
                audit_log=log.path,
            )
        _check_work_folder(config.work_dir)
        key_ids = _destroy_keys(config, keystore)
        removed = _delete_work_folder(config.work_dir)
        unfinished = StateCatalogue(config.state_dir / STATE_FILE).unfinished()
        remove_unpromoted_copies(config, unfinished)  # a killed promotion's hidden copy
        entry = log.append(
            CLOSE_ACTION,
            details={
                "project": config.project,
                "environment": config.environment,
                "key_ids": list(key_ids),
                "deleted": removed,
                "kept": {
                    "delivery": str(config.delivery_dir),
                    "deliveries": len(list(config.delivery_dir.glob("run-*"))),
                },
            },
        )
        log.verify()
    return CloseResult(
        already_closed=False,
        environment=config.environment,
        key_ids=key_ids,
        removed=tuple(removed),
        closed_at=str(entry["time"]),
        audit_log=log.path,
    )


def _destroy_keys(config: PipelineConfig, keystore: Keystore) -> tuple[str, ...]:
    """Destroy the environment's keys (unless a closure killed part-way already did)."""
    info = keystore.environment(config.environment)
    key_ids = tuple(v.key_id for v in info.versions)
    if info.status != "destroyed":
        keystore.destroy(config.environment)
        keystore_log(keystore).append(
            "keys.destroy",
            details={
                "environment": config.environment,
                "key_ids": list(key_ids),
                "reason": f"{CLOSE_ACTION} {config.project}",
            },
        )
    return key_ids


def _is_work_entry(path: Path) -> bool:
    name = path.name
    return name in WORK_ENTRIES or name.startswith(("run-", TMP_PREFIX))


def _check_work_folder(work: Path) -> None:
    """Refuse to delete a work folder that holds anything a run did not write there."""
    if not work.is_dir():
        return
    strangers = sorted(p.name for p in work.iterdir() if not _is_work_entry(p))
    if strangers:
        raise ConfigError(
            f"{work}: the work folder holds files pprl did not write ({', '.join(strangers[:5])}"
            f"{', ...' if len(strangers) > 5 else ''}); move them elsewhere, then close again"
        )


def _delete_work_folder(work: Path) -> list[str]:
    if not work.exists():
        return []
    shutil.rmtree(work)
    return [str(work)]


# --- migrate -----------------------------------------------------------------------------------


def migrate_state(
    config: PipelineConfig, authenticator: RecordAuthenticator
) -> MigrateResult | None:
    """Move ``<delivery>/.pprl/`` to the config's state folder (module docstring); None if
    there is nothing to move. Both folders' run locks are held throughout."""
    legacy = legacy_state_dir(config)
    if not legacy.is_dir():
        return None
    target = private_dir(config.state_dir)
    with RunLock(legacy / LOCK_FILE), RunLock(target / LOCK_FILE):
        old_log = AuditLog(legacy / RUN_LOG_FILE, authenticator=authenticator)
        new_log = AuditLog(target / RUN_LOG_FILE, authenticator=authenticator)
        if old_log.path.exists() or not new_log.path.exists():  # else: moved before a kill
            check_against_deliveries(old_log, config.delivery_dir)
        if old_log.path.exists() and not _moved_already(old_log, target):
            old_log.append(MIGRATE_ACTION, details={"from": str(legacy), "to": str(target)})
        moved = [name for name in LEGACY_FILES if (legacy / name).is_file()]
        for name in moved:
            _copy_identical(legacy / name, target / name)
        result = check_against_deliveries(new_log, config.delivery_dir)
        for name in reversed(moved):  # the log last: while it is there, a rerun checks it
            (legacy / name).unlink()
        shutil.rmtree(legacy / STAGING_DIR, ignore_errors=True)  # unpromoted: a rerun rebuilds
        remove_stale_temporaries(legacy)
    _remove_legacy_folder(legacy)
    return MigrateResult(legacy, target, tuple(moved), result.entries, result.head)


def _moved_already(log: AuditLog, target: Path) -> bool:
    """Whether the log's newest entry records this move (a migration killed part-way)."""
    entries = log.entries()
    last = entries[-1] if entries else {}
    return last.get("action") == MIGRATE_ACTION and last.get("details", {}).get("to") == str(target)


def _copy_identical(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically (owner-only); a target already there must be
    an identical copy (an earlier, interrupted migration), else nothing is overwritten."""
    if target.exists():
        if filecmp.cmp(source, target, shallow=False):
            return
        raise ConfigError(
            f"{target}: already exists and differs from {source}; the state folder is in use"
            " by another deployment: set delivery.state_dir to a new folder and migrate again"
        )
    write_with_atomic(target, lambda tmp: shutil.copyfile(source, tmp))
    if not filecmp.cmp(source, target, shallow=False):
        raise DataError(f"{target}: the copy differs from {source}; nothing was removed")


def _remove_legacy_folder(legacy: Path) -> None:
    (legacy / (LOCK_FILE + ".guard")).unlink(missing_ok=True)
    left = sorted(p.name for p in legacy.iterdir())
    if left:
        raise DataError(
            f"{legacy}: state moved, but files pprl did not write remain ({', '.join(left[:5])});"
            " move them out and remove the folder"
        )
    legacy.rmdir()
