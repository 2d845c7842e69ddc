"""``pprl validate CONFIG``: check a config and everything it points at, before any work.

Checks the schema, that input files exist (a glob matching nothing is "no files yet"), that every
mapped column is in each file's header (headers only are read), that the keystore exists and
holds the environment, and that the master key is reachable. Prints ``ok`` or every problem.
"""

from __future__ import annotations

import os
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
    """Problems with the keystore, the environment and the master key.

    With the master key in the environment (or a key-file passphrase set), the key is derived
    for real. With only an encrypted key file, its header's key ID must match the keystore: the
    passphrase may legitimately be supplied at run time.
    """
    from pseudonym.keys import read_key_file_header
    from pseudonym.keystore import Keystore

    ref = config.keystore
    try:
        keystore = Keystore.open(config.resolve(ref.path))
        info = keystore.environment(config.environment)
    except PseudonymError as exc:
        return [f"keystore: {exc}"]
    if info.status == "destroyed":
        return [f"environment: {config.environment!r} was destroyed in the keystore"]
    passphrase_set = bool(os.environ.get(ref.passphrase_env or "PPRL_KEY_PASSPHRASE"))
    if ref.key_file is not None and not passphrase_set and not os.environ.get(ref.master_key_env):
        try:
            header = read_key_file_header(config.resolve(ref.key_file))
        except PseudonymError as exc:
            return [f"keystore.key_file: {exc}"]
        if header.get("key_id") != keystore.master_key_id:
            return ["keystore.key_file: the key file does not hold this keystore's master key"]
        return []
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
