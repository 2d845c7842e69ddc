"""Stage 1: ingest one file and validate/normalise its operational identifiers.

Valid identifiers are replaced by their normalised form; a missing identifier is allowed (the
row can still be linked on other fields). With ``invalid_identifiers: quarantine`` (default) a
row with any invalid identifier goes to quarantine with reason ``<type>:<reason code>`` and the
field name. With ``keep_row`` the invalid value is set to null and the row carries on; the
problem is still recorded, under stage :data:`NULLED_STAGE`, so it is counted but not lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.config import SourceConfig
from pipeline.ingest import (
    DEFAULT_CHUNKING,
    QUARANTINE_SCHEMA,
    Chunking,
    IngestResult,
    ingest_chunks,
)
from pipeline.quarantine import identifier_reasons
from pipeline.stages.parts import Part, PartSet
from pipeline.stages.services import CheckIdentifiers
from pseudonym.identifiers import Reason

NULLED_STAGE = "identifiers_nulled"  # recorded problems whose rows were kept


def validate_identifiers(
    rows: pl.DataFrame, source: SourceConfig, check: CheckIdentifiers
) -> IngestResult:
    """Normalise identifier columns; quarantine rows holding an invalid one (first bad field)."""
    id_columns = source.identifier_columns()
    reasons: list[pl.Series] = []
    normalised: list[pl.Series] = []
    for column, id_type in id_columns.items():
        result = check(id_type, rows[column])
        if result.height != rows.height:
            raise ValueError(f"identifier check for {id_type} changed the row count")
        code = result["reason"].cast(pl.String)
        code = code.set(code == Reason.MISSING, None)  # a missing identifier is allowed
        reasons.append(identifier_reasons(id_type, code).alias(f"__reason_{column}"))
        normalised.append(result["normalised"].cast(pl.String).alias(column))
    if not id_columns:
        return IngestResult(rows=rows, quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA))
    work = rows.with_columns(normalised).with_columns(reasons)
    reason_cols = [s.name for s in reasons]
    first_reason = pl.coalesce(reason_cols)
    original = {spec.output_name(col): col for col, spec in source.columns.items()}
    first_field = pl.coalesce(
        pl.when(pl.col(r).is_not_null()).then(pl.lit(original[c]))
        for r, c in zip(reason_cols, id_columns, strict=True)
    )
    work = work.with_columns(first_reason.alias("__reason"), first_field.alias("__field"))
    keep_rows = source.invalid_identifiers == "keep_row"
    bad = work.filter(pl.col("__reason").is_not_null())
    quarantine = bad.select(
        "_source",
        "_file",
        "_row",
        pl.lit(NULLED_STAGE if keep_rows else "identifiers").alias("stage"),
        pl.col("__reason").alias("reason"),
        pl.col("__field").alias("field"),
    )
    helpers = [*reason_cols, "__reason", "__field"]
    # check() already gives null for an invalid value, so kept rows never hold it.
    kept = work if keep_rows else work.filter(pl.col("__reason").is_null())
    return IngestResult(
        rows=kept.drop(helpers),
        quarantine=quarantine.cast(QUARANTINE_SCHEMA),  # type: ignore[arg-type]
    )


def prepare_file(
    path: Path, source: SourceConfig, check: CheckIdentifiers, file_name: str
) -> IngestResult:
    """Ingest + identifier validation for one file, in one frame."""
    parts = list(prepare_chunks(path, source, check, file_name))
    rows = pl.concat([p.rows for p in parts])
    return IngestResult(rows=rows, quarantine=pl.concat([p.quarantine for p in parts]))


def prepare_chunks(
    path: Path,
    source: SourceConfig,
    check: CheckIdentifiers,
    file_name: str,
    chunking: Chunking = DEFAULT_CHUNKING,
) -> Iterator[IngestResult]:
    """Ingest + identifier validation for one file, chunk by chunk (each chunk's quarantine
    in row order): the unit of work an executor distributes is the file."""
    for ingested in ingest_chunks(path, source, file_name=file_name, chunking=chunking):
        checked = validate_identifiers(ingested.rows, source, check)
        quarantine = pl.concat([ingested.quarantine, checked.quarantine]).sort("_row")
        yield IngestResult(rows=checked.rows, quarantine=quarantine)


@dataclass(frozen=True)
class PreparedFile:
    """What :func:`prepare_to_parts` wrote: the file's parts, and its quarantine's file name."""

    parts: list[Part]
    quarantine: str


def prepare_to_parts(
    path: str,
    source: SourceConfig,
    check: CheckIdentifiers,
    file_name: str,
    folder: str,
    prefix: str,
    chunking: Chunking = DEFAULT_CHUNKING,
) -> PreparedFile:
    """Executor task: prepare one file chunk by chunk into ``folder`` (parts named
    ``<prefix>-<chunk>.parquet``, the quarantine ``q-<prefix>.parquet``). Only file names and
    counts go back to the caller, so no records pass through a dask scheduler."""
    out = PartSet(Path(folder))
    parts, problems = [], [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    for n, result in enumerate(prepare_chunks(Path(path), source, check, file_name, chunking)):
        name = f"{prefix}-{n:05d}.parquet"
        out.write(name, result.rows)
        parts.append(Part(name, source.name, result.rows.height))
        problems.append(result.quarantine)
    quarantine = f"q-{prefix}.parquet"
    out.write(quarantine, pl.concat(problems))
    return PreparedFile(parts, quarantine)
