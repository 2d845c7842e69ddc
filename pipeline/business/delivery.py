"""Write a business-linkage run: results, match-rate report, clerical review, manifest, audit.

Delivered files (``results.csv``, ``match_report.json``, ``manifest.json``) hold the
researcher's own keys, statuses, scores, reason codes and pseudonymised entrefs only: no
register identifier, name or address. The clerical review file (``review/clerical_review.csv``)
shows names and addresses to a curator and is never part of the delivery (the manifest lists
it apart, by checksum only).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.audit import AuditLog
from pipeline.business.clerical_review import write_review_file
from pipeline.business.match_report import match_report
from pipeline.business.register_link import TOKEN, LinkOutcome
from pipeline.manifest import file_entry, write_manifest
from pipeline.review.decisions import KEY
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.csv"
REPORT_FILE = "match_report.json"
MANIFEST_FILE = "manifest.json"
REVIEW_FILE = Path("review") / "clerical_review.csv"
RESULT_COLUMNS: tuple[str, ...] = (
    KEY,
    "status",
    "method",
    "match_probability",
    "reason",
    TOKEN,
    "register_status",
)


@dataclass(frozen=True)
class Delivered:
    """Paths written and the match-rate report."""

    results: Path
    report: Path
    manifest: Path
    review: Path | None
    summary: dict[str, object]

    def summary_line(self) -> str:
        """One line for a terminal: records by status, and where the results are."""
        counts = self.summary["by_status"]
        assert isinstance(counts, dict)
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        line = f"{self.summary['records']} records: {parts}."
        threshold = self.summary.get("threshold")
        if isinstance(threshold, dict):
            how = "auto" if threshold["setting"] == "auto" else "as set"
            line += (
                f" Match threshold {threshold['match_threshold']:.3f} ({how});"
                f" the model expects precision {threshold['expected_precision']:.3f},"
                f" recall {threshold['expected_recall']:.3f}."
            )
        return f"{line} Results in {self.results}"


def deliver(
    out_dir: Path,
    outcome: LinkOutcome,
    *,
    kind: str,
    key_column: str,
    pseudonymiser: Pseudonymiser,
    audit: AuditLog,
    inputs: list[Path],
    truth: pl.DataFrame | None = None,
    status_names: dict[str, str] | None = None,
    write_review: bool = True,
    settings: dict[str, object] | None = None,
) -> Delivered:
    """Write the run's files into ``out_dir`` atomically and append an audit entry.

    ``status_names`` renames statuses for this kind of run (the CRN request calls the review
    band ``ambiguous``); ``truth`` (``key, entref``) adds precision and recall to the report.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    results = outcome.results
    if status_names:
        results = results.with_columns(pl.col("status").replace(status_names))
    report = match_report(results, truth)
    if "threshold" in outcome.facts:
        report["threshold"] = outcome.facts["threshold"]
    delivered = (
        results.select(RESULT_COLUMNS)
        .rename({KEY: key_column})
        .with_columns(pl.col("match_probability").round(6))
    )
    results_path, report_path = out_dir / RESULTS_FILE, out_dir / REPORT_FILE
    write_with_atomic(results_path, lambda p: delivered.write_csv(p))
    write_text_atomic(report_path, json.dumps(report, indent=2) + "\n")
    review_path, review_entry = (
        _write_review(out_dir, outcome.review) if write_review else (None, [])
    )
    input_entries = [file_entry(p) for p in inputs]
    outputs = [file_entry(results_path), file_entry(report_path)]
    manifest_path = out_dir / MANIFEST_FILE
    body = {
        "key_column": key_column,
        "counts": report["by_status"],
        "facts": outcome.facts,
        "settings": settings or {},
        "inputs": input_entries,
        "outputs": outputs,
        "curator_files": review_entry,
        "audit_head_before_run": audit.head(),
    }
    write_manifest(manifest_path, kind, _keys_used(pseudonymiser) | body)
    written = [*outputs, *review_entry, file_entry(manifest_path)]
    _record(audit, kind, pseudonymiser, input_entries, written, results.height, report)
    logger.info("%s: %d records, match rate %.3f", kind, results.height, report["match_rate"])
    return Delivered(results_path, report_path, manifest_path, review_path, report)


def _record(
    audit: AuditLog,
    kind: str,
    pseudonymiser: Pseudonymiser,
    inputs: list[dict[str, object]],
    outputs: list[dict[str, object]],
    records: int,
    report: dict[str, Any],
) -> None:
    """The run's audit entry: checksums of what it read and wrote, key IDs, counts."""
    audit.append(
        kind,
        inputs={str(e["name"]): str(e["sha256"]) for e in inputs},
        outputs={str(e["name"]): str(e["sha256"]) for e in outputs},
        details={
            "environment": pseudonymiser.environment,
            "key_version": pseudonymiser.version,
            "key_ids": {"entref": pseudonymiser.key_id("entref")},
            "records": records,
            "by_status": report["by_status"],
        },
    )


def _write_review(out_dir: Path, review: pl.DataFrame) -> tuple[Path, list[dict[str, object]]]:
    """The curator's review file, and its manifest entry (checksum and rows, not its content)."""
    path = out_dir / REVIEW_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_review_file(path, review)
    note = "curator only: holds names and addresses; not for delivery"
    return path, [{**file_entry(path), "rows": review.height, "note": note}]


def _keys_used(pseudonymiser: Pseudonymiser) -> dict[str, object]:
    """Which key pseudonymised the entrefs: environment, version, prefix, algorithm, key ID."""
    facts = pseudonymiser.describe()
    del facts["key_ids"]  # every key derived so far: the entref key is listed on its own
    entref = {"column": TOKEN, "id_type": "entref", "key_id": pseudonymiser.key_id("entref")}
    return facts | {"pseudonymised": [entref]}
