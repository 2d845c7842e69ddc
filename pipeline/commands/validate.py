"""``pprl validate CONFIG``: check a config and everything it points at, before any work.

Checks the schema, that input files exist (a glob matching nothing is "no files yet"), that every
mapped column is in each file's header (headers only are read), that the keystore exists and
holds the environment, and that the master key is reachable. Prints ``ok`` or every problem.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import ConfigError, DataError
from pipeline.ingest import discover_files, read_header
from pipeline.stages.services import open_keystore
from pseudonym.errors import PseudonymError


def check_inputs(config: PipelineConfig) -> list[str]:
    """Problems with the input files and their headers."""
    problems = []
    for i, source in enumerate(config.sources):
        where = f"sources[{i}]"
        for path in discover_files(config, source):
            if not path.is_file():
                problems.append(f"{where}.path: input file not found: {path.name}")
                continue
            try:
                header = set(read_header(path, source))
            except DataError as exc:
                problems.append(f"{where}: {exc}")
                continue
            problems.extend(
                f"{where}.columns.{col}: not in the header of {path.name}"
                for col in source.columns
                if col not in header
            )
    return problems


def check_keystore(config: PipelineConfig) -> list[str]:
    """Problems with the keystore, the environment and the master key."""
    from pseudonym.keystore import Keystore

    try:
        keystore = Keystore.open(config.resolve(config.keystore.path))
        info = keystore.environment(config.environment)
    except PseudonymError as exc:
        return [f"keystore: {exc}"]
    if info.status == "destroyed":
        return [f"environment: {config.environment!r} was destroyed in the keystore"]
    try:
        open_keystore(config).active_version(config.environment)
    except (PseudonymError, ConfigError) as exc:
        return [f"keystore: master key not usable: {exc}"]
    return []


def validate_config(path: Path) -> PipelineConfig:
    """Load ``path`` and run every check; raise :class:`ConfigError` listing all problems."""
    config = load_config(path)
    problems = check_inputs(config) + check_keystore(config)
    if problems:
        raise ConfigError(problems, source=str(path))
    return config


@click.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
def command(config_path: Path) -> None:
    """Check CONFIG and its inputs, keystore and master key; print ok or every problem.

    Exit status 0 when everything is usable, 2 otherwise.

    \b
    Example:
        PPRL_MASTER_KEY=... pprl validate configs/demo.yaml
    """
    validate_config(config_path)
    click.echo("ok")
