"""The linkage sections of the run report: thresholds, counts, entities, and the model's
charts (match weights, m and u, the distribution of every candidate pair's match weight with
both thresholds, unlinkable records, the EM passes of training).

Everything shown is a count, a weight, a threshold or a comparison level's label: the
delivered report holds no record values (:mod:`pipeline.run_report`). Charts come from
:mod:`pipeline.charts` (static SVG, nothing fetched).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from linkage.model import ModelParameters
from pipeline import charts
from pipeline.html_blocks import html_table, match_weight, probability_text

Section = list[str]

_ENTITY_LABELS = {
    "new_entities": "new people (entities first seen in this run)",
    "records_joining_earlier_entities": "records joining people delivered before",
    "entities_merged_by_new_records": "earlier people merged by new records",
    "earlier_records": "records of earlier runs linked with this batch",
}


def linkage_sections(
    linkage: Mapping[str, Any], diagnostics: Mapping[str, Any], probabilities: pl.Series
) -> Section:
    """The "Linkage" heading and everything under it, for a run whose linkage ran (or not).
    ``diagnostics`` are the link stage's (:mod:`pipeline.stages.link_diagnostics`);
    ``probabilities`` those of the pairs it kept, drawn when it counted no histogram."""
    match, review = linkage.get("match_threshold"), linkage.get("review_threshold")
    parts = [
        "<h2>Linkage</h2>",
        html_table(
            [
                "mode",
                "candidate pairs",
                "pairs at or above the review threshold",
                "pairs matched",
                "pairs for review",
                "records linked",
            ],
            [
                [
                    linkage["mode"],
                    linkage.get("candidate_pairs", "-"),
                    linkage["pairs_scored"],
                    linkage["pairs_matched"],
                    linkage["pairs_for_review"],
                    f"{linkage['match_rate']:.1%}",
                ]
            ],
        ),
        _thresholds(match, review, linkage.get("match_threshold_setting")),
        *_entities(linkage.get("entities") or {}),
        *_identifier_links(linkage),
    ]
    if linkage["mode"] == "none":
        return [*parts, "<p>Linkage was not configured (mode: none).</p>"]
    return [
        *parts,
        *_distribution(linkage, diagnostics, probabilities),
        *_model(linkage.get("model")),
        *_unlinkables(diagnostics.get("self_match"), match),
        *_training(linkage.get("training"), linkage.get("em_max_iterations")),
    ]


def _thresholds(match: float | None, review: float | None, setting: object) -> str:
    if match is None:
        return "<p>No thresholds were applied: nothing was scored.</p>"
    rows: list[list[object]] = [
        [
            "match",
            probability_text(match) + (" (auto: the model's own)" if setting == "auto" else ""),
            f"{match_weight(match):+.2f}",
            "pairs at or above it are linked",
        ]
    ]
    if review is not None:
        rows.append(
            [
                "clerical review",
                probability_text(review),
                f"{match_weight(review):+.2f}",
                "pairs from here up to the match threshold go to the review file",
            ]
        )
    return html_table(["threshold", "probability", "match weight", "meaning"], rows)


def _entities(entities: Mapping[str, Any]) -> Section:
    if not entities:
        return []
    rows = [[_ENTITY_LABELS.get(k, k.replace("_", " ")), v] for k, v in entities.items()]
    return ["<h3>People (entities)</h3>", html_table(["what", "count"], rows)]


def _identifier_links(linkage: Mapping[str, Any]) -> Section:
    if "identifier_links" not in linkage:
        return []
    rows = [
        ["records linked by a shared valid identifier", linkage["identifier_links"]],
        [
            "links refused: two identifiers of one type from one source in one person",
            linkage.get("links_refused_by_identifier_constraint", 0),
        ],
        [
            "groups sharing an identifier that disagree on another",
            linkage.get("identifier_conflicts_kept", 0),
        ],
    ]
    return ["<h3>Identifiers</h3>", html_table(["what", "count"], rows)]


def _distribution(
    linkage: Mapping[str, Any], diagnostics: Mapping[str, Any], probabilities: pl.Series
) -> Section:
    """Every candidate pair's weight when the link stage counted them; else the pairs it
    kept (those at or above the review threshold), said so."""
    match, review = linkage.get("match_threshold"), linkage.get("review_threshold")
    histogram = diagnostics.get("weight_histogram")
    heading = "<h3>Match weights of candidate pairs</h3>"
    if histogram and histogram.get("bins"):
        counted = charts.rebin(histogram["bins"], float(histogram["bin_width"]))
        return [heading, charts.weight_histogram_chart(counted, match=match, review=review)]
    if match is None or len(probabilities) == 0:
        return [heading, "<p>No pairs were scored.</p>"]
    chart = charts.weight_distribution_chart(probabilities, match=match, review=review)
    return [heading, "<p>Pairs at or above the review threshold only.</p>", chart]


def _model(model: Mapping[str, Any] | None) -> Section:
    if not model:
        return []
    params = ModelParameters.from_dict(model)
    return [
        "<h3>Model: match weight of each comparison level</h3>",
        charts.match_weight_chart(params),
        "<h3>Model: m and u</h3>",
        charts.m_u_chart(params),
        charts.m_u_table(params),
    ]


def _unlinkables(self_match: Mapping[str, Any] | None, match: float | None) -> Section:
    if not self_match or not self_match.get("weights"):
        return []
    return [
        "<h3>Unlinkable records</h3>",
        charts.unlinkables_chart(
            self_match["weights"], match=match, sampled_from=self_match.get("sampled_from")
        ),
    ]


def _training(passes: list[dict[str, Any]] | None, max_iterations: int | None) -> Section:
    if passes is None:
        return []
    recorded = [charts.TrainingPass(**p) for p in passes]
    return [
        "<h3>Training (EM passes)</h3>",
        charts.training_chart(recorded, max_iterations=max_iterations),
    ]
