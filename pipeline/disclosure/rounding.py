"""Rounding of published values to a base (ACRO / OpenSAFELY: base 5).

``nearest``: the nearest multiple of ``base``; ties (possible for even bases) go away from zero,
so with base 10, 15 -> 20 and -15 -> -20. ``random``: unbiased random rounding, up to the next
multiple with probability (remainder / base), else down; the expected value is the true value.
A seeded generator makes reruns identical.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def round_nearest(values: npt.ArrayLike, base: int = 5) -> npt.NDArray[np.float64]:
    """Round to the nearest multiple of ``base``, ties away from zero; NaN stays NaN."""
    x = np.asarray(values, dtype=float)
    return np.sign(x) * np.floor(np.abs(x) / base + 0.5) * base


def round_random(values: npt.ArrayLike, base: int = 5, *, seed: int = 0) -> npt.NDArray[np.float64]:
    """Unbiased random rounding to a multiple of ``base``; NaN stays NaN."""
    x = np.asarray(values, dtype=float)
    lower = np.floor(x / base) * base
    remainder = x - lower
    draws = np.random.default_rng(seed).random(x.shape)
    return np.where(draws < remainder / base, lower + base, lower)
