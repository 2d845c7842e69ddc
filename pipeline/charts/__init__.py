"""Charts for the offline HTML reports, drawn with Altair (Vega-Lite) and rendered to static
SVG by vl-convert: no script, no CDN, nothing fetched, so a report opens from a file share
inside a TRE with no network.

Every function returns an HTML fragment (``<figure>`` with the SVG and a caption, sometimes a
table); put :data:`CHART_CSS` in the page's ``<style>``. Model and count views
(:func:`match_weight_chart`, :func:`m_u_chart`, :func:`weight_distribution_chart`,
:func:`unlinkables_chart`, :func:`training_chart`) never show a record's value and suit a
delivered report. Record views (:func:`waterfall_chart`, :func:`comparison_viewer`,
:func:`cluster_studio`) show identifiers and values only with ``include_records=True``, for
reports kept in the work folder; by default they show labels, weights and counts only.
:func:`assert_offline` checks a finished page fetches nothing.
"""

from pipeline.charts.clusters import cluster_studio, self_match_weights, unlinkables_chart
from pipeline.charts.model import (
    floored_text,
    m_u_chart,
    m_u_table,
    match_weight_chart,
    rebin,
    weight_distribution_chart,
    weight_histogram_chart,
)
from pipeline.charts.pairs import comparison_viewer, waterfall_chart, waterfall_svg
from pipeline.charts.render import CHART_CSS, ChartError, assert_offline, external_references
from pipeline.charts.training import (
    TrainingLog,
    TrainingPass,
    record_training,
    training_chart,
    warnings_list,
)

__all__ = [
    "CHART_CSS",
    "ChartError",
    "TrainingLog",
    "TrainingPass",
    "assert_offline",
    "cluster_studio",
    "comparison_viewer",
    "external_references",
    "floored_text",
    "m_u_chart",
    "m_u_table",
    "match_weight_chart",
    "rebin",
    "record_training",
    "self_match_weights",
    "training_chart",
    "unlinkables_chart",
    "warnings_list",
    "waterfall_chart",
    "waterfall_svg",
    "weight_distribution_chart",
    "weight_histogram_chart",
]
