from __future__ import annotations

import re

import polars as pl

from pipeline.html_blocks import histogram_svg, match_weight
from pipeline.run_report import render_report


def manifest(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "run_id": "run-abc",
        "project": "<script>alert(1)</script>",
        "environment": "research",
        "pprl_version": "0.1.0",
        "config_sha256": "ab" * 32,
        "inputs": [{"source": "s", "path": "a.csv", "sha256": "cd" * 32, "size": 3}],
        "outputs": {"s.parquet": {"sha256": "ef" * 32, "rows": 8}},
        "sources": {
            "s": {
                "files": 1,
                "input_rows": 10,
                "quarantined": 2,
                "delivered": 8,
                "linked": 6,
                "unlinked": 2,
                "quarantined_by_stage": {"ingest": 1, "identifiers": 1},
            }
        },
        "totals": {"input_rows": 10, "quarantined": 2, "delivered": 8, "linked": 6, "unlinked": 2},
        "quarantine_reasons": [
            {"stage": "ingest", "reason": "bad_date", "rows": 1},
            {"stage": "identifiers", "reason": "nhs:bad_check_digit", "rows": 1},
        ],
        "linkage": {
            "mode": "dedupe",
            "pairs_scored": 4,
            "pairs_matched": 3,
            "pairs_for_review": 1,
            "match_threshold": 0.9,
            "review_threshold": 0.5,
            "match_rate": 0.75,
        },
        "key_ids": {"nhs": "k1-0123456789abcdef"},
        "disclosure": {"k": 5, "quasi_identifiers": ["a&b"]},
    }
    base.update(overrides)
    return base


def test_report_is_self_contained_and_escapes_everything() -> None:
    page = render_report(manifest(), pl.Series([0.95, 0.97, 0.99, 0.6]))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "a&amp;b" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page
    assert "input rows = delivered + quarantined: yes" in page
    assert "nhs:bad_check_digit" in page and "k1-0123456789abcdef" in page
    assert page.count("<rect") == 20 and "match threshold 0.9" in page


def test_unbalanced_accounts_are_flagged() -> None:
    totals = {"input_rows": 11, "quarantined": 2, "delivered": 8, "linked": 6, "unlinked": 2}
    page = render_report(manifest(totals=totals), pl.Series([], dtype=pl.Float64))
    assert "input rows = delivered + quarantined: NO" in page
    assert "No pairs were scored" in page


def test_histogram_bins_match_weights() -> None:
    # weights: p=0.5 -> 0, p=0.8 -> 2, p=0.2 -> -2, p=0.9 -> log2(9) ~ 3.17
    svg = histogram_svg(pl.Series([0.5, 0.8, 0.2, 0.9, None]), threshold=0.5, bins=3)
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles == [
        "weight -2.0 to 0.0: 1 pairs",
        "weight 0.0 to 2.0: 1 pairs",
        "weight 2.0 to 4.0: 2 pairs",
    ]
    assert "match threshold 0.5 (weight 0.0)" in svg
    assert match_weight(0.5) == 0.0 and match_weight(1.0) > 39
