"""``link-report.html``: a link job's self-contained HTML report.

Sections: the training problems the engine warned about, counts, thresholds, the match
weights of every candidate pair with both thresholds, the model (match weight and m/u charts,
a table of m, u and weights), unlinkable records, the EM passes, blocking, unsupervised and
labelled evaluation, then the record views of :mod:`pipeline.charts`: per-pair waterfalls of
the pairs for review, the comparison viewer and the cluster studio.

By default every view shows ids, counts, scores and model parameters only, never a record's
value. With ``records`` (``pprl link --report-records``) the record views show the pairs' and
clusters' values side by side: the report then belongs with the inputs, in a work folder.
Charts are static SVG (:mod:`pipeline.charts`); the page fetches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from linkage import Linker
from pipeline import charts
from pipeline.html_blocks import PAGE_CSS, escape, html_table, warnings_section
from pipeline.linkconfig import ID, LinkJobConfig

#: Pairs for review explained by a waterfall each.
WATERFALL_PAIRS = 5


@dataclass(frozen=True)
class ReportInputs:
    """What the report is drawn from: the job's linker (model, comparisons), every scored
    candidate pair, the review pairs, clusters, the standardised input frames and the EM
    passes recorded while training (None for a loaded model)."""

    linker: Linker
    scored: pl.DataFrame
    review: pl.DataFrame
    clusters: pl.DataFrame
    frames: list[pl.DataFrame]
    training: charts.TrainingLog | None
    self_match: dict[str, Any]


def render_link_report(
    cfg: LinkJobConfig,
    counts: dict[str, int],
    evaluation: dict[str, Any],
    inputs: ReportInputs,
    *,
    records: bool = False,
) -> str:
    """The whole page; ``records`` puts record values in the record views."""
    th = evaluation["thresholds"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>pprl link report</title><style>{PAGE_CSS}{charts.CHART_CSS}</style></head><body>",
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
        charts.weight_distribution_chart(
            inputs.scored["match_probability"], match=float(th["match"]), review=float(th["review"])
        ),
        *_model(inputs, float(th["match"])),
        *_blocking(evaluation["blocking"]["rules"]),
        *_evaluation(evaluation),
        *_record_views(inputs, records),
        "</body></html>",
    ]
    page = "\n".join(parts)
    charts.assert_offline(page, source="link report")
    return page


def _model(inputs: ReportInputs, match: float) -> list[str]:
    params = inputs.linker.parameters
    passes = inputs.training.passes if inputs.training is not None else []
    return [
        "<h2>Model: match weight of each comparison level</h2>",
        charts.match_weight_chart(params),
        "<h2>Model: m and u per comparison level</h2>",
        charts.m_u_chart(params),
        charts.m_u_table(params),
        "<h2>Unlinkable records</h2>",
        charts.unlinkables_chart(
            inputs.self_match["weights"],
            match=match,
            sampled_from=inputs.self_match["sampled_from"],
        ),
        "<h2>Training (EM passes)</h2>",
        charts.training_chart(passes, max_iterations=inputs.linker.settings.em_max_iterations),
    ]


def _blocking(rules: list[dict[str, Any]]) -> list[str]:
    return [
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


def _record_views(inputs: ReportInputs, records: bool) -> list[str]:
    """Waterfalls of the first pairs for review, the comparison viewer, the cluster studio."""
    linker, scored = inputs.linker, inputs.scored
    chosen = inputs.review.select("id_l", "id_r").head(WATERFALL_PAIRS)
    explained = linker.explain(scored.join(chosen, on=["id_l", "id_r"], how="semi"))
    left = inputs.frames[0]
    right = inputs.frames[1] if len(inputs.frames) > 1 else None
    note = (
        "<p>These views show record values: keep this report with the inputs.</p>"
        if records
        else "<p>Record values are left out (rerun with --report-records to show them).</p>"
    )
    return [
        "<h2>Pairs for review: how each weight builds up</h2>",
        note,
        charts.waterfall_chart(explained, include_records=records, max_pairs=WATERFALL_PAIRS),
        "<h2>Comparison viewer</h2>",
        charts.comparison_viewer(
            scored,
            linker.comparisons,
            include_records=records,
            left_records=left,
            right_records=right,
            id_column=ID,
        ),
        "<h2>Cluster studio</h2>",
        charts.cluster_studio(
            inputs.clusters, include_records=records, records=_cluster_records(inputs.frames)
        ),
    ]


def _cluster_records(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The input records keyed as :meth:`linkage.Linker.cluster` labels them (``id``, and
    ``source_dataset`` for a two-sided link)."""
    if len(frames) == 1:
        return frames[0].rename({ID: "id"})
    return pl.concat(
        [
            f.rename({ID: "id"}).with_columns(source_dataset=pl.lit(side))
            for f, side in zip(frames, ("left", "right"), strict=True)
        ],
        how="diagonal_relaxed",
    )


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value
