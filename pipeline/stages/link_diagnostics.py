"""What the run report shows about a trained model, gathered while the linker still holds the
records: the model (m, u, lambda), the EM passes of training, the match weights of *every*
candidate pair (not only those scored down to the review threshold) and how high each record
could score against an exact copy of itself (the unlinkables chart).

Everything here is counts, weights and level labels, JSON-ready, never a record value: it is
kept with the link stage's checkpoint and reaches the delivered report and manifest.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import polars as pl

from linkage import Linker
from linkage.predict import match_weight_sql
from linkage.tables import GAMMA_TABLE
from pipeline.charts import TrainingLog, self_match_weights
from pipeline.stages.link_records import LinkRecords

#: Width of the bins of the candidate pairs' match weights (log2 odds).
WEIGHT_BIN = 0.25
#: At most this many records are scored against themselves for the unlinkables chart (a
#: deterministic sample: the chart shows shares).
SELF_MATCH_SAMPLE = 20_000
_SEED = 2026


def weight_histogram(linker: Linker, *, width: float = WEIGHT_BIN) -> list[list[float]]:
    """``[bin start, pairs]`` for every candidate pair's match weight, in bins of ``width``.

    Counted in the linker's database over its stored comparison vectors (the same SQL that
    scores them), so the pairs never become a frame; at a million records a side that is
    tens of millions of pairs."""
    linker.ensure_gammas()
    weight = match_weight_sql(linker.comparisons, linker.parameters)
    rows = linker.backend.rows(
        f"SELECT floor(({weight}) / {width!r}) AS b, count(*) FROM {GAMMA_TABLE} "
        "GROUP BY b ORDER BY b"
    )
    return [[float(b) * width, int(n)] for b, n in rows if b is not None and math.isfinite(b)]


def self_match_histogram(
    linker: Linker, records: pl.DataFrame, *, sample: int = SELF_MATCH_SAMPLE
) -> dict[str, Any]:
    """How many of (a sample of) ``records`` reach each match weight, rounded to 0.1, against
    an exact copy of themselves: ``{"records": n, "sampled_from": N, "weights": [[w, n]]}``."""
    chosen = records if records.height <= sample else records.sample(sample, seed=_SEED)
    return _self_match(linker, chosen, records.height)


def _self_match(linker: Linker, chosen: pl.DataFrame, sampled_from: int) -> dict[str, Any]:
    weights = self_match_weights(linker.settings, linker.parameters, chosen)
    counted = pl.DataFrame({"w": weights.cast(pl.Float64).round(1)}).group_by("w").len().sort("w")
    return {
        "records": chosen.height,
        "sampled_from": sampled_from,
        "weights": [[float(w), int(n)] for w, n in counted.iter_rows()],
    }


def link_diagnostics(
    linker: Linker, records: LinkRecords, training: TrainingLog | None
) -> dict[str, Any]:
    """The model, training passes and both histograms, as the link stage keeps them (the
    self-match sample read from ``records``: the rows :func:`self_match_histogram` draws)."""
    chosen = records.sample(SELF_MATCH_SAMPLE, seed=_SEED)
    return {
        "model": linker.parameters.to_dict(),
        "training": [asdict(p) for p in training.passes] if training else [],
        "max_iterations": linker.settings.em_max_iterations,
        "weight_histogram": {"bin_width": WEIGHT_BIN, "bins": weight_histogram(linker)},
        "self_match": _self_match(linker, chosen, records.height),
    }
