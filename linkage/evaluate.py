"""Evaluation: labelled metrics, threshold sweeps, and unsupervised estimates from the posterior.

Automatic threshold rule: choose the probability cut that maximises the *expected* F1 under the
model's own posterior, F1(t) = 2 * sum_{p>=t} p / (#{p>=t} + sum_all p), where the sums run over
all candidate pairs. It needs no labels; if the model is well calibrated it is the F1-optimal
cut, and it falls back to 0.5 when there are no candidate pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from linkage.blocking import LinkType


@dataclass(frozen=True)
class Metrics:
    """Confusion counts and the usual ratios (0.0 when undefined)."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _normalise(pairs: pl.DataFrame, link_type: LinkType) -> pl.DataFrame:
    """Id pairs as (a, b); unordered for dedupe, so (x, y) and (y, x) are the same link."""
    out = pairs.select(pl.col("id_l").alias("a"), pl.col("id_r").alias("b"))
    if link_type == "dedupe_only":
        out = out.select(
            pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b")
        )
    return out.unique()


def _metrics(threshold: float, tp: int, n_pred: int, n_true: int) -> Metrics:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(threshold, tp, n_pred - tp, n_true - tp, precision, recall, f1)


def threshold_sweep(
    pairs: pl.DataFrame,
    true_links: pl.DataFrame,
    thresholds: Sequence[float],
    *,
    link_type: LinkType = "link_only",
) -> pl.DataFrame:
    """Precision, recall and F1 at each probability threshold against labelled links.

    ``pairs`` needs ``id_l, id_r, match_probability``; ``true_links`` needs ``id_l, id_r``.
    True links absent from ``pairs`` (missed by blocking) count as false negatives.
    """
    truth = _normalise(true_links, link_type).with_columns(pl.lit(True).alias("is_match"))
    scored = pairs.select("id_l", "id_r", "match_probability")
    if link_type == "dedupe_only":
        scored = scored.select(
            pl.min_horizontal("id_l", "id_r").alias("a"),
            pl.max_horizontal("id_l", "id_r").alias("b"),
            "match_probability",
        )
    else:
        scored = scored.rename({"id_l": "a", "id_r": "b"})
    scored = scored.group_by("a", "b").agg(pl.col("match_probability").max())
    joined = scored.join(truth, on=["a", "b"], how="left").with_columns(
        pl.col("is_match").fill_null(False)
    )
    probs = joined["match_probability"].to_numpy()
    is_match = joined["is_match"].to_numpy()
    rows = []
    for t in thresholds:
        above = probs >= t
        rows.append(
            _metrics(
                float(t), int((above & is_match).sum()), int(above.sum()), truth.height
            ).to_dict()
        )
    return pl.DataFrame(rows)


def evaluate(
    pairs: pl.DataFrame,
    true_links: pl.DataFrame,
    threshold: float,
    *,
    link_type: LinkType = "link_only",
) -> Metrics:
    """Metrics at one probability threshold (see :func:`threshold_sweep`)."""
    row = threshold_sweep(pairs, true_links, [threshold], link_type=link_type).row(0, named=True)
    return Metrics(**row)


@dataclass(frozen=True)
class PosteriorSummary:
    """Unsupervised estimates from the posterior of all candidate pairs. ``reliable`` is
    False when the model's checks (:mod:`linkage.checks`) found it at odds with the data,
    with the failed checks in ``unreliable_because``."""

    expected_matches: float
    auto_threshold: float
    expected_precision: float
    expected_recall: float
    expected_f1: float
    reliable: bool = True
    unreliable_because: tuple[str, ...] = ()


def histogram_sql(scored: str, *, counts: str | None = None) -> str:
    """The histogram :func:`posterior_summary` reads, from a query of scored pairs: bins of
    0.01 in match weight (narrower than any threshold of interest). With ``counts``, each
    row stands for that column's number of pairs (scored scoring patterns)."""
    pairs = "count(*)" if counts is None else f"sum({counts})"
    total = "match_probability" if counts is None else f"match_probability * {counts}"
    return (
        f"SELECT min(match_probability) AS probability, CAST({pairs} AS BIGINT) AS pairs, "
        f"sum({total}) AS sum_probability FROM ({scored}) "
        f"GROUP BY round(match_weight, 2)"
    )


def expected_f1_curve(
    histogram: pl.DataFrame, *, certain: int = 0, missed: float = 0.0
) -> pl.DataFrame:
    """Per cut (each bin's ``probability``, highest first): the expected precision, recall and
    F1 of linking every pair at or above it, under the model's posterior (module docstring).

    ``certain``: links made at every cut and known to be right (a shared identifier): they add
    to both the links and the expected matches. ``missed``: expected matches that no cut on
    this histogram links (probability held by pairs that are never linked).
    """
    h = histogram.sort("probability", descending=True)
    links = certain + np.cumsum(h["pairs"].to_numpy().astype(np.float64))
    right = certain + np.cumsum(h["sum_probability"].to_numpy().astype(np.float64))
    expected = certain + missed + float(h["sum_probability"].sum())
    return pl.DataFrame(
        {
            "probability": h["probability"].cast(pl.Float64),
            "expected_links": links,
            "expected_precision": right / links,
            "expected_recall": right / expected if expected else np.zeros(h.height),
            "expected_f1": 2 * right / (links + expected),
            "expected_matches": np.full(h.height, expected),
        }
    )


def posterior_summary(histogram: pl.DataFrame) -> PosteriorSummary:
    """From a histogram of candidate pairs (``probability, pairs, sum_probability`` per bin,
    bins at most as wide as the thresholds of interest), estimate the number of matches and the
    expected-F1-maximising threshold (module docstring).
    """
    if histogram.height == 0:
        return PosteriorSummary(0.0, 0.5, 0.0, 0.0, 0.0)
    curve = expected_f1_curve(histogram)
    best = curve.row(int(np.argmax(curve["expected_f1"].to_numpy())), named=True)
    return PosteriorSummary(
        expected_matches=float(best["expected_matches"]),
        auto_threshold=float(best["probability"]),
        expected_precision=float(best["expected_precision"]),
        expected_recall=float(best["expected_recall"]),
        expected_f1=float(best["expected_f1"]),
    )
