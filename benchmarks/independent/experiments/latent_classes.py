"""EXPERIMENT (not engine code): latent-class EM over comparison patterns, and how a model's
posterior scores against the truth. Used by :mod:`.diagnose` to test candidate fixes.

Winkler's census model has three classes instead of Fellegi-Sunter's two: M (same person),
H (same household, another person) and U (everyone else). Among address-blocked pairs H is
most of the non-matches, and it agrees on surname and address *jointly*, so a two-class
model that multiplies those agreements as if independent reads a household as a person.
:func:`latent_class_em` fits any number of classes, each a product of per-comparison level
probabilities; a class may be held fixed (U at the u estimated from random pairs).

Patterns are rows of gamma codes (``-1`` null: ignored, as pprl does) with a count each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FLOOR = 1e-6


@dataclass
class LatentClassFit:
    """Per-class level probabilities (``probs[c][k]``), class shares and convergence."""

    probs: list[list[FloatArray]]
    shares: FloatArray
    iterations: int
    converged: bool


def class_log_likelihood(patterns: IntArray, probs: list[FloatArray]) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for k, p in enumerate(probs):
        g = patterns[:, k]
        valid = g >= 0
        out[valid] += np.log(np.maximum(p[g[valid]], FLOOR))
    return out


def responsibilities(
    patterns: IntArray,
    probs: list[list[FloatArray]],
    shares: FloatArray,
    strata: IntArray | None = None,
) -> FloatArray:
    """P(class | pattern), one column per class. ``shares`` is one row per stratum (a row
    of a 1-D array when there are none); ``strata`` gives each pattern's row."""
    shares_2d = np.atleast_2d(shares)
    rows = np.zeros(patterns.shape[0], dtype=np.int64) if strata is None else strata
    log_shares = np.log(np.maximum(shares_2d[rows], 1e-300))
    logs = log_shares + np.stack([class_log_likelihood(patterns, p) for p in probs], axis=1)
    logs -= logs.max(axis=1, keepdims=True)
    w = np.exp(logs)
    return np.asarray(w / w.sum(axis=1, keepdims=True), dtype=np.float64)


def _shares_of_levels(g: IntArray, weights: FloatArray, n_levels: int) -> FloatArray:
    valid = g >= 0
    tallies = np.bincount(g[valid], weights=weights[valid], minlength=n_levels)
    total = tallies.sum()
    return np.full(n_levels, 1.0 / n_levels) if total <= 0 else tallies / total


def latent_class_em(
    patterns: IntArray,
    counts: FloatArray,
    init: list[list[FloatArray]],
    shares: FloatArray,
    *,
    fixed: list[bool],
    strata: IntArray | None = None,
    max_iterations: int = 500,
    tolerance: float = 1e-7,
) -> LatentClassFit:
    """EM for a mixture of independent-comparison classes; classes flagged ``fixed`` keep
    their level probabilities (their share still moves). With ``strata`` (one integer per
    pattern) every stratum has its own class shares (``shares`` gives the starting row)."""
    probs = [[np.asarray(p, dtype=np.float64).copy() for p in c] for c in init]
    rows = np.zeros(patterns.shape[0], dtype=np.int64) if strata is None else strata
    n_strata = int(rows.max()) + 1 if rows.size else 1
    shares = np.tile(np.asarray(shares, dtype=np.float64), (n_strata, 1))
    for iteration in range(1, max_iterations + 1):
        r = responsibilities(patterns, probs, shares, rows) * counts[:, None]
        sums = np.zeros_like(shares)
        np.add.at(sums, rows, r)
        new_shares = sums / np.maximum(sums.sum(axis=1, keepdims=True), 1e-300)
        new_probs = [
            probs[c]
            if fixed[c]
            else [
                _shares_of_levels(patterns[:, k], r[:, c], len(probs[c][k]))
                for k in range(patterns.shape[1])
            ]
            for c in range(len(probs))
        ]
        change = float(np.max(np.abs(new_shares - shares)))
        for old, new in zip(probs, new_probs, strict=True):
            change = max(
                change, *(float(np.max(np.abs(a - b))) for a, b in zip(old, new, strict=True))
            )
        probs, shares = new_probs, new_shares
        if change < tolerance:
            return LatentClassFit(probs, shares, iteration, True)
    return LatentClassFit(probs, shares, max_iterations, False)


@dataclass(frozen=True)
class PosteriorScore:
    """How a posterior P(match | pattern) over candidate patterns fares against the truth."""

    auto_threshold: float
    precision: float
    recall: float
    f1: float
    estimated_precision: float
    best_f1: float
    best_threshold: float
    expected_matches: float
    lambda_estimate: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in self.__dict__.items()}


def score_posterior(
    p: FloatArray, counts: FloatArray, true_counts: FloatArray, n_true: int, total_pairs: int
) -> PosteriorScore:
    """Automatic threshold by pprl's rule (maximise the expected F1 under the posterior,
    linkage.evaluate), the labelled metrics there, the best labelled F1, and lambda as the
    expected matches among candidates over all pairs (pprl's estimate_lambda)."""
    order = np.argsort(-p, kind="stable")
    p, n, t = p[order], counts[order], true_counts[order]
    # a cut can only fall between distinct probabilities
    cut = np.flatnonzero(np.append(p[1:] != p[:-1], True))
    pred, tp, exp_tp = np.cumsum(n)[cut], np.cumsum(t)[cut], np.cumsum(p * n)[cut]
    expected = float((p * n).sum())
    exp_f1 = 2 * exp_tp / (pred + expected)
    i = int(np.argmax(exp_f1))
    prec, rec = tp / pred, tp / n_true
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0.0)
    b = int(np.argmax(f1))
    return PosteriorScore(
        auto_threshold=float(p[cut[i]]),
        precision=float(prec[i]),
        recall=float(rec[i]),
        f1=float(f1[i]),
        estimated_precision=float(exp_tp[i] / pred[i]),
        best_f1=float(f1[b]),
        best_threshold=float(p[cut[b]]),
        expected_matches=expected,
        lambda_estimate=expected / total_pairs,
    )


def two_class_posterior(
    patterns: IntArray, m: list[FloatArray], u: list[FloatArray], lam: float
) -> FloatArray:
    """Fellegi-Sunter P(match | pattern) with independent comparisons."""
    log_odds = (
        np.log(lam / (1 - lam))
        + class_log_likelihood(patterns, m)
        - class_log_likelihood(patterns, u)
    )
    return np.asarray(1 / (1 + np.exp(-np.clip(log_odds, -700, 700))), dtype=np.float64)


def lambda_fixed_point(
    patterns: IntArray, counts: FloatArray, m: list[FloatArray], u: list[FloatArray], total: int
) -> float:
    """lambda = E[matches among candidates | lambda] / all pairs (pprl's estimate_lambda)."""
    lam = 1e-4
    for _ in range(500):
        new = float((two_class_posterior(patterns, m, u, lam) * counts).sum()) / total
        new = min(max(new, 1e-15), 1 - 1e-9)
        if abs(new - lam) <= 1e-9 * lam:
            break
        lam = new
    return lam
