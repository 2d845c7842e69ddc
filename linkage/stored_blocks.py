"""Blocks answered from the stored comparison vectors instead of a join of the inputs.

The pairs agreeing on a prediction rule's columns are its candidates, and among them those
agreeing on another column too are the ones whose comparison on that column is at its top
level, when that level is an exact match on the column. Training asks for such blocks often:
a supplementary EM pass (first name + postcode, to train dob) and the household-key counts
(pairs agreeing on postcode + house number + surname...). At 3M x 3M each was a join or a
``GROUP BY`` over 6M records, 26 s in all; from the aggregated vectors it is a numpy mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from linkage.anchors import exact_top
from linkage.blocking import BlockingRule
from linkage.comparisons import Comparison, NullLevel
from linkage.patterns import CandidatePatterns


def same_column_keys(rule: BlockingRule) -> frozenset[str] | None:
    """The columns of a rule that is nothing but equalities of columns with themselves."""
    keys = rule.equality_keys()
    if not keys or any(a != b for a, b in keys):
        return None
    return frozenset(a for a, _ in keys)


def exact_top_column(comparison: Comparison) -> str | None:
    """The column of ``comparison``'s exact top level (:func:`linkage.anchors.exact_top`)
    when its null level, if any, tests that column: its top gamma then says ``l.c = r.c``."""
    top = exact_top(comparison)
    if top is None:
        return None
    null = comparison.levels[0]
    if null.is_null_level and not (isinstance(null, NullLevel) and null.column == top.column):
        return None
    return top.column


def stored_agreeing(
    candidates: CandidatePatterns,
    rules: Sequence[BlockingRule],
    comparisons: Sequence[Comparison],
    columns: frozenset[str],
    present: frozenset[str] = frozenset(),
) -> CandidatePatterns | None:
    """The stored vectors of the pairs equal (and non-null) on every one of ``columns`` and
    non-null on each of ``present``: the candidates of the first prediction rule on some of
    those columns, kept where the comparisons on the others are at their exact top level
    and those whose null level tests a ``present`` column are not null. None when no rule
    and comparisons can say it."""
    exact: dict[str, tuple[int, int]] = {}
    for j, c in enumerate(comparisons):
        column = exact_top_column(c)
        if column is not None:
            top = next(i.gamma for i in c.level_info() if not i.is_null)
            exact.setdefault(column, (j, top))
    known = _null_tested(comparisons)
    if not present - columns <= known.keys():
        return None
    for k, rule in enumerate(rules):
        own = same_column_keys(rule)
        if own is None or not own <= columns or not (columns - own) <= exact.keys():
            continue
        block = candidates.in_rule(k)
        keep = np.ones(len(block.counts), dtype=bool)
        for column in sorted(columns - own):
            j, top = exact[column]
            keep &= block.patterns[:, j] == top
        for column in sorted(present - columns):
            keep &= block.patterns[:, known[column]] >= 0
        return block.where(keep)
    return None


def _null_tested(comparisons: Sequence[Comparison]) -> dict[str, int]:
    """Column -> index of a comparison whose null level tests that column alone: its gamma
    is -1 exactly when either value is null."""
    found: dict[str, int] = {}
    for j, c in enumerate(comparisons):
        first = c.levels[0] if c.levels else None
        if isinstance(first, NullLevel):
            found.setdefault(first.column, j)
    return found
