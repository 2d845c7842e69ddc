"""How much of a suppressed cell an intruder can recover (linear programming), and secondary
suppression that leaves no cell recoverable.

This is the suppression *audit* of the SDC literature (tau-Argus's "audit"); not the run's
audit log, which is :mod:`pipeline.audit`.

An intruder who sees every published cell of an additive table (interior cells and margins)
knows each margin equals the sum of the interior cells it covers, and that cells are
non-negative (counts; sums of non-negative values). For every suppressed cell the audit computes
the tightest interval those facts imply: the minimum and maximum of the cell over all interior
values consistent with the published cells, by two linear programmes (``scipy.optimize.linprog``,
HiGHS). A suppressed cell is *exposed* when that interval is no wider than the protection
interval (default 0: exactly recoverable).

Secondary suppression (the hypercube heuristic, as in tau-Argus's hypercube method, not its
optimal model): while a cell is exposed, suppress the cheapest hypercube of cells through it
(a rectangle in a 2-way table, margins counting as one more category), re-audit, repeat. Every
round suppresses at least one more cell, so it ends, at worst with every cell suppressed.

The LP is the continuous relaxation: for 1- and 2-way tables its bounds are integral; for
3-way and larger tables integer bounds can be tighter than the LP's.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import linprog

from pipeline.disclosure.errors import UnsafeTable
from pipeline.disclosure.tables import TOTAL

logger = logging.getLogger(__name__)

_TOL = 1e-7


@dataclass(frozen=True)
class CellInterval:
    """What an intruder can infer about suppressed cell ``index`` (row in the cell table)."""

    index: int
    lower: float
    upper: float
    exposed: bool

    @property
    def width(self) -> float:
        return self.upper - self.lower


def coverage_matrix(cells: pl.DataFrame, by: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Boolean (cells x interior cells): does cell i's sum include interior cell j?"""
    keys = cells.select(by).to_numpy().astype(str)
    interior_mask = cells.get_column("interior").to_numpy()
    interior = keys[interior_mask]
    cover = np.ones((keys.shape[0], interior.shape[0]), dtype=bool)
    for d in range(len(by)):
        column = keys[:, d][:, None]
        cover &= (column == TOTAL) | (column == interior[:, d][None, :])
    return cover


def audit_suppression(
    cover: npt.NDArray[np.bool_],
    values: npt.NDArray[np.float64],
    suppressed: npt.NDArray[np.bool_],
    *,
    nonnegative: bool = True,
    protection_interval: float = 0.0,
) -> list[CellInterval]:
    """Interval of every suppressed cell implied by the published cells; see module docstring."""
    return _intervals(cover, values, suppressed, suppressed, nonnegative, protection_interval)


def _intervals(
    cover: npt.NDArray[np.bool_],
    values: npt.NDArray[np.float64],
    suppressed: npt.NDArray[np.bool_],
    targets: npt.NDArray[np.bool_],
    nonnegative: bool,
    protection_interval: float,
) -> list[CellInterval]:
    published = ~suppressed
    a_eq = cover[published].astype(float)
    b_eq = values[published]
    bounds = (0.0, None) if nonnegative else (None, None)
    results = []
    for index in np.flatnonzero(targets):
        objective = cover[index].astype(float)
        lower = _optimise(objective, a_eq, b_eq, bounds)
        upper = -_optimise(-objective, a_eq, b_eq, bounds)
        exposed = upper - lower <= protection_interval + _TOL
        results.append(CellInterval(int(index), lower, upper, bool(exposed)))
    return results


def secondary_suppression(
    cells: pl.DataFrame,
    by: Sequence[str],
    primary: npt.NDArray[np.bool_],
    *,
    nonnegative: bool = True,
    protection_interval: float = 0.0,
    value_column: str = "value",
) -> tuple[npt.NDArray[np.bool_], list[CellInterval]]:
    """Extend the ``primary`` suppression pattern until the audit of ``value_column`` finds no
    exposed cell. Returns the final pattern (primary plus secondary) and the final audit.

    Suppressing more cells removes constraints, so a cell once found protected stays protected:
    each cell is re-examined only while it is exposed, and one full audit is run at the end.
    """
    cover = coverage_matrix(cells, by)
    values = cells.get_column(value_column).to_numpy().astype(float)
    interior = cells.get_column("interior").to_numpy()
    keys = [tuple(row) for row in cells.select(by).to_numpy().astype(str)]
    suppressed = primary.copy()
    bounds = (0.0, None) if nonnegative else (None, None)
    pending = [int(i) for i in np.flatnonzero(suppressed)]
    while pending:
        index = pending[0]
        if not _exposed(cover, values, suppressed, index, bounds, protection_interval):
            pending.pop(0)
            continue
        added = _hypercube(index, keys, values, interior, suppressed)
        if not added:  # pragma: no cover - an exposed cell always has a published cell left
            raise UnsafeTable("secondary suppression found no cell left to suppress")
        suppressed[added] = True
        pending.extend(added)
        logger.debug("secondary suppression: %d cells protect cell %d", len(added), index)
    audit = audit_suppression(
        cover, values, suppressed, nonnegative=nonnegative, protection_interval=protection_interval
    )
    return suppressed, audit


def _exposed(
    cover: npt.NDArray[np.bool_],
    values: npt.NDArray[np.float64],
    suppressed: npt.NDArray[np.bool_],
    index: int,
    bounds: tuple[float | None, float | None],
    protection_interval: float,
) -> bool:
    """Is suppressed cell ``index`` pinned to within the protection interval? The true value
    lies in [lower, upper], so a lower bound far enough below it settles the question with one
    linear programme instead of two."""
    published = ~suppressed
    a_eq, b_eq = cover[published].astype(float), values[published]
    objective = cover[index].astype(float)
    lower = _optimise(objective, a_eq, b_eq, bounds)
    if values[index] - lower > protection_interval + _TOL:
        return False
    upper = -_optimise(-objective, a_eq, b_eq, bounds)
    return bool(upper - lower <= protection_interval + _TOL)


# Suppressing a margin costs this much more than any interior cell: margins are kept if possible.
_MARGIN_PENALTY = 1e12
_MAX_CUBES = 20_000


def _hypercube(
    index: int,
    keys: list[tuple[str, ...]],
    values: npt.NDArray[np.float64],
    interior: npt.NDArray[np.bool_],
    suppressed: npt.NDArray[np.bool_],
) -> list[int]:
    """Cells to add so that ``index`` sits on a suppressed hypercube (a rectangle in 2-D).

    Margins count as one more category of each variable, so a suppressed margin is protected
    the same way. Among hypercubes that add at least one cell, the one whose new cells have the
    smallest total value is taken (margins last); without any, the cheapest published cell.
    """
    lookup = {key: i for i, key in enumerate(keys)}
    own = keys[index]
    alternatives = [sorted({key[d] for key in keys} - {own[d]}) for d in range(len(own))]
    best: tuple[float, list[int]] | None = None
    for count, choice in enumerate(itertools.product(*alternatives)):
        if count >= _MAX_CUBES:
            break
        corners = itertools.product(*[(own[d], choice[d]) for d in range(len(own))])
        members = [lookup.get(corner) for corner in corners]
        if any(m is None for m in members):
            continue
        new = [m for m in members if m is not None and not suppressed[m]]
        if not new:
            continue
        cost = sum(abs(values[m]) + (0.0 if interior[m] else _MARGIN_PENALTY) for m in new)
        if best is None or cost < best[0]:
            best = (cost, new)
    if best is not None:
        return best[1]
    published = np.flatnonzero(~suppressed)
    if published.size == 0:
        return []
    cheapest = min(published, key=lambda i: (not interior[i], abs(values[i]), i))
    return [int(cheapest)]


def _optimise(
    objective: npt.NDArray[np.float64],
    a_eq: npt.NDArray[np.float64],
    b_eq: npt.NDArray[np.float64],
    bounds: tuple[float | None, float | None],
) -> float:
    kwargs = {"A_eq": a_eq, "b_eq": b_eq} if a_eq.shape[0] else {}
    res = linprog(objective, bounds=bounds, method="highs", **kwargs)
    if res.status == 3:  # unbounded: the intruder learns nothing on this side
        return -np.inf
    if res.status != 0:
        raise UnsafeTable(f"suppression audit could not solve its linear programme: {res.message}")
    return float(res.fun)
