"""EM convergence: draw comparison vectors from known m, u and lambda, check EM recovers them."""

from __future__ import annotations

import numpy as np
import pytest

from linkage.model import (
    ComparisonParameters,
    ModelParameters,
    estimate_global_lambda,
    expectation_maximisation,
    posterior,
)

TRUE_M = [
    np.array([0.05, 0.15, 0.80]),
    np.array([0.02, 0.08, 0.10, 0.80]),
    np.array([0.10, 0.90]),
    np.array([0.05, 0.25, 0.70]),
]
TRUE_U = [
    np.array([0.85, 0.10, 0.05]),
    np.array([0.70, 0.20, 0.08, 0.02]),
    np.array([0.90, 0.10]),
    np.array([0.60, 0.30, 0.10]),
]


def simulate(
    n: int, lam: float, seed: int, null_rate: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregated patterns, their counts, and the true match flag count per pattern."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < lam
    cols = []
    for m, u in zip(TRUE_M, TRUE_U, strict=True):
        g = np.where(is_match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u))
        g[rng.random(n) < null_rate] = -1
        cols.append(g)
    vectors = np.stack(cols, axis=1)
    patterns, inverse, counts = np.unique(vectors, axis=0, return_inverse=True, return_counts=True)
    matches = np.bincount(inverse.ravel(), weights=is_match, minlength=len(counts))
    return patterns.astype(np.int64), counts.astype(np.float64), matches


def flat_start(k: int) -> np.ndarray:
    raw = 4.0 ** -np.arange(k)[::-1]
    return raw / raw.sum()


def test_em_recovers_m_u_and_lambda() -> None:
    patterns, counts, _ = simulate(200_000, 0.2, seed=1)
    assert len(counts) < 300  # EM cost scales with distinct patterns, not pairs
    result = expectation_maximisation(
        patterns,
        counts,
        [flat_start(len(m)) for m in TRUE_M],
        [np.full(len(u), 1 / len(u)) for u in TRUE_U],
        0.5,
        estimate_u=True,
        max_iterations=500,
        convergence=1e-7,
    )
    assert result.converged
    assert result.lambda_ == pytest.approx(0.2, abs=0.01)
    for got, want in zip(result.m, TRUE_M, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)
    for got, want in zip(result.u, TRUE_U, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)


def test_em_with_fixed_u_recovers_m_for_rare_matches() -> None:
    patterns, counts, _ = simulate(150_000, 0.02, seed=2)
    result = expectation_maximisation(
        patterns,
        counts,
        [flat_start(len(m)) for m in TRUE_M],
        TRUE_U,
        0.1,
        max_iterations=500,
        convergence=1e-8,
    )
    assert result.lambda_ == pytest.approx(0.02, rel=0.08)
    for got, want in zip(result.m, TRUE_M, strict=True):
        np.testing.assert_allclose(got, want, atol=0.03)
    for got, want in zip(result.u, TRUE_U, strict=True):
        np.testing.assert_array_equal(got, want)  # fixed means fixed


def test_posterior_matches_bayes_rule() -> None:
    pattern = np.array([[2, 3, 1, -1]])
    lam = 0.3
    lm = TRUE_M[0][2] * TRUE_M[1][3] * TRUE_M[2][1]
    lu = TRUE_U[0][2] * TRUE_U[1][3] * TRUE_U[2][1]
    expected = lam * lm / (lam * lm + (1 - lam) * lu)
    assert posterior(pattern, TRUE_M, TRUE_U, lam)[0] == pytest.approx(expected, rel=1e-12)


def test_global_lambda_counts_expected_matches_over_all_pairs() -> None:
    # Candidates hold every match; lambda over all pairs = matches / all pairs.
    patterns, counts, matches = simulate(100_000, 0.1, seed=3)
    total_pairs = 5e7
    lam = estimate_global_lambda(patterns, counts, TRUE_M, TRUE_U, total_pairs, 1e-4)
    # The model's expected matches at that lambda equal lambda * all pairs (fixed point) ...
    expected = float((counts * posterior(patterns, TRUE_M, TRUE_U, lam)).sum())
    assert expected == pytest.approx(lam * total_pairs, rel=1e-6)
    # ... and the prior is far below the candidates' own match rate, as it must be.
    assert lam < matches.sum() / counts.sum() / 10


def test_parameters_round_trip_and_weights() -> None:
    params = ModelParameters(
        0.001, {"a": ComparisonParameters("a", ["else", "exact"], [0.1, 0.9], [0.99, 0.01])}
    )
    again = ModelParameters.from_dict(params.to_dict())
    assert again == params
    assert again.weights("a")[1] == pytest.approx(np.log2(90))
    assert again.prior_weight() == pytest.approx(np.log2(0.001 / 0.999))
