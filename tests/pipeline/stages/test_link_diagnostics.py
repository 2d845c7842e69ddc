"""The link stage's diagnostics for the report (pipeline/stages/link_diagnostics.py): the
histogram counted in the database matches the scored pairs, and the self-match counts cover
the (sampled) records."""

from __future__ import annotations

import math

import polars as pl

from pipeline.charts import rebin
from pipeline.stages.link_diagnostics import self_match_histogram, weight_histogram
from tests.pipeline.charts.charts_support import trained


def test_weight_histogram_counts_every_candidate_pair_in_its_bin() -> None:
    model = trained()
    bins = weight_histogram(model.linker, width=0.5)
    expected = (
        model.pairs.select((pl.col("match_weight").cast(pl.Float64) / 0.5).floor().alias("b"))
        .group_by("b")
        .len()
        .sort("b")
    )
    assert bins == [[b * 0.5, n] for b, n in expected.iter_rows()]
    assert sum(n for _, n in bins) == model.pairs.height


def test_rebinning_keeps_every_pair_and_whole_bins() -> None:
    counts = [[-3.0, 2], [-2.75, 1], [0.0, 4], [9.75, 5]]
    merged = rebin(counts, 0.25, bins=4)
    assert sum(n for _, _, n in merged) == 12
    widths = {round(end - start, 9) for start, end, _ in merged}
    assert len(widths) == 1 and math.isclose(widths.pop() / 0.25 % 1, 0)
    assert merged[0][0] <= -3.0 and merged[-1][1] >= 10.0


def test_self_match_counts_a_sample_of_the_records() -> None:
    model = trained()
    records = model.left
    full = self_match_histogram(model.linker, records)
    assert full["records"] == full["sampled_from"] == records.height
    assert sum(n for _, n in full["weights"]) == records.height
    sampled = self_match_histogram(model.linker, records, sample=100)
    assert sampled["records"] == 100 and sampled["sampled_from"] == records.height
    assert sum(n for _, n in sampled["weights"]) == 100
