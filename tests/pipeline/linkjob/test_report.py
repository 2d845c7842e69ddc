"""``link-report.html`` (pipeline/linkjob/html_report.py): the model's charts, the record views
with values only when asked for, m printed so that it never reads as 0 beside a finite weight,
progress announced step by step."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline.charts import external_references
from pipeline.linkjob import STEPS, run_link_job

DEMO = Path(__file__).resolve().parents[3] / "configs" / "linkage" / "link-demo.yaml"
LEFT = DEMO.parents[1] / "link-data" / "left.csv"
HEADINGS = (
    "Match weights of candidate pairs",
    "Model: match weight of each comparison level",
    "Model: m and u per comparison level",
    "Unlinkable records",
    "Training (EM passes)",
    "Pairs for review: how each weight builds up",
    "Comparison viewer",
    "Cluster studio",
)


def _surnames() -> set[str]:
    frame = pl.read_csv(LEFT, infer_schema=False)
    return {v.upper() for v in frame["surname"].drop_nulls().to_list() if len(v) >= 5}


def test_report_draws_every_view_offline_and_without_values_by_default(tmp_path: Path) -> None:
    steps: list[tuple[str, int, int]] = []
    result = run_link_job(DEMO, output=tmp_path, progress=lambda *step: steps.append(step))
    assert steps == [(s, i, len(STEPS)) for i, s in enumerate(STEPS, start=1)]
    page = (result.output / "link-report.html").read_text()
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in page, heading
    assert not external_references(page)
    assert "rerun with --report-records" in page
    assert not [s for s in _surnames() if s in page]
    # the waterfall names the pair by number only, and both thresholds are drawn
    assert "pair 1: weight" in page
    assert "clerical review from p &gt;= 0.2" in page
    # m below the floor is printed with the floor, never as 0 or 0.0 beside a finite weight
    table = page[page.index("<th>m</th>") :].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", table)
    assert cells and not [c for c in cells if float(c.split()[0]) == 0 and "floored" not in c]
    assert "(floored to 1e-06)" in table


def test_report_records_shows_the_pairs_and_clusters_values(tmp_path: Path) -> None:
    result = run_link_job(DEMO, output=tmp_path, report_records=True)
    page = (result.output / "link-report.html").read_text()
    assert "These views show record values" in page
    assert "Example pairs per pattern (work folder only: record values)" in page
    assert "Largest clusters (work folder only: record values)" in page
    assert [s for s in _surnames() if s in page]
    assert not external_references(page)
