"""Pseudonymise one table outside the batch pipeline: what ``pprl pseudonymise`` calls.

Each requested column (:class:`ColumnSpec`, ``COL:TYPE`` on the command line) is validated and
normalised with :func:`pseudonym.identifiers.check`. Rows with any invalid identifier are left
out of the output and listed in a quarantine file beside it (``OUT.quarantine.parquet``) in
the format ``pprl run`` delivers (:mod:`pipeline.quarantine`): one row per invalid value with
its 1-based data row number, column and reason code (``nhs:bad_check_digit``), never the raw
value: the quarantine may travel outside the TRE, and a curator holding the source can find
the row from its number (for a CSV with a header, file line = row + 1). A manifest
(``OUT.manifest.json``) records counts, key IDs and checksums; the keystore's audit log records
the run. A missing (null or blank)
identifier is not invalid: the row is kept with a null pseudonym and counted in the manifest,
unless ``quarantine_missing``.

>>> options = PseudonymiseOptions(Path("in.csv"), Path("out.parquet"), parse_columns(["nhs:nhs"]))
>>> result = pseudonymise_file(options, lambda: pseudonymiser, audit)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import quarantine as quarantine_format
from pipeline.atomic import write_with_atomic
from pipeline.audit import AuditLog
from pipeline.errors import ConfigError, DataError
from pipeline.io import read_table
from pipeline.manifest import file_entry, manifest_path_for, write_manifest
from pseudonym.identifiers import IDENTIFIER_TYPES, Reason, check
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

ROW = "row"
QUARANTINE_SCHEMA = quarantine_format.SCHEMA


@dataclass(frozen=True)
class ColumnSpec:
    """One identifier column and its type (``COL:TYPE``)."""

    column: str
    id_type: str


def parse_columns(specs: Sequence[str]) -> list[ColumnSpec]:
    """Parse ``COL:TYPE`` requests; report every problem at once."""
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


@dataclass(frozen=True)
class PseudonymiseOptions:
    """One run: the input (CSV or Parquet), the Parquet output, the identifier columns."""

    input_path: Path
    output_path: Path
    columns: Sequence[ColumnSpec]
    allow_test_numbers: bool = False  # accept reserved test ranges (e.g. NHS 999...)
    quarantine_missing: bool = False  # quarantine missing identifiers instead of keeping nulls


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

    def summary_line(self) -> str:
        return (
            f"{self.rows_in} rows in, {self.rows_out} pseudonymised to {self.output.name},"
            f" {self.rows_quarantined} quarantined to {self.quarantine.name}"
        )


def quarantine_path_for(output: Path) -> Path:
    """``OUT.quarantine.parquet`` beside ``OUT``."""
    return output.with_name(output.name + ".quarantine.parquet")


def pseudonymise_file(
    options: PseudonymiseOptions,
    open_pseudonymiser: Callable[[], Pseudonymiser],
    audit: AuditLog,
) -> PseudonymiseResult:
    """Read, validate, pseudonymise; write output, quarantine and manifest; record in ``audit``.

    ``open_pseudonymiser`` is called once the input has been read (opening a keystore may ask
    for a passphrase; a bad input should fail first).
    """
    input_path, output_path = options.input_path, options.output_path
    if output_path.suffix.lower() not in {".parquet", ".pq"}:
        raise ConfigError(f"{output_path.name}: output must be a .parquet file")
    if output_path.resolve() == input_path.resolve():
        raise ConfigError(f"{output_path.name}: output must not overwrite the input")
    frame = read_table(input_path)
    pseudonymiser = open_pseudonymiser()
    table = pseudonymise_table(
        frame,
        options.columns,
        pseudonymiser,
        source=input_path.name,
        allow_test_numbers=options.allow_test_numbers,
        quarantine_missing=options.quarantine_missing,
    )
    quarantine_path = quarantine_path_for(output_path)
    # zstd level 1: about the size of the default level at a third of the CPU time.
    write_with_atomic(
        output_path, lambda p: table.valid.write_parquet(p, compression="zstd", compression_level=1)
    )
    write_with_atomic(quarantine_path, lambda p: table.quarantine.write_parquet(p))
    result = PseudonymiseResult(
        rows_in=frame.height,
        rows_out=table.valid.height,
        rows_quarantined=frame.height - table.valid.height,
        output=output_path,
        quarantine=quarantine_path,
        manifest=manifest_path_for(output_path),
    )
    _record(options, table, result, pseudonymiser, audit)
    return result


def pseudonymise_table(
    frame: pl.DataFrame,
    columns: Sequence[ColumnSpec],
    pseudonymiser: Pseudonymiser,
    *,
    source: str,
    allow_test_numbers: bool = False,
    quarantine_missing: bool = False,
) -> TableResult:
    """Validate, split and pseudonymise ``frame`` (no files). ``source`` names it in errors."""
    absent = [c.column for c in columns if c.column not in frame.columns]
    if absent:
        raise DataError(f"{source}: missing column(s) {', '.join(absent)}")
    bad = pl.Series(ROW, [False] * frame.height, dtype=pl.Boolean)
    normalised: dict[str, pl.Series] = {}
    missing: dict[str, int] = {}
    entries: list[pl.DataFrame] = []
    for spec in columns:
        result = _checked(frame, spec, source, allow_test_numbers)
        is_missing = result["reason"] == Reason.MISSING
        missing[spec.column] = int(is_missing.sum())
        invalid = result["reason"].is_not_null()
        if not quarantine_missing:
            invalid = invalid & ~is_missing
        bad = bad | invalid
        normalised[spec.column] = result["normalised"]
        entries.append(_quarantine_entries(result["reason"], invalid, spec, source))
    keep = ~bad
    replaced = [
        pseudonymiser.pseudonymise(c.id_type, normalised[c.column].filter(keep)).alias(c.column)
        for c in columns
    ]
    quarantine = (
        pl.concat(entries).sort([ROW, "column"])
        if entries
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return TableResult(frame.filter(keep).with_columns(replaced), quarantine, missing)


def _checked(
    frame: pl.DataFrame, spec: ColumnSpec, source: str, allow_test_numbers: bool
) -> pl.DataFrame:
    """``normalised`` and ``reason`` for one column (integers are read as text)."""
    values = frame[spec.column]
    if values.dtype != pl.String:
        if not (values.dtype.is_integer() or values.dtype == pl.Null):
            raise DataError(
                f"{source}: column {spec.column} has type {values.dtype}; expected text"
            )
        values = values.cast(pl.String)
    try:
        return check(spec.id_type, values, allow_test_numbers=allow_test_numbers)
    except Exception as exc:
        # A library message could quote values: report the column and error type only.
        raise DataError(
            f"{source}: column {spec.column}: {spec.id_type} validation failed"
            f" ({type(exc).__name__})"
        ) from None


def _quarantine_entries(
    reason: pl.Series, invalid: pl.Series, spec: ColumnSpec, source: str
) -> pl.DataFrame:
    """Data rows (1-based) of one column to quarantine, in the published format."""
    return (
        pl.DataFrame({"reason": quarantine_format.identifier_reasons(spec.id_type, reason)})
        .with_row_index(ROW, offset=1)
        .filter(invalid)
        .select(
            pl.lit(Path(source).stem).alias("source_dataset"),
            pl.lit(source).alias("file"),
            pl.col(ROW),
            pl.lit("identifiers").alias("stage"),
            pl.lit(spec.column).alias("column"),
            pl.col("reason"),
        )
        .cast(QUARANTINE_SCHEMA)
    )


def _record(
    options: PseudonymiseOptions,
    table: TableResult,
    result: PseudonymiseResult,
    pseudonymiser: Pseudonymiser,
    audit: AuditLog,
) -> None:
    """The manifest beside the output, then one audit entry: checksums, counts, key IDs."""
    inputs = [file_entry(options.input_path)]
    outputs = [file_entry(result.output), file_entry(result.quarantine)]
    key_ids = {c.column: pseudonymiser.key_id(c.id_type) for c in options.columns}
    body = _manifest_body(options, table, result, pseudonymiser)
    write_manifest(
        result.manifest,
        "pseudonymise",
        body | {"inputs": inputs, "outputs": outputs, "audit_head_before_run": audit.head()},
    )
    audit.append(
        "pseudonymise",
        inputs={str(e["name"]): str(e["sha256"]) for e in inputs},
        outputs={str(e["name"]): str(e["sha256"]) for e in [*outputs, file_entry(result.manifest)]},
        details={
            "environment": pseudonymiser.environment,
            "key_version": pseudonymiser.version,
            "key_ids": key_ids,
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_quarantined": result.rows_quarantined,
        },
    )
    logger.info(
        "pseudonymised %d of %d rows (%d quarantined) with environment %s version %d",
        result.rows_out,
        result.rows_in,
        result.rows_quarantined,
        pseudonymiser.environment,
        pseudonymiser.version,
    )


def _manifest_body(
    options: PseudonymiseOptions,
    table: TableResult,
    result: PseudonymiseResult,
    pseudonymiser: Pseudonymiser,
) -> dict[str, Any]:
    """What the run did, for the manifest: keys by ID, counts, quarantine reasons."""
    by_reason = table.quarantine.group_by(["column", "reason"]).len().sort(["column", "reason"])
    counts: dict[str, dict[str, int]] = {c.column: {} for c in options.columns}
    for column, reason, n in by_reason.rows():
        counts[column][reason] = n
    facts = pseudonymiser.describe()
    del facts["key_ids"]  # every key derived so far: the columns' keys are listed with them
    return facts | {
        "columns": [
            {
                "column": c.column,
                "id_type": c.id_type,
                "key_id": pseudonymiser.key_id(c.id_type),
                "key_version": pseudonymiser.version,
            }
            for c in options.columns
        ],
        "rows": {
            "in": result.rows_in,
            "out": result.rows_out,
            "quarantined": result.rows_quarantined,
        },
        "quarantine": {
            "file": result.quarantine.name,
            "entries": table.quarantine.height,
            "by_column_and_reason": counts,
        },
        "missing_kept_as_null": {} if options.quarantine_missing else table.missing,
        "allow_test_numbers": options.allow_test_numbers,
        "quarantine_missing": options.quarantine_missing,
    }
