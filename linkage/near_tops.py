"""A typo in one part of an address: the household model's anchor held at a similar level.

A dependency (:class:`~linkage.model.Dependency`) gives its comparison household-conditional
m/u where every anchor part is at its top level, an exact match. Two records of one
building whose street names differ by a typo are then "neighbours elsewhere": a shared
surname and birth date count at their random-pair rates, several bits more than the same
agreement at the exact address (on the pseudopeople census, twins with a misspelt street
were confident false links). Whether a level just below the top is the same place misspelt
or another place is a fact of the data, so it is counted: among record pairs agreeing
exactly on the anchor's other parts (the same street number), the share agreeing on the
dependents where the part is at its near level is set against the shares where it is at
its top and where it is below. When the near share is closer to the top one (on a log
scale) than to the other one, the near level joins the top state of every dependency on an
anchor holding that part (:attr:`~linkage.model.Dependency.anchor_top` is the lowest gamma
counted as the top).
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from linkage.anchors import exact_top
from linkage.blocking import RID
from linkage.comparisons import Comparison, ElseLevel
from linkage.model import Dependency
from linkage.patterns import TrainingBase
from linkage.sql import quote
from linkage.tables import LEFT_TABLE

logger = logging.getLogger("linkage.dependencies")

#: Record pairs sharing an anchor's other parts above which they are not enumerated
MAX_NEAR_PAIRS = 2_000_000
#: Pairs at the near level needed before it is judged
MIN_NEAR_PAIRS = 200


class NearShares(NamedTuple):
    """Dependents agreed on per pair, among pairs sharing the anchor's other parts, with
    the part at its top level, at its near level and below it."""

    top: float
    near: float
    below: float
    near_pairs: float

    def like_top(self) -> bool:
        if self.near_pairs < MIN_NEAR_PAIRS or min(self.top, self.near, self.below) <= 0.0:
            return False
        return abs(math.log(self.near / self.top)) < abs(math.log(self.near / self.below))


class NearTopTraining(TrainingBase):
    """Widening dependencies' top anchor state to a similar level (see the module)."""

    @property
    @abstractmethod
    def right_table(self) -> str:
        """The loaded table pairs' right records come from (the left one in a dedupe)."""

    @abstractmethod
    def _agreeing_pairs(self, columns: Sequence[str], present: Sequence[str] = ()) -> int:
        """Record pairs equal and non-null on ``columns`` (see :class:`HouseholdKeyTraining`)."""

    @abstractmethod
    def _gamma_select(self, comparisons: Sequence[Comparison]) -> str:
        """SELECT list of the comparisons' gamma columns over record pairs ``l``, ``r``."""

    @abstractmethod
    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of ``columns`` among the rows of ``sql`` and their counts."""

    def _widen_near_tops(self, dependencies: dict[str, Dependency]) -> None:
        """Lower the top gamma of each anchor part whose near level behaves like its top."""
        by_name = {c.name: c for c in self.comparisons}
        anchors = {d.anchor for d in dependencies.values() if len(d.anchor) > 1}
        judged: set[str] = set()  # each part once, on the shortest anchor holding it
        for anchor in sorted(anchors, key=len):
            parts = [by_name[a] for a in anchor]
            if any(exact_top(c) is None for c in parts):
                continue
            dependents = [by_name[n] for n, d in dependencies.items() if d.anchor == anchor]
            dependents = [c for c in dependents if exact_top(c) is not None]
            for i, part in enumerate(parts):
                near = _near_level(part, self.parameters.comparisons[part.name].m)
                if near is None or not dependents or part.name in judged:
                    continue
                judged.add(part.name)
                others = [c for k, c in enumerate(parts) if k != i]
                shares = self._near_shares(others, part, dependents, near)
                if shares is None:
                    continue
                logger.info(
                    "%s given %s: dependents agreed per pair %.3g at its top, %.3g near it "
                    "(%.0f pairs), %.3g below",
                    part.name,
                    " + ".join(c.name for c in others),
                    shares.top,
                    shares.near,
                    shares.near_pairs,
                    shares.below,
                )
                if shares.like_top():
                    _lower_top(dependencies, part.name, near)

    def _near_shares(
        self,
        others: Sequence[Comparison],
        part: Comparison,
        dependents: Sequence[Comparison],
        near: int,
    ) -> NearShares | None:
        """Dependents agreed on per pair by ``part``'s level, among the record pairs equal
        on the other parts; None when those are too many to enumerate."""
        columns = [exact_top(c).column for c in others]  # type: ignore[union-attr]
        if self._agreeing_pairs(columns) > MAX_NEAR_PAIRS:
            return None
        used = [part, *dependents]
        patterns, counts = self._patterns(
            self._pairs_sharing_sql(columns, used), [c.gamma_column for c in used]
        )
        top = len(self.parameters.comparisons[part.name].m) - 1
        level = patterns[:, 0]
        agreed = np.zeros(len(counts))
        for j, c in enumerate(dependents, start=1):
            agreed += patterns[:, j] == len(self.parameters.comparisons[c.name].m) - 1

        def per_pair(rows: np.ndarray) -> tuple[float, float]:
            n = float(counts[rows].sum())
            return float((agreed * counts)[rows].sum()) / max(n, 1.0), n

        near_share, near_pairs = per_pair(level == near)
        below = (level >= 0) & (level < near)
        return NearShares(per_pair(level == top)[0], near_share, per_pair(below)[0], near_pairs)

    def _pairs_sharing_sql(self, columns: Sequence[str], used: Sequence[Comparison]) -> str:
        left, right = LEFT_TABLE, self.right_table
        on = " AND ".join(f"l.{quote(c)} = r.{quote(c)}" for c in columns)
        where = f" WHERE l.{quote(RID)} < r.{quote(RID)}" if left == right else ""
        gammas = self._gamma_select(used)
        return f"SELECT {gammas} FROM {quote(left)} l JOIN {quote(right)} r ON {on}{where}"


def _near_level(comparison: Comparison, m: Sequence[float | None]) -> int | None:
    """The gamma just below the top when it is a similarity level (not the catch-all)."""
    levels = [v for v in comparison.levels if not v.is_null_level]
    if len(levels) < 3 or isinstance(levels[1], ElseLevel):
        return None
    return len(m) - 2


def _lower_top(dependencies: dict[str, Dependency], part: str, near: int) -> None:
    for dep in dependencies.values():
        if len(dep.anchor) > 1 and part in dep.anchor:
            i = dep.anchor.index(part)
            tops = list(dep.anchor_top)
            tops[i] = min(tops[i], near)
            dep.anchor_top = tuple(tops)
