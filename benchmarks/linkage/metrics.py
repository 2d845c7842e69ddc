"""Precision, recall and F1 of predicted pairs against true pairs: one function for every tool.

Pairs are ``(id_l, id_r)``; a tool's output also carries ``match_probability`` and, where the
tool has one, ``match_weight`` (log2 odds). Recall is measured against *all* true pairs,
including those no blocking rule reaches, so a tool is not rewarded for blocking that hides
its misses. The best-threshold sweep ranks pairs by weight when given: probabilities of
pairs with weights above ~53 all round to 1.0 and could not be told apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

PAIR_COLUMNS = ("id_l", "id_r")


@dataclass(frozen=True)
class PairMetrics:
    """Quality of one tool's predictions."""

    threshold: float
    precision: float
    recall: float
    f1: float
    best_threshold: float
    best_precision: float
    best_recall: float
    best_f1: float
    best_weight: float | None
    true_pairs: int
    predicted_pairs: int
    true_pairs_in_output: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _labelled(pred: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct predicted pair (highest probability kept) with ``is_match``."""
    missing = [c for c in (*PAIR_COLUMNS, "match_probability") if c not in pred.columns]
    if missing:
        raise ValueError(f"predicted pairs lack columns {missing}")
    scores = [pl.col("match_probability").cast(pl.Float64)]
    if "match_weight" in pred.columns:
        scores.append(pl.col("match_weight").cast(pl.Float64))
    pred = pred.select(*PAIR_COLUMNS, *scores)
    truth = truth.select(*PAIR_COLUMNS)
    # Join keys must share a type; generators and tools may disagree (int vs str ids).
    for col in PAIR_COLUMNS:
        if pred.schema[col] != truth.schema[col]:
            pred = pred.with_columns(pl.col(col).cast(pl.String))
            truth = truth.with_columns(pl.col(col).cast(pl.String))
    pred = pred.group_by(PAIR_COLUMNS).agg(pl.all().max())
    flagged = truth.unique().with_columns(pl.lit(True).alias("is_match"))
    return pred.join(flagged, on=list(PAIR_COLUMNS), how="left").with_columns(
        pl.col("is_match").fill_null(False)
    )


def evaluate_pairs(pred: pl.DataFrame, truth: pl.DataFrame, *, threshold: float) -> PairMetrics:
    """Score ``pred`` (id_l, id_r, match_probability) against ``truth`` (id_l, id_r).

    Headline figures count pairs with ``match_probability >= threshold`` as links; the
    ``best_*`` figures come from sweeping every distinct probability as the threshold.

    >>> truth = pl.DataFrame({"id_l": [1, 2], "id_r": [1, 2]})
    >>> pred = pl.DataFrame({"id_l": [1, 2, 3], "id_r": [1, 3, 3],
    ...                      "match_probability": [0.9, 0.6, 0.4]})
    >>> m = evaluate_pairs(pred, truth, threshold=0.5)
    >>> (m.precision, m.recall, m.best_f1)
    (0.5, 0.5, 0.6666666666666666)
    """
    n_true = truth.select(*PAIR_COLUMNS).unique().height
    labelled = _labelled(pred, truth)
    above = labelled.filter(pl.col("match_probability") >= threshold)
    tp = int(above["is_match"].sum())
    precision = tp / above.height if above.height else 0.0
    recall = tp / n_true if n_true else 0.0

    best = (0.0, 0.0, 0.0, 1.0)  # f1, precision, recall, threshold
    best_weight = None
    rank = "match_weight" if "match_weight" in labelled.columns else "match_probability"
    if labelled.height and n_true:
        ordered = labelled.sort(rank, descending=True)
        probs = ordered["match_probability"].to_numpy()
        key = ordered[rank].to_numpy()
        cum_tp = np.cumsum(ordered["is_match"].to_numpy().astype(np.int64))
        # Only the last position of a run of equal scores is a reachable cut.
        cut = np.flatnonzero(np.append(key[1:] != key[:-1], True))
        prec = cum_tp[cut] / (cut + 1)
        rec = cum_tp[cut] / n_true
        denom = prec + rec
        f1 = np.divide(2 * prec * rec, denom, out=np.zeros_like(denom), where=denom > 0)
        i = int(np.argmax(f1))
        best = (float(f1[i]), float(prec[i]), float(rec[i]), float(probs[cut[i]]))
        if rank == "match_weight":
            best_weight = float(key[cut[i]])

    return PairMetrics(
        threshold=threshold,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        best_threshold=best[3],
        best_precision=best[1],
        best_recall=best[2],
        best_f1=best[0],
        best_weight=best_weight,
        true_pairs=n_true,
        predicted_pairs=above.height,
        true_pairs_in_output=int(labelled["is_match"].sum()),
    )
