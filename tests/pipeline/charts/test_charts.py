"""Report charts (pipeline/charts): drawn from the model's own numbers, offline, and with no
record value in any view meant for delivery."""

from __future__ import annotations

import re

import altair as alt
import polars as pl
import pytest

from linkage.model import ComparisonParameters, ModelParameters
from pipeline import charts
from pipeline.charts import ChartError, assert_offline, external_references, render
from tests.pipeline.charts.charts_support import SENTINEL_IDS, SENTINELS, Trained, trained


@pytest.fixture(scope="module")
def model() -> Trained:
    return trained()


def _svg_count(html: str) -> int:
    return len(re.findall(r"<svg\b", html))


def _sentinel_pair(model: Trained) -> pl.DataFrame:
    return model.pairs.filter(
        (pl.col("id_l") == SENTINEL_IDS[0]) & (pl.col("id_r") == SENTINEL_IDS[3])
    )


def _record_views(model: Trained, *, include_records: bool) -> dict[str, str]:
    pairs = model.pairs.head(4)
    steps = model.linker.explain(pl.concat([_sentinel_pair(model), pairs]))
    records = pl.concat(
        [
            model.left.with_columns(source_dataset=pl.lit("left")),
            model.right.with_columns(source_dataset=pl.lit("right")),
        ]
    ).rename({"record_id": "id"})
    return {
        "waterfall": charts.waterfall_chart(steps, include_records=include_records),
        "comparison viewer": charts.comparison_viewer(
            # the sentinels' nine pairs make the commonest pattern among these
            pl.concat([model.pairs.filter(pl.col("id_l").str.contains("SENTINEL")), pairs]),
            model.linker.comparisons,
            include_records=include_records,
            left_records=model.left,
            right_records=model.right,
            id_column="record_id",
        ),
        "cluster studio": charts.cluster_studio(
            model.clusters, include_records=include_records, records=records
        ),
    }


def _delivery_views(model: Trained) -> dict[str, str]:
    params = model.linker.parameters
    weights = charts.self_match_weights(model.linker.settings, params, model.left)
    return {
        "match weights": charts.match_weight_chart(params),
        "m and u": charts.m_u_chart(params),
        "weight distribution": charts.weight_distribution_chart(
            model.pairs["match_probability"], match=0.9, review=0.5
        ),
        "unlinkables": charts.unlinkables_chart(weights, match=0.9),
        "training": charts.training_chart(
            [charts.TrainingPass("block_on(postcode)", 10, 3, 7, True, 0.2)], max_iterations=50
        ),
        **_record_views(model, include_records=False),
    }


def test_views_for_delivery_show_no_record_value(model: Trained) -> None:
    values = model.values()
    assert set(SENTINELS.values()) <= values | {"9191"}  # the scan looks for these
    for name, html in _delivery_views(model).items():
        assert _svg_count(html) >= 1, name
        leaked = sorted(v for v in values if v in html)
        assert not leaked, f"{name} shows {len(leaked)} record value(s)"
        assert_offline(html, source=name)


def test_record_views_for_the_work_folder_show_the_records(model: Trained) -> None:
    views = _record_views(model, include_records=True)
    # the sentinel pair's ids in its waterfall; its values in the examples and the cluster
    assert SENTINEL_IDS[0] in views["waterfall"] and SENTINEL_IDS[3] in views["waterfall"]
    for name in ("comparison viewer", "cluster studio"):
        shown = [v for v in SENTINELS.values() if v in views[name]]
        assert shown == list(SENTINELS.values()), name
    for name, html in views.items():
        assert_offline(html, source=name)


def test_match_weight_chart_draws_each_levels_weight(model: Trained) -> None:
    params = model.linker.parameters
    html = charts.match_weight_chart(params)
    for name in params.comparisons:
        for weight in params.weights(name):
            assert f">{weight:+.2f}</text>" in html
    assert f">{params.prior_weight():+.2f}</text>" in html


def test_m_u_chart_prints_a_tiny_m_instead_of_rounding_it_to_zero() -> None:
    params = ModelParameters(
        0.01,
        {
            "dob": ComparisonParameters(
                "dob", ["all other", "dob exact"], [3.2e-5, 0.99997], [0.9, 0.1]
            )
        },
    )
    html = charts.m_u_chart(params)
    assert "3.20e-05" in html and "0.9" in html and ">0<" not in html


def test_waterfall_ends_at_the_pairs_predicted_weight(model: Trained) -> None:
    pair = _sentinel_pair(model)
    html = charts.waterfall_chart(model.linker.explain(pair))
    assert f"weight {pair['match_weight'][0]:+.2f}" in html
    assert f"probability {pair['match_probability'][0]:.4f}" in html
    assert "pair 1" in html and SENTINEL_IDS[0] not in html


def test_comparison_viewer_counts_the_commonest_pattern(model: Trained) -> None:
    gammas = [c.gamma_column for c in model.linker.comparisons]
    commonest = model.pairs.group_by(gammas).len().select(pl.col("len").max()).item()
    html = charts.comparison_viewer(model.pairs, model.linker.comparisons, top=3)
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", html)
    assert first_row is not None
    assert f'<td class="n">{commonest}</td>' in first_row.group(1)
    with pytest.raises(ChartError, match="gamma_surname"):
        charts.comparison_viewer(model.pairs.drop("gamma_surname"), model.linker.comparisons)


def test_cluster_studio_reports_sizes(model: Trained) -> None:
    html = charts.cluster_studio(model.clusters)
    clusters = model.clusters["cluster_id"].n_unique()
    assert f"{clusters} clusters of {model.clusters.height} records" in html
    assert "the largest cluster has 6 records" in html  # the three sentinel copies per side


def test_a_record_with_nothing_to_compare_scores_only_the_prior(model: Trained) -> None:
    empty = model.left.head(1).with_columns(
        pl.lit("EMPTY1").alias("record_id"),
        *(pl.lit(None, dtype=pl.String).alias(c) for c in model.left.columns if c != "record_id"),
    )
    records = pl.concat([model.left.head(50), empty])
    params = model.linker.parameters
    weights = charts.self_match_weights(model.linker.settings, params, records)
    assert weights.len() == 51
    assert weights.min() == pytest.approx(params.prior_weight())
    html = charts.unlinkables_chart(weights, match=0.9)
    assert "1 (2.0%) cannot reach the match threshold" in html


def test_external_references_are_found_and_namespaces_are_not() -> None:
    clean = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<a href="#top"></a><image href="data:image/png;base64,AAAA"/></svg>'
    )
    assert external_references(clean) == []
    for bad in (
        '<script src="https://cdn.example/vega.js"></script>',
        '<img src="logo.png">',
        '<link rel="stylesheet" href="style.css">',
        "<style>@import 'x.css'</style>",
        "<div style=\"background:url('//host/x.png')\"></div>",
        "see https://example.org",
    ):
        assert external_references(clean + bad), bad
        with pytest.raises(ChartError, match="external reference"):
            assert_offline(bad)


def test_chart_tests_check_each_spec_against_the_schema() -> None:
    chart = alt.Chart(alt.Data(values=[{"a": 1}])).mark_bar().encode(x=alt.X("a:Q", bin=7))
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        render.svg(chart)
