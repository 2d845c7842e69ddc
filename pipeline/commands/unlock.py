"""``pprl unlock CONFIG --reason TEXT``: clear a run lock whose run is gone, on the record.

For the locks a run cannot take over by itself (:mod:`pipeline.lock`): one left by a run on
another host, or an unreadable one. A lock whose run is still alive on this host is refused.
The run's audit log must verify first, and records who removed which lock and why (the
reason as given, so it should name an incident or ticket, never a person's data).
"""

from __future__ import annotations

import socket
from pathlib import Path

import click

from pipeline.audit import RUN_LOG_FILE, AuditLog
from pipeline.config import PipelineConfig, load_config
from pipeline.errors import ConfigError, TransientError
from pipeline.locations import legacy_state_dir
from pipeline.lock import LOCK_FILE, LockHeld, RunLock
from pseudonym.keystore import Keystore

MAX_REASON = 500


class LockChanged(TransientError):
    """The lock was released or replaced while being removed: look at it again."""


def check_reason(reason: str) -> str:
    """The reason, stripped: one line of 1-500 printable characters (never echoed back)."""
    text = reason.strip()
    if not text or len(text) > MAX_REASON or not text.isprintable():
        raise ConfigError(f"--reason: give 1-{MAX_REASON} printable characters on one line")
    return text


def _keyed_run_log(config: PipelineConfig, state: Path) -> AuditLog:
    from pipeline.stages.services import open_keystore

    keystore: Keystore = open_keystore(config)
    return AuditLog(state / RUN_LOG_FILE, authenticator=keystore.audit_authenticator())


@click.command("unlock")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--reason",
    required=True,
    help="Why the lock may go (an incident or ticket): recorded in the run's audit log.",
)
def command(config_path: Path, reason: str) -> None:
    """Remove the run lock of CONFIG when its run is gone, recording the reason.

    For a lock left by a run on another host (its process cannot be checked from here) or an
    unreadable lock file: make sure no run is still working on the delivery first. A lock whose
    run is alive on this host is refused (exit 75). Needs the master key: the removal is
    recorded in the run's audit log, which must verify (exit 3 if it does not).

    \b
    Example:
        pprl unlock configs/demo.yaml --reason "host tre-02 rebooted mid-run, INC-4711"
    """
    text = check_reason(reason)
    config = load_config(config_path)
    state = config.state_dir
    if legacy_state_dir(config).is_dir():  # an older pprl's lock blocks pprl project migrate
        state = legacy_state_dir(config)
    lock = RunLock(state / LOCK_FILE)
    owner = lock.owner()
    if owner is None:
        click.echo(f"{lock.path}: not locked; nothing to do")
        return
    if owner.readable and owner.host == socket.gethostname() and not lock.is_stale(owner):
        raise LockHeld(str(lock.path), owner.describe() + ", still running")
    log = _keyed_run_log(config, state)
    if log.path.exists():
        log.verify()  # never remove the lock when the removal cannot be recorded
    if not lock.break_lock(owner):
        raise LockChanged(f"{lock.path}: the lock changed while being removed; look again")
    log.append("pipeline.unlock", details={"reason": text, "lock": owner.details()})
    click.echo(f"Removed the run lock ({owner.describe()}); recorded in {log.path}")
