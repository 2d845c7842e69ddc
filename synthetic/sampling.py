"""Skewed sampling helpers shared by the generators."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from synthetic.vocab import SURNAME_ENDINGS, SURNAME_ROOTS, SURNAMES

#: Share of people whose surname comes from the embedded list of common surnames; the rest get
#: a rarer toponymic surname. With it SMITH is ~2% of people (1-1.5% in GB registers).
COMMON_SURNAME_SHARE = 0.65


def zipf_weights(size: int, exponent: float) -> npt.NDArray[np.float64]:
    """Probabilities proportional to 1 / (k + 1)**exponent for k in 0..size-1."""
    weights = 1.0 / np.arange(1, size + 1, dtype=float) ** exponent
    return weights / weights.sum()


def weighted_indices(
    rng: np.random.Generator, probabilities: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.int64]:
    """``n`` indices drawn with the given probabilities (inverse-CDF, fast for large n)."""
    cumulative = np.cumsum(probabilities)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int64)


def zipf_indices(
    rng: np.random.Generator, size: int, n: int, exponent: float = 1.0
) -> npt.NDArray[np.int64]:
    """``n`` indices into ``size`` items, item k drawn with weight 1 / (k + 1)**exponent."""
    return weighted_indices(rng, zipf_weights(size, exponent), n)


@cache
def surname_pool() -> tuple[tuple[str, ...], npt.NDArray[np.float64]]:
    """All surnames (common list, then toponymic compounds) and their probabilities."""
    compounds = tuple(
        sorted(
            {root + ending for root in SURNAME_ROOTS for ending in SURNAME_ENDINGS} - set(SURNAMES)
        )
    )
    probabilities = np.concatenate(
        [
            COMMON_SURNAME_SHARE * zipf_weights(len(SURNAMES), 0.5),
            (1 - COMMON_SURNAME_SHARE) * zipf_weights(len(compounds), 0.3),
        ]
    )
    return SURNAMES + compounds, probabilities


def draw_surnames(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """``n`` indices into ``surname_pool()[0]``."""
    return weighted_indices(rng, surname_pool()[1], n)
