"""Cluster and record views: the cluster studio and the unlinkables chart.

The cluster studio shows how many clusters there are of each size and, with
``include_records=True`` (work-folder reports only), the records of a few clusters side by
side. The unlinkables chart shows how many records could not reach a given match weight even
when compared with an exact copy of themselves: records too sparse to link (as Splink's
``unlinkables_chart``). Both show counts and weights only unless ``include_records``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import polars as pl

from linkage import LinkageSettings, Linker, block_on
from linkage.model import ModelParameters
from pipeline.charts.model import NEGATIVE, POSITIVE
from pipeline.charts.render import ChartError, altair, figure
from pipeline.charts.tables import records_table
from pipeline.html_blocks import match_weight


def cluster_studio(
    clusters: pl.DataFrame,
    *,
    include_records: bool = False,
    records: pl.DataFrame | None = None,
    id_column: str = "id",
    cluster_column: str = "cluster_id",
    show: int = 3,
) -> str:
    """Cluster size distribution; with ``include_records``, the records of the ``show``
    largest multi-record clusters side by side (``records`` keyed by ``id_column``, and by
    ``source_dataset`` too when both frames have it, as :meth:`linkage.Linker.cluster`
    labels a two-sided link)."""
    for column in (id_column, cluster_column):
        if column not in clusters.columns:
            raise ChartError(f"cluster studio: clusters lack column {column!r}")
    sizes = clusters.group_by(cluster_column).len("size")
    distribution = sizes.group_by("size").len("clusters").sort("size")
    alt = altair()
    base = alt.Chart(alt.Data(values=distribution.to_dicts())).encode(
        x=alt.X("size:O", title="records in cluster", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("clusters:Q", title="clusters"),
    )
    labels = base.mark_text(dy=-6, fontSize=10).encode(text="clusters:Q")
    chart = (base.mark_bar(color=POSITIVE) + labels).properties(width=420, height=180)
    singletons = int(distribution.filter(pl.col("size") == 1)["clusters"].sum())
    largest = int(sizes.select(pl.col("size").max()).item() or 0)
    caption = (
        f"{sizes.height} clusters of {clusters.height} records; {singletons} records stand "
        f"alone; the largest cluster has {largest} records."
    )
    html = figure(chart, caption)
    if include_records:
        html += _cluster_records(clusters, sizes, records, id_column, cluster_column, show)
    return html


def _cluster_records(
    clusters: pl.DataFrame,
    sizes: pl.DataFrame,
    records: pl.DataFrame | None,
    id_column: str,
    cluster_column: str,
    show: int,
) -> str:
    chosen = sizes.filter(pl.col("size") > 1).sort(
        ["size", cluster_column], descending=[True, False]
    )
    parts = ["<h3>Largest clusters (work folder only: record values)</h3>"]
    for cluster, size in chosen.head(show).iter_rows():
        members = clusters.filter(pl.col(cluster_column) == cluster)
        if records is not None:
            keys = [id_column]
            if "source_dataset" in members.columns and "source_dataset" in records.columns:
                keys.append("source_dataset")
            members = members.join(records, on=keys, how="left")
        members = members.sort(id_column)
        fields = [c for c in members.columns if c not in (id_column, cluster_column)]
        parts.append(
            records_table(
                [str(v) for v in members[id_column].to_list()],
                [(f, members[f].to_list()) for f in fields],
                caption=f"cluster {cluster}: {size} records",
            )
        )
    return "".join(parts)


def self_match_weights(
    settings: LinkageSettings, parameters: ModelParameters, records: pl.DataFrame
) -> pl.Series:
    """Each record's match weight against an exact copy of itself under ``parameters``: the
    most it could score. Null fields score their null level, so sparse records score low."""
    uid = settings.unique_id_column
    own = dataclasses.replace(
        settings, link_type="link_only", blocking_rules=[block_on(uid)], source_column=None
    )
    linker = Linker(own, records, records, parameters=parameters)
    try:
        return linker.predict()["match_weight"].alias("self_match_weight")
    finally:
        linker.close()


def unlinkables_chart(
    self_weights: pl.Series | Sequence[Sequence[float]],
    *,
    match: float | None = None,
    sampled_from: int | None = None,
) -> str:
    """Share of records whose weight against themselves (:func:`self_match_weights`) is
    below each match weight: those records cannot be linked at that threshold, however
    similar their partner. ``self_weights`` is the weights, or ``[weight, records]`` counts
    of them; ``match`` (a probability) marks the match threshold; ``sampled_from`` says the
    records were a sample of that many."""
    if isinstance(self_weights, pl.Series):
        weights = self_weights.drop_nulls().cast(pl.Float64).round(1)
        counted = pl.DataFrame({"w": weights}).group_by("w").len()
    else:
        counted = pl.DataFrame(
            {"w": [float(w) for w, _ in self_weights], "len": [int(n) for _, n in self_weights]},
            schema={"w": pl.Float64, "len": pl.Int64},
        )
    total = int(counted["len"].sum())
    if total == 0:
        return "<p>No records.</p>"
    curve = (
        counted.group_by("w")
        .agg(pl.col("len").sum())
        .sort("w")
        .with_columns((pl.col("len").cum_sum() / total).alias("share"))
    )
    alt = altair()
    line = (
        alt.Chart(alt.Data(values=curve.select("w", "share").to_dicts()))
        .mark_line(interpolate="step-after", color=POSITIVE, point=True)
        .encode(
            x=alt.X("w:Q", title="match weight of a record against itself"),
            y=alt.Y("share:Q", title="share of records at or below", axis=alt.Axis(format="%")),
        )
    )
    layers = [line]
    sample = f" (a sample of {sampled_from})" if sampled_from and sampled_from > total else ""
    caption = f"{total} records{sample} by the highest match weight each could reach."
    if match is not None:
        cut = match_weight(match)
        below = int(curve.filter(pl.col("w") < cut)["len"].sum())
        rule = alt.Chart(alt.Data(values=[{"w": cut}])).mark_rule(color=NEGATIVE, strokeDash=[4, 3])
        layers.append(rule.encode(x="w:Q"))
        caption += (
            f" {below} ({below / total:.1%}) cannot reach the match threshold "
            f"(p >= {match:.4g}, weight {cut:.2f}) even against an identical copy."
        )
    return figure(alt.layer(*layers).properties(width=420, height=200), caption)
