from __future__ import annotations

import re

import polars as pl

from pipeline import charts
from pipeline.html_blocks import match_weight, probability_text
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


MODEL = {
    "probability_two_random_records_match": 0.01,
    "comparisons": [
        {
            "name": "surname",
            "levels": [
                {"gamma": 0, "label": "surname all other", "m": 0.0, "u": 0.9},
                {"gamma": 1, "label": "surname exact", "m": 0.95, "u": 0.1},
            ],
        }
    ],
}
TRAINING = [
    {
        "rule": "block_on(dob)",
        "pairs": 40,
        "patterns": 3,
        "iterations": 25,
        "converged": False,
        "match_rate": 0.2,
    }
]
DIAGNOSTICS = {
    "weight_histogram": {"bin_width": 0.25, "bins": [[-10.0, 70], [-0.25, 5], [5.0, 25]]},
    "self_match": {"records": 4, "sampled_from": 4, "weights": [[-1.0, 1], [9.5, 3]]},
}


def _page(**overrides: object) -> str:
    return render_report(manifest(**overrides), pl.Series([0.95, 0.97, 0.99, 0.6]))


def test_report_is_self_contained_and_escapes_everything() -> None:
    page = _page(created="2026-12-04T10:00:00+00:00")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "a&amp;b" in page
    assert not charts.external_references(page)
    assert "input rows = delivered + quarantined: yes" in page
    assert "nhs:bad_check_digit" in page and "k1-0123456789abcdef" in page
    assert "2026-12-04T10:00:00+00:00" in page  # when the run was made


def test_both_thresholds_are_stated_with_their_weights() -> None:
    page = _page()
    match = re.search(r"<td>match</td><td>0.9</td><td>([^<]*)</td>", page)
    review = re.search(r"<td>clerical review</td><td>0.5</td><td>([^<]*)</td>", page)
    assert match and match.group(1) == f"{match_weight(0.9):+.2f}"
    assert review and review.group(1) == "+0.00"


def test_the_total_row_adds_up_the_quarantine_by_stage() -> None:
    sources = dict(manifest()["sources"])  # type: ignore[call-overload]
    other = {**sources["s"], "quarantined_by_stage": {"ingest": 3, "identifiers": 4}}
    page = _page(sources={"s": sources["s"], "t": other})
    total = re.search(r"<tr><td>total</td>(.*?)</tr>", page)
    assert total is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", total.group(1))
    assert cells[2:4] == ["4", "5"]  # ingest 1 + 3, identifiers 1 + 4


def test_entities_model_training_and_unlinkables_are_shown() -> None:
    linkage = dict(manifest()["linkage"])  # type: ignore[call-overload]
    linkage |= {
        "entities": {"new_entities": 6, "entities_merged_by_new_records": 2},
        "model": MODEL,
        "training": TRAINING,
        "em_max_iterations": 25,
    }
    page = render_report(manifest(linkage=linkage), pl.Series([0.95]), DIAGNOSTICS)
    assert re.search(r"new people[^<]*</td><td class=\"n\">6<", page)
    assert re.search(r"earlier people merged by new records</td><td class=\"n\">2<", page)
    # m of 0 is printed with the floor the weight uses, never as a bare 0.0 beside a weight
    table = page[page.index("<th>m</th>") :].split("</table>", 1)[0]
    assert "<td>0 (floored to 1e-06)</td>" in table and ">0.0<" not in table
    assert "1 EM passes; 1 stopped at the iteration limit" in page
    assert "100 candidate pairs by match weight" in page  # every pair, not only the kept ones
    assert "4 records by the highest match weight" in page
    assert len(re.findall(r"<svg\b", page)) == 5  # distribution, weights, m/u, unlinkables, EM


def test_linked_view_disclosure_figures_are_rendered_when_present() -> None:
    disclosure = {
        "k": 5,
        "linked_k_anonymity": {"k": 5, "units": 40, "unlinked": {"gp": 2}},
        "linked_risk": {"file:gp": {"records": 40, "global_risk": 0.01}},
    }
    page = _page(disclosure=disclosure)
    assert "k-anonymity of the linked view" in page
    assert '<td>unlinked.gp</td><td class="n">2</td>' in page
    assert '<td>file:gp.global_risk</td><td class="n">0.01</td>' in page


def test_unbalanced_accounts_are_flagged() -> None:
    totals = {"input_rows": 11, "quarantined": 2, "delivered": 8, "linked": 6, "unlinked": 2}
    page = render_report(manifest(totals=totals), pl.Series([], dtype=pl.Float64))
    assert "input rows = delivered + quarantined: NO" in page
    assert "No pairs were scored" in page


def test_probabilities_as_text_never_round_to_zero() -> None:
    assert probability_text(4.73e-9) == "4.73e-09" and probability_text(0.0) == "0"
    assert probability_text(0.5266) == "0.527"
    assert match_weight(0.5) == 0.0 and match_weight(1.0) > 39
