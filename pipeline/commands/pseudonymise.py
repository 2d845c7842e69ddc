"""``pprl pseudonymise``: replace identifier columns with keyed pseudonyms.

Each ``--column COL:TYPE`` is validated and normalised with :func:`pseudonym.identifiers.check`.
Rows with any invalid identifier are left out of the output and listed in a quarantine file
beside it (``OUT.quarantine.parquet``) by 1-based data row number, column and reason code, never
the raw value: the quarantine may travel outside the TRE, and a curator holding the source can
find the row from its number (for a CSV with a header, file line = row + 1). A manifest
(``OUT.manifest.json``) records counts, key IDs and checksums; the keystore's audit log records
the run. A missing (null or blank) identifier is not invalid: the row is kept with a null
pseudonym and counted in the manifest, unless ``--quarantine-missing`` is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import click
import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.commands.keys import audit_log, key_file_option, keystore_option, open_keystore
from pipeline.errors import ConfigError, DataError
from pipeline.io import read_table
from pipeline.manifest import file_entry, manifest_path_for, write_manifest
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

ROW = "row"
MISSING = "missing"  # the reason code pseudonym.identifiers.check gives null or blank values
QUARANTINE_SCHEMA = {ROW: pl.UInt64, "column": pl.String, "reason": pl.String}


@dataclass(frozen=True)
class ColumnSpec:
    """One ``COL:TYPE`` request."""

    column: str
    id_type: str


@dataclass(frozen=True)
class TableResult:
    """Valid rows with pseudonyms, quarantine entries, and missing counts per column."""

    valid: pl.DataFrame
    quarantine: pl.DataFrame
    missing: dict[str, int]


@dataclass(frozen=True)
class PseudonymiseResult:
    """What a run produced: counts and the paths it wrote."""

    rows_in: int
    rows_out: int
    rows_quarantined: int
    output: Path
    quarantine: Path
    manifest: Path


def quarantine_path_for(output: Path) -> Path:
    """``OUT.quarantine.parquet`` beside ``OUT``."""
    return output.with_name(output.name + ".quarantine.parquet")


def parse_columns(specs: tuple[str, ...]) -> list[ColumnSpec]:
    """Parse ``COL:TYPE`` options; report every problem at once."""
    from pseudonym.identifiers import IDENTIFIER_TYPES

    problems: list[str] = []
    parsed: list[ColumnSpec] = []
    for spec in specs:
        column, sep, id_type = spec.rpartition(":")
        if not sep or not column or not id_type:
            problems.append(f"--column {spec!r}: expected COL:TYPE, e.g. nhs_number:nhs")
            continue
        if id_type not in IDENTIFIER_TYPES:
            known = ", ".join(sorted(IDENTIFIER_TYPES))
            problems.append(f"--column {column}: unknown identifier type {id_type!r} ({known})")
            continue
        parsed.append(ColumnSpec(column, id_type))
    seen = [c.column for c in parsed]
    for column in sorted({c for c in seen if seen.count(c) > 1}):
        problems.append(f"--column {column}: given more than once")
    if not specs:
        problems.append("give at least one --column COL:TYPE")
    if problems:
        raise ConfigError(problems)
    return parsed


def pseudonymise_table(
    frame: pl.DataFrame,
    columns: list[ColumnSpec],
    pseudonymiser: Pseudonymiser,
    *,
    source: str,
    allow_test_numbers: bool = False,
    quarantine_missing: bool = False,
) -> TableResult:
    """Validate, split and pseudonymise ``frame``. The library entry point of the CLI."""
    from pseudonym.identifiers import check

    absent = [c.column for c in columns if c.column not in frame.columns]
    if absent:
        raise DataError(f"{source}: missing column(s) {', '.join(absent)}")
    bad = pl.Series(ROW, [False] * frame.height, dtype=pl.Boolean)
    normalised: dict[str, pl.Series] = {}
    missing: dict[str, int] = {}
    entries: list[pl.DataFrame] = []
    for spec in columns:
        values = frame[spec.column]
        if values.dtype != pl.String:
            if not (values.dtype.is_integer() or values.dtype == pl.Null):
                raise DataError(
                    f"{source}: column {spec.column} has type {values.dtype}; expected text"
                )
            values = values.cast(pl.String)
        try:
            result = check(spec.id_type, values, allow_test_numbers=allow_test_numbers)
        except Exception as exc:
            # A library message could quote values: report the column and error type only.
            raise DataError(
                f"{source}: column {spec.column}: {spec.id_type} validation failed"
                f" ({type(exc).__name__})"
            ) from None
        is_missing = result["reason"] == MISSING
        missing[spec.column] = int(is_missing.sum())
        invalid = result["reason"].is_not_null()
        if not quarantine_missing:
            invalid = invalid & ~is_missing
        bad = bad | invalid
        normalised[spec.column] = result["normalised"]
        entries.append(
            pl.DataFrame({"reason": result["reason"]})
            .with_row_index(ROW, offset=1)
            .filter(invalid)
            .select(
                pl.col(ROW).cast(pl.UInt64),
                pl.lit(spec.column, dtype=pl.String).alias("column"),
                pl.col("reason").cast(pl.String),
            )
        )
    keep = ~bad
    replaced = [
        pseudonymiser.pseudonymise(spec.id_type, normalised[spec.column].filter(keep)).alias(
            spec.column
        )
        for spec in columns
    ]
    valid = frame.filter(keep).with_columns(replaced)
    quarantine = (
        pl.concat(entries).sort([ROW, "column"])
        if entries
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return TableResult(valid, quarantine, missing)


@click.command("pseudonymise")
@keystore_option
@click.option("--env", "environment", required=True, help="Environment whose keys to use.")
@click.option(
    "--column",
    "column_specs",
    multiple=True,
    metavar="COL:TYPE",
    help="Identifier column and its type (repeatable), e.g. nhs_number:nhs.",
)
@click.option("--key-version", type=int, default=None, help="Key version (default: active).")
@click.option(
    "--allow-test-numbers", is_flag=True, help="Accept reserved test ranges (e.g. NHS 999...)."
)
@click.option(
    "--quarantine-missing",
    is_flag=True,
    help="Quarantine rows with a missing identifier too"
    " (default: keep them with a null pseudonym).",
)
@key_file_option
@click.argument("input_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
def command(
    keystore_dir: Path,
    environment: str,
    column_specs: tuple[str, ...],
    key_version: int | None,
    allow_test_numbers: bool,
    quarantine_missing: bool,
    key_file: Path | None,
    input_path: Path,
    output_path: Path,
) -> None:
    """Replace identifier columns with keyed pseudonyms; quarantine rows with invalid IDs.

    IN is CSV or Parquet (by extension); OUT is Parquet. Also writes OUT.quarantine.parquet
    (row number, column, reason; never the value) and OUT.manifest.json (counts, key IDs,
    checksums).

    \b
    Example:
        pprl pseudonymise --keystore ks --env research \\
            --column nhs_number:nhs --column crn:crn patients.csv patients.parquet
    """
    result = run_pseudonymise(
        keystore_dir=keystore_dir,
        environment=environment,
        columns=parse_columns(column_specs),
        input_path=input_path,
        output_path=output_path,
        key_version=key_version,
        allow_test_numbers=allow_test_numbers,
        quarantine_missing=quarantine_missing,
        key_file=key_file,
    )
    click.echo(
        f"{result.rows_in} rows in, {result.rows_out} pseudonymised to {result.output.name},"
        f" {result.rows_quarantined} quarantined to {result.quarantine.name}"
    )


def run_pseudonymise(
    *,
    keystore_dir: Path,
    environment: str,
    columns: list[ColumnSpec],
    input_path: Path,
    output_path: Path,
    key_version: int | None = None,
    allow_test_numbers: bool = False,
    quarantine_missing: bool = False,
    key_file: Path | None = None,
) -> PseudonymiseResult:
    """Read, validate, pseudonymise, write output + quarantine + manifest, audit the run."""
    if output_path.suffix.lower() not in {".parquet", ".pq"}:
        raise ConfigError(f"{output_path.name}: output must be a .parquet file")
    if output_path.resolve() == input_path.resolve():
        raise ConfigError(f"{output_path.name}: output must not overwrite the input")
    frame = read_table(input_path)
    keystore = open_keystore(keystore_dir, key_file)
    pseudonymiser = Pseudonymiser.from_keystore(keystore, environment, version=key_version)
    table = pseudonymise_table(
        frame,
        columns,
        pseudonymiser,
        source=input_path.name,
        allow_test_numbers=allow_test_numbers,
        quarantine_missing=quarantine_missing,
    )
    valid, quarantine = table.valid, table.quarantine
    quarantine_path = quarantine_path_for(output_path)
    # zstd level 1: about the size of the default level at a third of the CPU time.
    write_with_atomic(
        output_path, lambda p: valid.write_parquet(p, compression="zstd", compression_level=1)
    )
    write_with_atomic(quarantine_path, lambda p: quarantine.write_parquet(p))
    rows_quarantined = frame.height - valid.height
    inputs = [file_entry(input_path)]
    outputs = [file_entry(output_path), file_entry(quarantine_path)]
    by_reason = quarantine.group_by(["column", "reason"]).len().sort(["column", "reason"]).rows()
    counts: dict[str, dict[str, int]] = {c.column: {} for c in columns}
    for column, reason, n in by_reason:
        counts[column][reason] = n
    description = pseudonymiser.describe()
    manifest_path = manifest_path_for(output_path)
    audit = audit_log(keystore_dir)
    write_manifest(
        manifest_path,
        "pseudonymise",
        {
            "environment": environment,
            "key_version": pseudonymiser.version,
            "prefix": pseudonymiser.prefix,
            "algorithm": description["algorithm"],
            "columns": [
                {
                    "column": c.column,
                    "id_type": c.id_type,
                    "key_id": pseudonymiser.key_id(c.id_type),
                    "key_version": pseudonymiser.version,
                }
                for c in columns
            ],
            "rows": {"in": frame.height, "out": valid.height, "quarantined": rows_quarantined},
            "quarantine": {
                "file": quarantine_path.name,
                "entries": quarantine.height,
                "by_column_and_reason": counts,
            },
            "missing_kept_as_null": {} if quarantine_missing else table.missing,
            "allow_test_numbers": allow_test_numbers,
            "quarantine_missing": quarantine_missing,
            "inputs": inputs,
            "outputs": outputs,
            "audit_head_before_run": audit.head(),
        },
    )
    audit.append(
        "pseudonymise",
        inputs={str(e["name"]): str(e["sha256"]) for e in inputs},
        outputs={str(e["name"]): str(e["sha256"]) for e in [*outputs, file_entry(manifest_path)]},
        details={
            "environment": environment,
            "key_version": pseudonymiser.version,
            "key_ids": {c.column: pseudonymiser.key_id(c.id_type) for c in columns},
            "rows_in": frame.height,
            "rows_out": valid.height,
            "rows_quarantined": rows_quarantined,
        },
    )
    logger.info(
        "pseudonymised %d of %d rows (%d quarantined) with environment %s version %d",
        valid.height,
        frame.height,
        rows_quarantined,
        environment,
        pseudonymiser.version,
    )
    return PseudonymiseResult(
        rows_in=frame.height,
        rows_out=valid.height,
        rows_quarantined=rows_quarantined,
        output=output_path,
        quarantine=quarantine_path,
        manifest=manifest_path,
    )
