"""JSON manifests written beside every delivered output.

A manifest says what was made, from what, by which code and keys: file checksums, row counts,
key IDs and versions, settings. It never holds a key or a record value: callers pass counts,
names, checksums and key IDs only, and :func:`write_manifest` refuses byte strings (the usual
way key material slips in). :func:`run_manifest_body` is the body of a pipeline run's manifest,
counted from the run's frames (:class:`RunFacts`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline import __version__
from pipeline.atomic import write_text_atomic
from pipeline.errors import DataError
from pipeline.state import FileRecord
from pseudonym.digests import bytes_sha256, file_sha256

if TYPE_CHECKING:  # annotations only: the config's module is slow to import
    from pipeline.config import PipelineConfig

MANIFEST_FORMAT = "pprl-manifest/1"


def manifest_path_for(output: str | os.PathLike[str]) -> Path:
    """``OUT.manifest.json`` beside ``OUT``."""
    output = Path(output)
    return output.with_name(output.name + ".manifest.json")


def file_entry(path: str | os.PathLike[str]) -> dict[str, object]:
    """Name, size and SHA-256 of a file, for a manifest's ``inputs``/``outputs``."""
    path = Path(path)
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def build_manifest(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest document: a header (format, kind, code version, time) plus ``body``."""
    if not kind:
        raise ValueError("kind must be a non-empty string")
    header = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "pprl_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    clash = set(header) & set(body)
    if clash:
        raise ValueError(f"manifest body may not set header fields: {sorted(clash)}")
    document = {**header, **body}
    _reject_bytes(document, "manifest")
    return document


def write_manifest(
    path: str | os.PathLike[str], kind: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Build a manifest and write it atomically as indented JSON; return the document."""
    document = build_manifest(kind, body)
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=False) + "\n")
    return document


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a manifest written by :func:`write_manifest`."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path}: unreadable manifest") from None
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{path}: not a pprl manifest")
    return document


def _reject_bytes(value: object, where: str) -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{where}: byte strings are not allowed in a manifest")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _reject_bytes(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_bytes(item, f"{where}[{index}]")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise TypeError(f"{where}: {type(value).__name__} is not allowed in a manifest")


# --- the body of a pipeline run's manifest ------------------------------------------------------

_TOTALS = ("input_rows", "quarantined", "delivered", "linked", "unlinked", "identifiers_nulled")


@dataclass(frozen=True)
class RunFacts:
    """What a pipeline run's manifest reports, gathered by the runner. The frames are only
    counted: no value of theirs reaches the manifest."""

    config: PipelineConfig
    run_id: str
    files: list[FileRecord]
    delivered: pl.DataFrame  # one row per delivered record: ``_source``, ``linked``
    quarantine: pl.DataFrame  # ``_source``, ``stage``, ``reason`` (pipeline.ingest's schema)
    probabilities: pl.Series  # match probability of every scored pair
    key_ids: dict[str, str]  # identifier type -> key ID (never a key)
    disclosure: dict[str, Any]  # what the de-identify stage reports
    entities: dict[str, Any]  # pipeline.entities.entity_summary
    audit_head: str = ""  # the run log's head before this run's entry (pipeline.audit)
    # pipeline.stages.link.LinkOutcome.summary(): thresholds used, counts, warnings
    linking: Mapping[str, Any] = field(default_factory=dict)
    # where the stages ran: pipeline.executors.Executor.settings() (counts and settings)
    execution: Mapping[str, Any] = field(default_factory=lambda: {"executor": "local"})

    def thresholds(self) -> tuple[float | None, float | None]:
        """The (match, review) probabilities the link stage used: the configured ones unless
        it resolved them (``match: auto``); None when nothing was scored."""
        if self.linking:
            return self.linking.get("match_threshold"), self.linking.get("review_threshold")
        configured = self.config.linkage.thresholds
        if configured.match == "auto":
            return None, None
        return configured.match, configured.review


def config_digest(config: PipelineConfig) -> str:
    """SHA-256 of the validated config, as runs and manifests record it."""
    return bytes_sha256(config.model_dump_json().encode("utf-8"))


def run_manifest_body(
    facts: RunFacts, outputs: dict[str, dict[str, Any]], stage_seconds: dict[str, float]
) -> dict[str, Any]:
    """Counts, checksums, key IDs and settings for a run: no values, no timestamps."""
    config = facts.config
    sources = {source.name: _source_counts(facts, source.name) for source in config.sources}
    totals = {key: sum(int(s[key]) for s in sources.values()) for key in _TOTALS}
    return {
        "run_id": facts.run_id,
        "project": config.project,
        "environment": config.environment,
        "config_sha256": config_digest(config),
        "inputs": [
            {"source": f.source, "path": f.path, "sha256": f.sha256, "size": f.size}
            for f in facts.files
        ],
        "outputs": outputs,
        "sources": sources,
        "totals": totals,
        "quarantine_reasons": _quarantine_reasons(facts.quarantine),
        "linkage": _linkage_summary(facts, totals),
        "warnings": list(facts.linking.get("warnings", [])),
        "key_ids": facts.key_ids,
        "disclosure": {**_disclosure_settings(config), **facts.disclosure},
        "stage_seconds": stage_seconds,
        "execution": dict(facts.execution),
        "audit_head": facts.audit_head,
        **({"approvals": config.approvals.record()} if config.approvals else {}),
    }


def _source_counts(facts: RunFacts, name: str) -> dict[str, Any]:
    """Rows of one source: every input row delivered or quarantined, delivered rows linked or
    not; rows kept with an invalid ID nulled are delivered, and counted apart."""
    # imported here: the stages package pulls in the whole run (~0.5 s for a business command)
    from pipeline.stages.prepare import NULLED_STAGE

    rows = facts.delivered.filter(pl.col("_source") == name)
    problems = facts.quarantine.filter(pl.col("_source") == name)
    quarantined = problems.filter(pl.col("stage") != NULLED_STAGE)
    by_stage = {
        stage: quarantined.filter(pl.col("stage") == stage).height
        for stage in ("ingest", "identifiers")
    }
    linking = facts.config.linkage.mode != "none"
    linked = int(rows["linked"].sum()) if rows.height and linking else 0
    return {
        "files": sum(1 for f in facts.files if f.source == name),
        "input_rows": rows.height + quarantined.height,
        "quarantined": quarantined.height,
        "quarantined_by_stage": by_stage,
        "delivered": rows.height,
        "identifiers_nulled": problems.height - quarantined.height,
        "linked": linked,
        "unlinked": rows.height - linked,
    }


def _quarantine_reasons(quarantine: pl.DataFrame) -> list[dict[str, Any]]:
    if not quarantine.height:
        return []
    counts = quarantine.group_by("stage", "reason").len().sort("stage", "reason")
    return [
        {"stage": stage, "reason": reason, "rows": n} for stage, reason, n in counts.iter_rows()
    ]


def _linkage_summary(facts: RunFacts, totals: dict[str, int]) -> dict[str, Any]:
    match, review = facts.thresholds()
    probabilities = facts.probabilities
    scored = len(probabilities) > 0 and match is not None and review is not None
    matched = int((probabilities >= match).sum()) if scored else 0
    in_band = int((probabilities >= review).sum()) - matched if scored else 0
    return {
        "mode": facts.config.linkage.mode,
        "pairs_scored": len(probabilities),
        "pairs_matched": matched,
        "pairs_for_review": in_band,
        "match_threshold": match,
        "match_threshold_setting": facts.config.linkage.thresholds.match,
        "review_threshold": review,
        "match_rate": (totals["linked"] / totals["delivered"]) if totals["delivered"] else 0.0,
        "entities": facts.entities,
        **dict(facts.linking.get("counts", {})),
        **_model_facts(facts.linking.get("diagnostics", {})),
    }


def _model_facts(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """How many candidate pairs the model scored, the trained model (lambda, m and u per
    comparison level, level labels) and its EM passes, as the link stage recorded them:
    counts and parameters, never values."""
    if not diagnostics:
        return {}
    histogram = diagnostics.get("weight_histogram") or {}
    return {
        "candidate_pairs": sum(int(n) for _, n in histogram.get("bins", [])),
        "model": diagnostics.get("model"),
        "training": list(diagnostics.get("training", [])),
        "em_max_iterations": diagnostics.get("max_iterations"),
    }


def _disclosure_settings(config: PipelineConfig) -> dict[str, Any]:
    """The disclosure settings a run applied. The de-identify stage adds what it did:
    ``k_anonymity`` (per source), ``linked_k_anonymity`` and ``linked_risk`` (the delivery's
    joins, with ``linked_earlier`` naming the earlier extracts they included)."""
    settings = config.disclosure
    return {
        "approved_attributes": list(config.approved_attributes),
        "attribute_types": config.attribute_types(),
        "direct_identifiers_removed": True,
        "leak_check": "passed",
        "derived_attributes": list(settings.derive),
        "k": settings.k,
        "quasi_identifiers": list(settings.quasi_identifiers),
        "l_diversity": settings.l_diversity,
        "sensitive": list(settings.sensitive),
        "risk_limits": settings.risk.model_dump(exclude={"weight"}),
        "suppression_budget": settings.suppression_budget,
        "geography_floor": settings.geography_floor,
    }
