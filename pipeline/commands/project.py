"""``pprl project``: a project's life cycle around its runs (:mod:`pipeline.project`).

``close`` ends a project for good: its keys destroyed, its work folder deleted, the closure
recorded in its audit log. ``migrate`` moves the run state an older pprl kept in the delivery
folder to the config's state folder.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import ConfigError
from pipeline.project import close_project, migrate_state
from pseudonym.keystore import Keystore

CONFIG = click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))


def _keystore(config: PipelineConfig) -> Keystore:
    from pipeline.stages.services import open_keystore

    keystore: Keystore = open_keystore(config)
    return keystore


@click.group("project")
def command() -> None:
    """A project's life cycle: close it at its end, move state written by an older pprl.

    \b
    Example:
        pprl project close configs/demo.yaml --yes
    """


@command.command("close")
@CONFIG
@click.option("--yes", is_flag=True, help="Confirm: this destroys the project's keys for good.")
def close_command(config_path: Path, yes: bool) -> None:
    """Close the project of CONFIG: destroy its keys, delete its work folder, record it.

    Destroys the keys of the config's environment (crypto-shredding: its pseudonyms can never
    be reproduced or matched again), deletes the work folder (checkpoints, entity registry,
    decisions, clerical-review files, staging), and records the closure in the run's audit
    log, which still verifies afterwards. Keeps the delivery folder and the state folder
    (audit log, catalogue). Cannot be undone, so it needs --yes; later runs are refused, and
    closing again changes nothing. Needs the master key.

    \b
    Example:
        pprl project close configs/demo.yaml --yes
    """
    config = load_config(config_path)
    if not yes:
        raise ConfigError(
            "closing a project destroys its keys and deletes its work folder, and cannot be"
            " undone: pass --yes to confirm"
        )
    result = close_project(config, _keystore(config))
    if result.already_closed:
        click.echo(f"Project already closed at {result.closed_at}; nothing to do.")
        return
    click.echo(
        f"Closed project {config.project}: environment {result.environment} destroyed"
        f" ({len(result.key_ids)} key version(s)), {len(result.removed)} work folder(s)"
        f" deleted; recorded in {result.audit_log}"
    )


@command.command("migrate")
@CONFIG
def migrate_command(config_path: Path) -> None:
    """Move run state an older pprl kept in DELIVERY/.pprl to the config's state folder.

    Verifies the audit log with the master key (and against every delivered manifest's head),
    records the move in it, copies the log and the run catalogue, checks the copies and
    verifies the log again, then removes the old folder (leftover staging included: a rerun
    rebuilds it). Interrupted, it resumes when run again. Needs the master key.

    \b
    Example:
        pprl project migrate configs/demo.yaml
    """
    config = load_config(config_path)
    result = migrate_state(config, _keystore(config).audit_authenticator())
    if result is None:
        click.echo(f"{config.delivery_dir}: no state from an older pprl; nothing to move")
        return
    click.echo(
        f"Moved {', '.join(result.moved) or 'nothing but leftovers'} from {result.source} to"
        f" {result.target}; audit log verified ({result.entries} entries, head"
        f" {result.head[:16]})"
    )
