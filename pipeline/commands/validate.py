"""``pprl validate CONFIG``: check a config and everything a run needs, before any work.

Catches what ``pprl run`` would otherwise fail on part-way (after linking identifying data):

* the schema, and the approvals section when there is one (not expired);
* input files: a plain path must exist, a glob must match at least one file unless the source
  says ``allow_empty: true``; every mapped column must be in each file's header;
* dates: a sample of each file (the first :data:`SAMPLE_ROWS` rows) is parsed with the source's
  ``date_format``; most sampled dates failing means the format is wrong (a run would quarantine
  nearly every row), while a few failures are bad rows a run quarantines as usual;
* keys: the keystore opens and authenticates with the master key, the environment exists and
  is not destroyed. A master key file needs its passphrase variable set, as a run does.

Prints ``ok`` or every problem at once (exit 2). Messages name file, column and field, never
a value.
"""

from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path

import click
import polars as pl

from pipeline.commands.results import emit
from pipeline.config import PipelineConfig, SourceConfig, load_config
from pipeline.errors import ConfigError, DataError
from pipeline.ingest import discover_files, read_header
from pipeline.locations import state_problems
from pipeline.stages.services import open_keystore
from pseudonym.errors import PseudonymError
from pseudonym.keys import PASSPHRASE_ENV

SAMPLE_ROWS = 500
SAMPLE_BYTES = 1 << 20
# More than this share of a sample's non-empty dates failing to parse: the format is wrong.
BAD_DATE_SHARE = 0.5


def check_inputs(config: PipelineConfig) -> list[str]:
    """Problems with the input files, their headers and their dates."""
    problems = []
    for i, source in enumerate(config.sources):
        where = f"sources[{i}]"
        paths = discover_files(config, source)
        if not paths and not source.allow_empty:
            problems.append(
                f"{where}.path: the pattern matches no files (set allow_empty: true if this"
                " source may have none)"
            )
        for path in paths:
            if not path.is_file():
                problems.append(f"{where}.path: input file not found: {path.name}")
                continue
            try:
                names = read_header(path, source)
            except DataError as exc:
                problems.append(f"{where}: {exc}")
                continue
            header = set(names)
            if len(header) < len(names):  # run refuses the file (pipeline.ingest)
                problems.append(f"{where}: {path.name}: row 1: duplicate column names")
            problems.extend(
                f"{where}.columns.{col}: not in the header of {path.name}"
                for col in source.columns
                if col not in header
            )
            problems.extend(check_dates(where, path, source, header))
    return problems


def check_dates(where: str, path: Path, source: SourceConfig, header: set[str]) -> list[str]:
    """Problems parsing a sample of ``path``'s date columns with the source's ``date_format``."""
    columns = [
        c for c, spec in source.columns.items() if spec.role == "date_of_birth" and c in header
    ]
    if not columns:
        return []
    try:
        sample = _read_sample(path, source, columns)
    except Exception as exc:  # polars raises several unrelated types for unreadable files
        return [f"{where}: {path.name}: cannot read a sample of rows ({type(exc).__name__})"]
    problems = []
    for column in columns:
        values = sample[column]
        if values.dtype.is_temporal():
            continue  # Parquet dates: nothing to parse
        text = values.cast(pl.String).str.strip_chars().replace("", None).drop_nulls()
        parsed = text.str.strptime(pl.Date, source.date_format, strict=False)
        bad = parsed.null_count()
        if text.len() and bad > BAD_DATE_SHARE * text.len():
            problems.append(
                f"{where}.date_format: {bad} of {text.len()} sampled values of column {column}"
                f" in {path.name} do not parse with it (a run would quarantine those rows)"
            )
    return problems


def _read_sample(path: Path, source: SourceConfig, columns: list[str]) -> pl.DataFrame:
    """The first :data:`SAMPLE_ROWS` rows of ``columns`` (CSV values as text)."""
    if source.format == "parquet":
        return pl.read_parquet(path, columns=columns, n_rows=SAMPLE_ROWS)
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if len(head) == SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # whole lines only
    text = head.decode(source.encoding, errors="replace").removeprefix("\ufeff")
    return pl.read_csv(
        io.BytesIO(text.encode("utf-8")),
        separator=source.delimiter,
        columns=columns,
        n_rows=SAMPLE_ROWS,
        infer_schema=False,
        truncate_ragged_lines=True,
        ignore_errors=True,
    )


def check_keystore(config: PipelineConfig) -> list[str]:
    """Problems with the keystore, the environment and the master key.

    The master key is loaded as a run loads it (from the configured variable, else the key
    file with its passphrase variable), and the keystore is opened and authenticated with it.
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
    passphrase_var = ref.passphrase_env or PASSPHRASE_ENV
    if ref.key_file is not None and not os.environ.get(ref.master_key_env):
        try:
            header = read_key_file_header(config.resolve(ref.key_file))
        except PseudonymError as exc:
            return [f"keystore.key_file: {exc}"]
        if header.get("key_id") != keystore.master_key_id:
            return ["keystore.key_file: the key file does not hold this keystore's master key"]
        if not os.environ.get(passphrase_var):
            return [
                f"keystore.passphrase_env: {passphrase_var} is not set, so a run could not"
                " unlock keystore.key_file"
            ]
    try:
        open_keystore(config).active_version(config.environment)
    except (PseudonymError, ConfigError) as exc:
        return [f"keystore: master key not usable: {exc}"]
    return []


def check_approvals(config: PipelineConfig, today: date | None = None) -> list[str]:
    """Problems with the approvals section: expired, or the recipient not approved."""
    if config.approvals is None:
        return []
    return config.approvals.problems(today or date.today())


def validate_config(path: Path, *, today: date | None = None) -> PipelineConfig:
    """Load ``path`` and run every check; raise :class:`ConfigError` listing all problems."""
    config = load_config(path)
    problems = check_approvals(config, today) + check_inputs(config) + check_keystore(config)
    problems += state_problems(config)
    if problems:
        raise ConfigError(problems, source=str(path))
    return config


@click.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"valid": true, ...} or {"valid": false, "problems": [...]} on stdout (an'
    " invalid config still exits 2 with its error on stderr).",
)
def command(config_path: Path, as_json: bool) -> None:
    """Check CONFIG and what a run needs: inputs, dates, keystore, master key, approvals.

    Reads only headers and a sample of rows. Exit status 0 when everything is usable, 2
    otherwise, listing every problem. The master key is loaded as the config says: from its
    master_key_env variable (PPRL_MASTER_KEY by default), or from its key_file, unlocked with
    the passphrase in its passphrase_env variable.

    \b
    Example:
        PPRL_DEMO_PASSPHRASE=pprl-demo-only pprl validate configs/demo.yaml
        PPRL_MASTER_KEY=$(cat master.b64) pprl validate my-project.yaml --json
    """
    if not as_json:
        validate_config(config_path)
        click.echo("ok")
        return
    # --- --json result (engineer N): the problems on stdout, the error as usual (exit 2) ---
    try:
        validate_config(config_path)
    except ConfigError as exc:
        emit({"valid": False, "config": config_path, "problems": list(exc.problems)})
        raise
    emit({"valid": True, "config": config_path, "problems": []})
