"""Record-pair views: the per-pair waterfall and the comparison viewer.

A waterfall shows how one pair's match weight builds up from the prior, comparison by
comparison (the rows of :func:`linkage.explain.waterfall`). The comparison viewer counts the
candidate pairs of each comparison-level pattern and shows example pairs of the commonest.

Record identifiers and values appear only with ``include_records=True``: those views are for
reports kept in the work folder, beside the identifying data they describe. With the default
``include_records=False`` the output holds level labels, weights and counts only, and suits a
delivered report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from linkage.comparisons import Comparison
from pipeline.charts.model import NEGATIVE, POSITIVE
from pipeline.charts.render import ChartError, altair, figure, ordered_y, svg
from pipeline.charts.tables import records_table
from pipeline.html_blocks import escape, html_table

TOTAL = "final match weight"
_STEP_COLOURS = {"increase": POSITIVE, "decrease": NEGATIVE, "prior": "#7f7f7f", "total": "#333"}


def waterfall_chart(
    steps: pl.DataFrame, *, include_records: bool = False, max_pairs: int = 5
) -> str:
    """One waterfall per pair (at most ``max_pairs``) from :func:`linkage.explain.waterfall`
    rows (``id_l, id_r, step, component, label, match_weight, cumulative_weight,
    cumulative_probability``). Titles name the pair's ids only with ``include_records``."""
    if steps.height == 0:
        return "<p>No pairs to explain.</p>"
    alt = altair()
    pairs = steps.select("id_l", "id_r").unique(maintain_order=True).head(max_pairs)
    charts = []
    for number, (id_l, id_r) in enumerate(pairs.iter_rows(), start=1):
        one = steps.filter((pl.col("id_l") == id_l) & (pl.col("id_r") == id_r)).sort("step")
        who = f"{id_l} and {id_r}" if include_records else f"pair {number}"
        charts.append(_waterfall(_waterfall_rows(one)).properties(title=_title(who, one)))
    caption = (
        "How each pair's match weight builds up: the prior, then each comparison's weight at "
        "the level the pair reached (and any term-frequency adjustment); the last bar is the "
        "total, whose log2 odds give the match probability."
    )
    return figure(alt.vconcat(*charts), caption)


def waterfall_svg(steps: pl.DataFrame) -> str:
    """SVG of one pair's waterfall (its rows of :func:`linkage.explain.waterfall`), titled
    with its final weight and probability but not its ids."""
    one = steps.sort("step")
    return svg(_waterfall(_waterfall_rows(one)).properties(title=_title("this pair", one)))


def _title(who: str, one: pl.DataFrame) -> str:
    final = one.row(-1, named=True)
    return (
        f"{who}: weight {final['cumulative_weight']:+.2f}, "
        f"probability {final['cumulative_probability']:.4f}"
    )


def _waterfall_rows(one: pl.DataFrame) -> list[dict[str, Any]]:
    rows = []
    before = 0.0
    for order, step in enumerate(one.iter_rows(named=True)):
        after = float(step["cumulative_weight"])
        name = _step_name(str(step["component"]), step["label"])
        kind = "prior" if name == "prior" else "increase" if after >= before else "decrease"
        rows.append(_bar(order, name, before, after, float(step["match_weight"]), kind))
        before = after
    rows.append(_bar(len(rows), TOTAL, 0.0, before, before, "total"))
    return rows


def _step_name(component: str, label: str | None) -> str:
    """The level's label names its comparison already ("surname exact"); a term-frequency
    step is named by its component alone."""
    if component == "prior" or label is None or component.endswith(" term frequency"):
        return component
    return label if label.startswith(component) else f"{component}: {label}"


def _bar(
    order: int, name: str, start: float, end: float, weight: float, kind: str
) -> dict[str, Any]:
    return {
        "order": order,
        "name": name,
        "start": start,
        "end": end,
        "text": f"{weight:+.2f}",
        "kind": kind,
    }


def _waterfall(rows: list[dict[str, Any]]) -> Any:
    alt = altair()
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=ordered_y("name", axis=alt.Axis(labelLimit=300)),
    )
    bars = base.mark_bar().encode(
        x=alt.X("start:Q", title="cumulative match weight"),
        x2="end:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=list(_STEP_COLOURS), range=list(_STEP_COLOURS.values())),
            legend=None,
        ),
    )
    labels = (
        base.mark_text(align="left", dx=4, fontSize=10)
        .encode(x=alt.X("max_end:Q"), text="text:N")
        .transform_calculate(max_end="max(datum.start, datum.end)")
    )
    zero = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color="#999").encode(x="x:Q")
    return alt.layer(bars, labels, zero).properties(width=420)


def comparison_viewer(
    pairs: pl.DataFrame,
    comparisons: Sequence[Comparison],
    *,
    include_records: bool = False,
    left_records: pl.DataFrame | None = None,
    right_records: pl.DataFrame | None = None,
    id_column: str = "id",
    top: int = 10,
    examples: int = 2,
) -> str:
    """Candidate pairs by comparison-level pattern: a chart of the ``top`` commonest
    patterns' counts, coloured by match weight, and a table of their levels. With
    ``include_records``, ``examples`` pairs of each pattern follow, their compared values
    side by side (``left_records``/``right_records`` keyed by ``id_column``; ``right_records``
    defaults to ``left_records`` for a dedupe).

    ``pairs`` are :meth:`linkage.Linker.predict` rows (``id_l, id_r, match_weight`` and a
    ``gamma_<name>`` column per comparison).
    """
    missing = [c.gamma_column for c in comparisons if c.gamma_column not in pairs.columns]
    missing += [c for c in ("id_l", "id_r", "match_weight") if c not in pairs.columns]
    if missing:
        raise ChartError(f"comparison viewer: pairs lack column(s) {', '.join(missing)}")
    patterns = _patterns(pairs, comparisons).head(top)
    if patterns.height == 0:
        return "<p>No candidate pairs.</p>"
    parts = [_pattern_chart(patterns, pairs.height), _pattern_table(patterns, comparisons)]
    if include_records:
        right = right_records if right_records is not None else left_records
        parts.append(
            _examples(pairs, patterns, comparisons, left_records, right, id_column, examples)
        )
    return "".join(parts)


def _patterns(pairs: pl.DataFrame, comparisons: Sequence[Comparison]) -> pl.DataFrame:
    """Distinct gamma patterns with their pair counts and mean weight, commonest first."""
    gammas = [c.gamma_column for c in comparisons]
    counted = pairs.group_by(gammas).agg(
        pl.len().alias("pairs"), pl.col("match_weight").mean().alias("weight")
    )
    ranked = counted.sort(["pairs", "weight", *gammas], descending=True)
    return ranked.with_row_index("pattern", offset=1)


def _labels(comparison: Comparison) -> dict[int, str]:
    return {info.gamma: info.label for info in comparison.level_info()}


def _pattern_chart(patterns: pl.DataFrame, total: int) -> str:
    alt = altair()
    rows = [
        {"pattern": f"pattern {p}", "order": p, "pairs": n, "weight": round(w, 2)}
        for p, n, w in patterns.select("pattern", "pairs", "weight").iter_rows()
    ]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=ordered_y("pattern"),
            x=alt.X("pairs:Q", title="candidate pairs"),
            color=alt.Color(
                "weight:Q",
                title="mean match weight",
                scale=alt.Scale(scheme="redblue", domainMid=0),
            ),
        )
        .properties(width=420)
    )
    shown = int(patterns["pairs"].sum())
    return figure(
        chart,
        f"The {patterns.height} commonest comparison-level patterns: {shown} of {total} "
        "candidate pairs. The table below gives each pattern's levels.",
    )


def _pattern_table(patterns: pl.DataFrame, comparisons: Sequence[Comparison]) -> str:
    rows = []
    for row in patterns.iter_rows(named=True):
        levels = [_labels(c).get(row[c.gamma_column], "?") for c in comparisons]
        rows.append([row["pattern"], *levels, row["pairs"], round(row["weight"], 2)])
    headers = ["pattern", *(c.name for c in comparisons), "pairs", "mean match weight"]
    return html_table(headers, rows)


def _examples(
    pairs: pl.DataFrame,
    patterns: pl.DataFrame,
    comparisons: Sequence[Comparison],
    left: pl.DataFrame | None,
    right: pl.DataFrame | None,
    id_column: str,
    examples: int,
) -> str:
    gammas = [c.gamma_column for c in comparisons]
    columns = list(dict.fromkeys(col for c in comparisons for col in c.columns()))
    parts = ["<h3>Example pairs per pattern (work folder only: record values)</h3>"]
    for pattern in patterns.iter_rows(named=True):
        chosen = pairs.filter(*(pl.col(g) == pattern[g] for g in gammas))
        chosen = chosen.sort(["match_weight", "id_l", "id_r"], descending=[True, False, False])
        parts.append(f"<h4>Pattern {escape(pattern['pattern'])}</h4>")
        for pair in chosen.head(examples).iter_rows(named=True):
            left_row = _record(left, id_column, pair["id_l"])
            right_row = _record(right, id_column, pair["id_r"])
            parts.append(
                records_table(
                    [str(pair["id_l"]), str(pair["id_r"])],
                    [(col, [left_row.get(col), right_row.get(col)]) for col in columns],
                    caption=f"match weight {pair['match_weight']:+.2f}",
                )
            )
    return "".join(parts)


def _record(records: pl.DataFrame | None, id_column: str, value: object) -> dict[str, Any]:
    if records is None:
        return {}
    found = records.filter(pl.col(id_column) == value)
    return found.row(0, named=True) if found.height else {}
