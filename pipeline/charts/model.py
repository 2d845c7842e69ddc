"""Charts of a trained model: match weight and m/u per comparison level, and the
distribution of candidate pairs' match weights. They show parameters and counts only, never a
record's value, so they suit delivered reports."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from linkage.model import PROBABILITY_FLOOR, ModelParameters
from pipeline.charts.render import altair, figure, ordered_y
from pipeline.html_blocks import match_weight

POSITIVE, NEGATIVE = "#2f6fb0", "#c0504d"
PRIOR = "prior (lambda)"


def _level_rows(params: ModelParameters) -> list[dict[str, Any]]:
    """One row per comparison level, most similar first, plus the prior."""
    lam = params.probability_two_random_records_match
    rows: list[dict[str, Any]] = [
        {"comparison": PRIOR, "level": f"lambda = {lam:.3g}", "order": 0, "m": None, "u": None}
        | {"weight": params.prior_weight()}
    ]
    for name, p in params.comparisons.items():
        weights = params.weights(name)
        for g in reversed(range(len(p.m))):
            rows.append(
                {
                    "comparison": name,
                    "level": p.labels[g],
                    "order": len(p.m) - g,
                    "m": p.m[g],
                    "u": p.u[g],
                    "weight": weights[g],
                }
            )
    return rows


def _sign_colour(field: str) -> Any:
    alt = altair()
    return alt.condition(f"datum.{field} >= 0", alt.value(POSITIVE), alt.value(NEGATIVE))


def match_weight_chart(params: ModelParameters) -> str:
    """Match weight log2(m/u) of every comparison level, and the prior log2(lambda/(1-lambda)),
    one row of bars per comparison (as Splink's ``match_weights_chart``)."""
    alt = altair()
    rows = _level_rows(params)
    for row in rows:
        row["text"] = f"{row['weight']:+.2f}"
    base = alt.Chart().encode(
        y=ordered_y("level"),
        x=alt.X("weight:Q", title="match weight (log2 Bayes factor)"),
    )
    bars = base.mark_bar().encode(color=_sign_colour("weight"))
    labels = base.mark_text(align="left", dx=4).encode(text="text:N", x=alt.value(0))
    chart = (
        alt.layer(bars, labels, data=alt.Data(values=rows))
        .properties(width=420)
        .facet(row=alt.Row("comparison:N", sort=[PRIOR, *params.comparisons], title=None))
        .resolve_scale(y="independent")
    )
    return figure(
        chart,
        "Match weight of each comparison level: how far agreement at that level moves a "
        "pair's log2 odds of being a match. The prior is the log2 odds before any comparison.",
    )


def m_u_chart(params: ModelParameters) -> str:
    """m (share of matches) and u (share of non-matches) at each comparison level, side by
    side per comparison (as Splink's ``m_u_parameters_chart``); values are printed so that a
    tiny m is not read as zero."""
    alt = altair()
    rows = []
    for row in _level_rows(params)[1:]:
        for parameter in ("m", "u"):
            value = row[parameter]
            if value is None:
                continue
            rows.append(
                {
                    "comparison": row["comparison"],
                    "level": row["level"],
                    "order": row["order"],
                    "parameter": parameter,
                    "value": value,
                    "text": _probability_text(value),
                }
            )
    base = alt.Chart().encode(
        y=ordered_y("level"),
        x=alt.X("value:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "parameter:N",
            scale=alt.Scale(domain=["m", "u"], range=[POSITIVE, NEGATIVE]),
            legend=None,
        )
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(text="text:N")
    chart = (
        alt.layer(bars, labels, data=alt.Data(values=rows))
        .properties(width=220)
        .facet(
            row=alt.Row("comparison:N", sort=list(params.comparisons), title=None),
            column=alt.Column("parameter:N", title=None),
        )
        .resolve_scale(y="independent")
    )
    return figure(
        chart,
        "m: probability of each level among true matches; u: among non-matches. "
        f"Values below {PROBABILITY_FLOOR:g} are floored there when weights are computed.",
    )


def _probability_text(value: float) -> str:
    """Three significant figures, never rounded to a misleading 0."""
    return f"{value:.3g}" if value >= 1e-3 or value == 0 else f"{value:.2e}"


def weight_distribution_chart(
    probabilities: pl.Series, *, match: float, review: float | None = None, bins: int = 30
) -> str:
    """Histogram of candidate pairs' match weights (log2 posterior odds), with the match
    threshold and, if given, the clerical-review threshold marked. Pairs are counted in
    ``bins`` bins; a pair with probability 0 or 1 is clipped to a finite weight."""
    alt = altair()
    p = probabilities.drop_nulls().cast(pl.Float64).clip(1e-12, 1 - 1e-12)
    weights = (p / (1 - p)).log(2)
    lines = [{"name": "match threshold", "weight": match_weight(match)}]
    if review is not None:
        lines.append({"name": "review threshold", "weight": match_weight(review)})
    low = math.floor(min([*weights.to_list(), *(x["weight"] for x in lines)]))
    high = math.ceil(max([*weights.to_list(), *(x["weight"] for x in lines)]))
    step = max((high - low) / bins, 1e-9)
    binned = (
        pl.DataFrame({"w": weights})
        .select(((pl.col("w") - low) / step).floor().clip(0, bins - 1).cast(pl.Int64).alias("b"))
        .group_by("b")
        .len()
    )
    rows = [
        {"start": low + b * step, "end": low + (b + 1) * step, "pairs": n}
        for b, n in binned.sort("b").iter_rows()
    ]
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color=POSITIVE)
        .encode(
            x=alt.X("start:Q", bin="binned", title="match weight (log2 odds)"),
            x2="end:Q",
            y=alt.Y("pairs:Q", title="candidate pairs"),
        )
    )
    rules = (
        alt.Chart(alt.Data(values=lines))
        .mark_rule(strokeDash=[4, 3])
        .encode(
            x="weight:Q",
            color=alt.Color(
                "name:N",
                scale=alt.Scale(domain=[x["name"] for x in lines], range=[NEGATIVE, "#555555"]),
                legend=alt.Legend(title=None),
            ),
        )
    )
    caption = f"{p.len()} candidate pairs by match weight; match threshold p >= {match:g}"
    if review is not None:
        caption += f", clerical review from p >= {review:g}"
    return figure((bars + rules).properties(width=520, height=200), caption + ".")
