"""Stage 5: assemble the de-identified delivery in a staging folder; the runner promotes it.

Contract: ``extract`` is :func:`deidentify.deidentify`'s frame (``_source``, ``person_id`` and
``linked`` when linkage ran, ``pid_*`` pseudonyms, ``record_key``, approved and derived
attributes); the quarantine in :class:`~pipeline.manifest.RunFacts` has the columns of
:data:`pipeline.ingest.QUARANTINE_SCHEMA`. Writes into ``out``:

* ``<source>.parquet`` for each source with files in this batch, without the attributes
  approved for other sources; ``_source`` is delivered as ``source_dataset`` and no column
  name starts with ``_`` (:func:`pipeline.quarantine.without_leading_underscores`);
* ``quarantine.parquet`` in the published format of :mod:`pipeline.quarantine` (data row
  numbers, input column names and reasons, no values), ordered by source, file and row;
* ``manifest.json`` (:func:`pipeline.manifest.run_manifest_body`) and ``report.html``
  (:mod:`pipeline.run_report`).

Nothing here opens a keystore or a linker: key IDs and counts arrive in the facts.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.config import PipelineConfig
from pipeline.manifest import RunFacts, run_manifest_body, write_manifest
from pipeline.quarantine import published_quarantine, without_leading_underscores
from pipeline.run_report import render_report
from pseudonym.digests import file_sha256

MANIFEST_KIND = "pipeline-run"
Outputs = dict[str, dict[str, Any]]  # file name -> {"sha256", "rows"}


def deliver(
    out: Path,
    extract: pl.DataFrame,
    facts: RunFacts,
    *,
    stage_seconds: Callable[[], dict[str, float]],
) -> dict[str, Any]:
    """Write the delivery into ``out`` and return its manifest.

    ``out`` is emptied first (a killed run's half-assembled folder is rebuilt).
    ``stage_seconds`` is called just before the manifest is written, so this stage's own
    seconds include writing the extracts.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    outputs = write_extracts(out, extract, facts.config, {f.source for f in facts.files})
    header_rows = {s.name: 1 if s.format == "csv" else 0 for s in facts.config.sources}
    quarantine = published_quarantine(facts.quarantine, header_rows)
    outputs["quarantine.parquet"] = _write_parquet(out / "quarantine.parquet", quarantine)
    body = run_manifest_body(facts, outputs, stage_seconds())
    manifest = write_manifest(out / "manifest.json", MANIFEST_KIND, body)
    diagnostics = facts.linking.get("diagnostics", {})
    page = render_report(manifest, facts.probabilities, diagnostics)
    write_text_atomic(out / "report.html", page)
    return manifest


def write_extracts(
    out: Path, extract: pl.DataFrame, config: PipelineConfig, batch_sources: set[str]
) -> Outputs:
    """One Parquet file per source that has files in this batch, in config order."""
    outputs: Outputs = {}
    for source in config.sources:
        if source.name not in batch_sources:
            continue  # an incremental batch with no new files for this source
        foreign = set(config.approved_attributes) - set(source.attribute_columns())
        part = extract.filter(pl.col("_source") == source.name).drop(foreign, strict=False)
        part = without_leading_underscores(part)
        name = f"{source.name}.parquet"
        outputs[name] = _write_parquet(out / name, part)
    return outputs


def _write_parquet(path: Path, frame: pl.DataFrame) -> dict[str, Any]:
    write_with_atomic(path, frame.write_parquet)
    return {"sha256": file_sha256(path), "rows": frame.height}
