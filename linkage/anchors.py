"""Anchors: the comparisons a blocking rule blocks on, each at its top level.

A household shares an address; people sharing one agree on surname, unit and often date of
birth far more often than random pairs do. :mod:`linkage.dependencies` models the
comparisons that move with an anchor; this module says what an anchor is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linkage.blocking import BlockingRule
from linkage.comparisons import Comparison, ExactMatchLevel
from linkage.model import ModelParameters


@dataclass(frozen=True)
class Anchor:
    """The comparisons a blocking rule blocks on, each at its top level (an exact match):
    a pair agrees on the anchor exactly when the rule finds it."""

    parts: tuple[Comparison, ...]
    tops: tuple[int, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.parts)

    def columns(self, upto: int | None = None) -> list[str]:
        """Columns the top levels of the first ``upto`` parts (all by default) match on."""
        return list(dict.fromkeys(_top_level(c).column for c in self.parts[:upto]))

    def rows(
        self, comparisons: Sequence[Comparison], patterns: np.ndarray, upto: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(top, other)`` masks of pattern rows for the first ``upto`` parts."""
        cols = [patterns[:, comparisons.index(c)] for c in self.parts[:upto]]
        top = np.logical_and.reduce([g == t for g, t in zip(cols, self.tops, strict=False)])
        known = np.logical_and.reduce([g >= 0 for g in cols])
        return top, known & ~top


def anchor_of(
    rule: BlockingRule, comparisons: Sequence[Comparison], params: ModelParameters
) -> Anchor | None:
    """The anchor a rule defines: every comparison reading only columns the rule blocks on,
    together reading all of them, each with an exact match as its top level."""
    parts = [c for c in comparisons if c.columns() and set(c.columns()) <= set(rule.columns)]
    if not parts or {col for c in parts for col in c.columns()} != set(rule.columns):
        return None
    tops = [next(v for v in c.levels if not v.is_null_level) for c in parts]
    if not all(isinstance(v, ExactMatchLevel) for v in tops):
        return None
    return Anchor(tuple(parts), tuple(len(params.comparisons[c.name].m) - 1 for c in parts))


def exact_top(comparison: Comparison) -> ExactMatchLevel | None:
    """The comparison's most similar level when it is an exact match on one column."""
    top = next((v for v in comparison.levels if not v.is_null_level), None)
    return top if isinstance(top, ExactMatchLevel) else None


def _top_level(comparison: Comparison) -> ExactMatchLevel:
    top = next(v for v in comparison.levels if not v.is_null_level)
    assert isinstance(top, ExactMatchLevel)
    return top
