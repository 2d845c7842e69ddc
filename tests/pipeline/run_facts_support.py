"""A small two-source run's facts (config, frames, key IDs) for the manifest and deliver tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.config import PipelineConfig, load_config
from pipeline.ingest import QUARANTINE_SCHEMA
from pipeline.manifest import RunFacts
from pipeline.state import FileRecord
from tests.pipeline.runner_support import COLUMNS, make_keystore, write_config

HOSPITAL = {k: v for k, v in COLUMNS.items() if k != "region_code"}
GP = {"nhs_no": "identifier:nhs", "surname": "surname", "region_code": "attribute"}
LINKAGE = {
    "mode": "dedupe",
    "blocking": ["surname"],
    "comparisons": {"surname": "exact"},
    "thresholds": {"match": 0.9, "review": 0.5},
}


def two_source_config(
    root: Path, monkeypatch: pytest.MonkeyPatch, linkage: dict[str, object] | None = None
) -> PipelineConfig:
    """Hospital (approved attribute ``ethnicity``) and GP (``region_code``) sources."""
    keystore = make_keystore(root, monkeypatch)
    sources = [
        {"name": "hospital", "path": "in/hospital/*.csv", "columns": HOSPITAL},
        {"name": "gp", "path": "in/gp/*.csv", "columns": GP},
    ]
    path = write_config(
        root,
        keystore,
        sources=sources,
        approved_attributes=["ethnicity", "region_code"],
        linkage=linkage or LINKAGE,
    )
    return load_config(path)


def run_facts(config: PipelineConfig, *, gp_files: bool = True) -> RunFacts:
    """3 hospital and 2 GP records delivered, 2 hospital rows quarantined, 1 GP ID nulled,
    three scored pairs (one match, one for review, one below both thresholds)."""
    files = [FileRecord("hospital", "in/hospital/a.csv", "a" * 64, 100)]
    if gp_files:
        files.append(FileRecord("gp", "in/gp/g.csv", "b" * 64, 50))
    delivered = pl.DataFrame(
        {
            "_source": ["hospital"] * 3 + ["gp"] * 2,
            "linked": [True, True, False, True, False],
        }
    )
    quarantine = pl.DataFrame(
        [
            ("hospital", "in/hospital/a.csv", 7, "identifiers", "nhs:bad_check_digit", "nhs_no"),
            ("gp", "in/gp/g.csv", 2, "identifiers_nulled", "nhs:bad_format", "nhs_no"),
            ("hospital", "in/hospital/a.csv", 3, "ingest", "bad_date", "dob"),
        ],
        schema=QUARANTINE_SCHEMA,
        orient="row",
    )
    return RunFacts(
        config=config,
        run_id="run-0123456789abcdef",
        files=files,
        delivered=delivered,
        quarantine=quarantine,
        probabilities=pl.Series([0.95, 0.6, 0.2]),
        key_ids={"nhs": "k1-0123456789abcdef"},
        disclosure={"k_anonymity": {}},
        entities={"new_entities": 3},
    )
