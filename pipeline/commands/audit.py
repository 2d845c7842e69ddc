"""``pprl audit``: verify and list a delivery's tamper-evident audit log."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.audit import AuditLog
from pipeline.config import load_config


def _log_for(target: Path) -> AuditLog:
    """The audit log itself, or the one belonging to a pipeline config's delivery."""
    if target.suffix in {".yaml", ".yml"}:
        return AuditLog(load_config(target).state_dir / "audit.jsonl")
    return AuditLog(target)


@click.group("audit")
def command() -> None:
    """Inspect audit logs (a log file, or the delivery log of a pipeline CONFIG).

    \b
    Example:
        pprl audit verify configs/demo.yaml
    """


@command.command("verify")
@click.argument("target", metavar="CONFIG_OR_LOG", type=click.Path(path_type=Path))
def verify(target: Path) -> None:
    """Check every link of the hash chain; exit 3 if the log was altered.

    \b
    Example:
        pprl audit verify demo-output/.pprl/audit.jsonl
    """
    result = _log_for(target).verify()
    click.echo(f"ok: {result.entries} entries, head {result.head[:16]}")


@command.command("list")
@click.argument("target", metavar="CONFIG_OR_LOG", type=click.Path(path_type=Path))
def list_entries(target: Path) -> None:
    """One line per entry: sequence, time, actor, action.

    \b
    Example:
        pprl audit list configs/demo.yaml
    """
    for entry in _log_for(target).entries():
        click.echo(f"{entry['seq']:>5} {entry['time']} {entry['actor']} {entry['action']}")
