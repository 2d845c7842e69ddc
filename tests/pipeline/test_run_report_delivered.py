"""The delivered run report of a real run (the linkage engine, the demo data): its charts are
there and drawn from the model, it fetches nothing, and it holds no value of the inputs."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from pipeline.charts import external_references
from pipeline.config import load_config
from pipeline.leakscan import known_values, scan_paths
from pipeline.runner import run_pipeline
from tests.pipeline.runner_support import demo_config, demo_workspace

IDENTIFYING = {
    "hospital": ["nhs_number", "forename", "surname", "dob", "postcode"],
    "gp": ["NHS_NO", "NAME", "DATE_OF_BIRTH", "POSTCODE"],
}


def _inputs(root: Path) -> set[str]:
    values: set[str] = set()
    for path in (root / "demo-data").rglob("*.csv"):
        frame = pl.read_csv(path, infer_schema_length=0)
        values |= known_values(frame, IDENTIFYING["gp" if "gp" in path.parts else "hospital"])
    # each part of a full name too ("Niamh Carrick" -> "Niamh", "Carrick")
    return values | {part for v in values for part in v.split()}


def test_delivered_report_has_the_model_charts_and_no_record_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    config = load_config(demo_config(root, root / "keys", "research"))
    summary = run_pipeline(config)
    assert summary.delivery_dir is not None
    report = summary.delivery_dir / "report.html"
    page = report.read_text(encoding="utf-8")
    assert not external_references(page)
    for heading in (
        "Match weights of candidate pairs",
        "Model: match weight of each comparison level",
        "Model: m and u",
        "Unlinkable records",
        "Training (EM passes)",
        "People (entities)",
    ):
        assert f"<h3>{heading}</h3>" in page
    assert len(re.findall(r"<svg\b", page)) == 5
    linkage = summary.manifest["linkage"]
    # the histogram counts every candidate pair, more than those kept at the review threshold
    shown = re.search(r"(\d+) candidate pairs by match weight", page)
    assert shown and int(shown.group(1)) > linkage["pairs_scored"]
    assert linkage["model"]["comparisons"] and linkage["training"]
    values = _inputs(root)
    assert scan_paths([root / "demo-data"], values, min_text_length=4)  # the scan can see them
    assert not scan_paths([report], values, min_text_length=4)
