"""The disclosure section of a run's manifest: the settings applied, the per-source and linked
k-anonymity, the risk of every view, and counts as integers (never 35.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.config import load_config
from pipeline.runner import run_pipeline
from tests.pipeline.runner_support import (
    COLUMNS,
    HEADER,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

# Values that are rates, risks or fractions; everything else numeric in the section counts.
RATES = {
    "expected_reidentifications",
    "global_risk",
    "max_individual_risk",
    "max_expected_reidentifications",
    "suppression_budget",
}


def _numbers(node: Any, key: str = "") -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [n for k, v in node.items() for n in _numbers(v, k)]
    if isinstance(node, list):
        return [n for v in node for n in _numbers(v, key)]
    return [(key, node)] if isinstance(node, int | float) and not isinstance(node, bool) else []


def test_disclosure_section_of_a_linked_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = make_keystore(tmp_path, monkeypatch)
    rows = [[*row[:6], f"R{i % 3}"] for i, row in enumerate(people_rows(0, 30))]
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, rows)  # regions vary within classes
    columns = {**COLUMNS, "ethnicity": "attribute:category"}
    source = {"name": "hospital", "path": "in/hospital/*.csv", "columns": columns}
    disclosure = {
        "derive": ["year_of_birth"],
        "quasi_identifiers": ["year_of_birth", "ethnicity"],
        "k": 2,
        "suppression_budget": 0.5,
        "l_diversity": 2,
        "sensitive": ["region_code"],
        "risk": {"max_individual_risk": 0.5},
    }
    path = write_config(
        tmp_path, keystore, sources=[source], disclosure=disclosure,
        approved_attributes=["ethnicity", "region_code"],
    )  # fmt: skip
    summary = run_pipeline(load_config(path), services=fake_services())
    section = summary.manifest["disclosure"]
    assert section["attribute_types"] == {"ethnicity": "category", "region_code": "text"}
    assert section["l_diversity"] == 2 and section["sensitive"] == ["region_code"]
    assert section["risk_limits"] == {
        "max_individual_risk": 0.5,
        "max_expected_reidentifications": None,
    }
    assert section["k_anonymity"]["hospital"]["l_diversity"] == 2
    linked = section["linked_k_anonymity"]
    assert linked["records"] == 30 and set(linked["unsafe_after"].values()) == {0}
    assert set(section["linked_risk"]) == {"file:hospital"}  # one file: no join to assess
    assert all(r["max_individual_risk"] <= 0.5 for r in section["linked_risk"].values())
    assert section["linked_earlier"] == []
    counts = [(k, v) for k, v in _numbers(section) if k not in RATES]
    assert counts and all(isinstance(v, int) for _, v in counts), counts
    assert summary.delivery_dir is not None
    extract = pl.read_parquet(summary.delivery_dir / "hospital.parquet")
    assert extract.schema["ethnicity"] == pl.Categorical
