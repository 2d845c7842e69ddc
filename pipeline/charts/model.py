"""Charts of a trained model: match weight and m/u per comparison level, and the
distribution of candidate pairs' match weights. They show parameters and counts only, never a
record's value, so they suit delivered reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from linkage.model import PROBABILITY_FLOOR, ModelParameters
from pipeline.charts.render import altair, figure, ordered_y
from pipeline.html_blocks import html_table, match_weight, probability_text

POSITIVE, NEGATIVE = "#2f6fb0", "#c0504d"
PRIOR = "prior (lambda)"


def m_u_table(params: ModelParameters) -> str:
    """Each level's m, u and weight; a probability below the floor is printed with the value
    the weight uses, so a tiny m never reads as 0 beside a finite weight."""
    rows = []
    for name, p in params.comparisons.items():
        weights = params.weights(name)
        for g in reversed(range(len(p.m))):
            rows.append(
                [
                    name,
                    p.labels[g],
                    floored_text(p.m[g]),
                    floored_text(p.u[g]),
                    f"{weights[g]:+.2f}",
                ]
            )
    return html_table(["comparison", "level", "m", "u", "match weight"], rows)


def floored_text(value: float | None) -> str:
    """A probability as the weights use it: below :data:`PROBABILITY_FLOOR` it is floored."""
    if value is None:
        return "not estimated"
    if value < PROBABILITY_FLOOR:
        return f"{probability_text(value)} (floored to {PROBABILITY_FLOOR:g})"
    return probability_text(value)


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
                    "text": probability_text(value),
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


Bin = tuple[float, float, int]  # start and end weight, pairs


def weight_distribution_chart(
    probabilities: pl.Series, *, match: float, review: float | None = None, bins: int = 30
) -> str:
    """Histogram of candidate pairs' match weights (log2 posterior odds), with the match
    threshold and, if given, the clerical-review threshold marked. Pairs are counted in
    ``bins`` bins; a pair with probability 0 or 1 is clipped to a finite weight."""
    p = probabilities.drop_nulls().cast(pl.Float64).clip(1e-12, 1 - 1e-12)
    weights = (p / (1 - p)).log(2)
    cuts = _threshold_lines(match, review)
    low = math.floor(min([*weights.to_list(), *(x["weight"] for x in cuts)]))
    high = math.ceil(max([*weights.to_list(), *(x["weight"] for x in cuts)]))
    step = max((high - low) / bins, 1e-9)
    binned = (
        pl.DataFrame({"w": weights})
        .select(((pl.col("w") - low) / step).floor().clip(0, bins - 1).cast(pl.Int64).alias("b"))
        .group_by("b")
        .len()
    )
    counted = [(low + b * step, low + (b + 1) * step, n) for b, n in binned.sort("b").iter_rows()]
    return weight_histogram_chart(counted, match=match, review=review)


def rebin(counts: Sequence[Sequence[float]], width: float, *, bins: int = 40) -> list[Bin]:
    """``[start, pairs]`` rows in bins of ``width`` merged into at most about ``bins`` bins of
    a whole multiple of ``width`` (as :func:`pipeline.stages.link_diagnostics.weight_histogram`
    counts them), as ``(start, end, pairs)``."""
    if not counts:
        return []
    starts = [float(c[0]) for c in counts]
    span = max(starts) + width - min(starts)
    factor = max(1, math.ceil(span / width / bins))
    merged: dict[int, int] = {}
    for start, pairs in counts:
        index = math.floor(round(float(start) / width, 6) / factor)
        merged[index] = merged.get(index, 0) + int(pairs)
    wide = width * factor
    return [(i * wide, (i + 1) * wide, n) for i, n in sorted(merged.items())]


def weight_histogram_chart(
    counted: Sequence[Bin], *, match: float | None, review: float | None = None, what: str = ""
) -> str:
    """Histogram of pairs already counted per match-weight bin (``(start, end, pairs)``),
    with the match and, if given, the clerical-review threshold (probabilities) marked.
    ``what`` says which pairs were counted, for the caption."""
    alt = altair()
    rows = [{"start": a, "end": b, "pairs": n} for a, b, n in counted]
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color=POSITIVE)
        .encode(
            x=alt.X("start:Q", bin="binned", title="match weight (log2 odds)"),
            x2="end:Q",
            y=alt.Y("pairs:Q", title="candidate pairs"),
        )
    )
    lines = _threshold_lines(match, review)
    layers: list[Any] = [bars]
    if lines:
        layers.append(
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
    total = sum(n for _, _, n in counted)
    caption = f"{total} {what or 'candidate pairs'} by match weight"
    if match is not None:
        caption += f"; match threshold p >= {match:.4g} (weight {match_weight(match):.2f})"
    if review is not None:
        caption += f", clerical review from p >= {review:.4g} (weight {match_weight(review):.2f})"
    return figure(alt.layer(*layers).properties(width=520, height=200), caption + ".")


def _threshold_lines(match: float | None, review: float | None) -> list[dict[str, Any]]:
    lines = []
    if match is not None:
        lines.append({"name": "match threshold", "weight": match_weight(match)})
    if review is not None:
        lines.append({"name": "review threshold", "weight": match_weight(review)})
    return lines
