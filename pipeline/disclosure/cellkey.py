"""The cell-key method (ONS / Eurostat): the same cell always receives the same noise.

Each record carries a key 0-255 fixed for the record (the pipeline derives it with a keyed
function in :mod:`pseudonym`). A cell's key is the sum of its records' keys mod 256, and its
noise is looked up in a perturbation table (p-table) by (cell value, cell key).

ONS has not published the p-table used for Census 2021 (its parameters are kept confidential),
so this module generates one. Design, following the constraints of sdcTools' ``ptable``
package (Giessing 2016): for original value i, noise d lies in [-D, D]; i + d >= 0; published
values 1..js never occur; zero cells stay zero. Probabilities maximise entropy subject to mean
zero and variance V (p(d) proportional to exp(a*d + b*d^2); a, b solved numerically), where the
range allows it. Each probability is then rounded to a whole number of the 256 cell keys
(largest remainder), so noise for (i, key) is a pure table look-up. Rows beyond D + js are all
alike; the last row serves every larger value. Defaults D=2, V=1.05, js=1 mirror ``ptable``'s
example table ``pt_ex_cnts()``; our probabilities are our own solution, not a copy of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from pipeline.disclosure.errors import TableSpecError

KEYS = 256


@dataclass(frozen=True)
class PerturbationTable:
    """``noise[row, key]``: the noise for a cell of value ``min(value, rows - 1)`` and key."""

    max_noise: int
    variance: float
    js: int
    noise: npt.NDArray[np.int64]

    def perturb(self, values: npt.ArrayLike, cell_keys: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Perturbed counts for integer ``values`` and their cell keys (0-255)."""
        v = np.asarray(values, dtype=np.int64)
        k = np.asarray(cell_keys, dtype=np.int64)
        if v.size and (v.min() < 0 or k.min() < 0 or k.max() >= KEYS):
            raise TableSpecError("cell-key perturbation needs counts >= 0 and keys 0-255")
        rows = np.minimum(v, self.noise.shape[0] - 1)
        return v + self.noise[rows, k]

    def row_moments(self) -> list[tuple[float, float]]:
        """(mean, variance) of the noise in each row, as quantised to 256 keys."""
        out = []
        for row in self.noise:
            out.append((float(row.mean()), float(row.var())))
        return out


def cell_key(record_keys: npt.ArrayLike) -> int:
    """Sum of record keys mod 256."""
    return int(np.asarray(record_keys, dtype=np.int64).sum() % KEYS)


def make_ptable(max_noise: int = 2, variance: float = 1.05, js: int = 1) -> PerturbationTable:
    """Generate a p-table by the design in the module docstring."""
    if max_noise < 1 or variance <= 0 or js < 0:
        raise TableSpecError("p-table needs max_noise >= 1, variance > 0, js >= 0")
    rows = max_noise + js + 2
    table = np.zeros((rows, KEYS), dtype=np.int64)
    for i in range(1, rows):
        d = np.array(
            [n for n in range(-max_noise, max_noise + 1) if i + n >= 0 and not 0 < i + n <= js]
        )
        probs = _max_entropy(d, variance)
        counts = _to_keys(probs)
        table[i] = np.repeat(d, counts)
    return PerturbationTable(max_noise, variance, js, table)


def _max_entropy(d: npt.NDArray[np.int64], variance: float) -> npt.NDArray[np.float64]:
    x = d.astype(float)

    def probs(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        a, b = params
        z = a * x + b * x * x
        w = np.exp(z - z.max())
        return w / w.sum()

    def residuals(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        p = probs(params)
        mean = float(p @ x)
        # Zero mean matters most (unbiased noise); variance is met where the range allows.
        return np.array([10.0 * mean, float(p @ (x * x)) - variance])

    if x.size == 1:
        return np.ones(1)
    fit = least_squares(residuals, x0=np.array([0.0, -0.5]), bounds=([-20, -20], [20, 20]))
    return probs(fit.x)


def _to_keys(probs: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    raw = probs * KEYS
    counts = np.floor(raw).astype(np.int64)
    short = KEYS - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts
