"""``link-report.html``: a link job's self-contained HTML report (the training problems the
engine warned about, counts, thresholds, the weight histogram, m and u per comparison level,
blocking, unsupervised and labelled evaluation). It shows counts, scores and model parameters
only, never a record's value."""

from __future__ import annotations

from typing import Any

import polars as pl

from linkage import Linker
from pipeline.html_blocks import PAGE_CSS, escape, histogram_svg, html_table, warnings_section
from pipeline.linkconfig import LinkJobConfig


def parameter_rows(linker: Linker) -> list[dict[str, Any]]:
    """One row per comparison level: its label, m, u and match weight."""
    rows = []
    for c in linker.comparisons:
        p = linker.parameters.comparisons[c.name]
        weights = linker.parameters.weights(c.name)
        rows += [
            {
                "comparison": c.name,
                "gamma": g,
                "label": p.labels[g],
                "m": p.m[g],
                "u": p.u[g],
                "weight": weights[g],
            }
            for g in range(len(p.m))
        ]
    return rows


def render_link_report(
    cfg: LinkJobConfig,
    counts: dict[str, int],
    evaluation: dict[str, Any],
    parameters: list[dict[str, Any]],
    probabilities: pl.Series,
) -> str:
    """The whole page; ``parameters`` as from :func:`parameter_rows`, ``probabilities`` of
    every candidate pair (for the histogram)."""
    th = evaluation["thresholds"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>pprl link report</title><style>{PAGE_CSS}</style></head><body>",
        f"<h1>Linkage report ({escape(cfg.mode)})</h1>",
        *warnings_section(evaluation.get("warnings", []), subject="this linkage"),
        "<h2>Counts</h2>",
        html_table(["what", "count"], list(counts.items())),
        "<h2>Thresholds</h2>",
        html_table(
            ["threshold", "probability"],
            [[k, round(float(th[k]), 6)] for k in ("match", "review", "cluster")],
        ),
        f"<p>Match threshold setting: {escape(th['match_setting'])}; one-to-one: "
        f"{escape(th['one_to_one'])}.</p>",
        "<h2>Match weights of candidate pairs</h2>",
        histogram_svg(probabilities, threshold=float(th["match"]), bins=30),
        *_model_and_blocking(parameters, evaluation["blocking"]["rules"]),
        *_evaluation(evaluation),
        "</body></html>",
    ]
    return "\n".join(parts)


def _model_and_blocking(parameters: list[dict[str, Any]], rules: list[dict[str, Any]]) -> list[str]:
    return [
        "<h2>Model: m and u per comparison level</h2>",
        html_table(
            ["comparison", "gamma", "level", "m", "u", "match weight"],
            [
                [r["comparison"], r["gamma"], r["label"], *map(_fmt, (r["m"], r["u"], r["weight"]))]
                for r in parameters
            ],
        ),
        "<h2>Blocking</h2>",
        html_table(
            ["rule", "pairs", "cumulative pairs"],
            [[r["rule"], r["pairs"], r["cumulative_pairs"]] for r in rules],
        ),
    ]


def _evaluation(evaluation: dict[str, Any]) -> list[str]:
    """Unsupervised estimates, and with known links precision, recall and a threshold sweep."""
    unsup = evaluation["unsupervised"]
    parts = [
        "<h2>Unsupervised estimates</h2>",
        html_table(["estimate", "value"], [[k, _fmt(v)] for k, v in unsup.items()]),
    ]
    if "labelled" not in evaluation:
        return parts
    lab = evaluation["labelled"]
    return [
        *parts,
        "<h2>Evaluation against known links</h2>",
        f"<p>Pair completeness of blocking: "
        f"{_fmt(evaluation['blocking']['pair_completeness'])}.</p>",
        html_table(["metric", "value"], [[k, _fmt(v)] for k, v in lab.items()]),
        "<h3>Threshold sweep</h3>",
        html_table(
            ["threshold", "precision", "recall", "F1"],
            [
                [r["threshold"], _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"])]
                for r in evaluation["threshold_sweep"]
            ],
        ),
    ]


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value
