"""Anchors with a part missing: how often the pairs agreeing on the rest agree on it too.

A dependency (:class:`~linkage.model.Dependency`) conditions a comparison on its anchor at
its top level, when every part agrees; a pair with a part of the anchor null used the
comparison's ordinary m/u, as if the two records had nothing in common. A house number left
blank on one record says nothing about where its person lives: deduplicating pseudopeople's
census, ACS and CPS, twins (surname, date of birth and street name the same, street number
missing on one record) were scored on surname and date of birth agreeing as among strangers,
+10 and +14 bits, and linked at p 0.97-0.99 although first name and middle initial
disagreed (7 of the 21 false links at the automatic threshold at noise seed 6).

Such a pair is in the top state with the probability that pairs agreeing on the other parts
agree on the missing one too, and otherwise in the state it would be in were that part to
disagree (partial, for a household key's parts after its prefix, or other). For
non-matches the probability comes from exact counts of agreeing record pairs, the matches
among them taken out (as the joint anchor's are); for matches it is the part's own m at its
top. The dependency keeps both (``Dependency.missing``), and its weight there mixes m and u
in those proportions (``Dependency.missing_weights``). Only one missing part at a time is
modelled; a pair missing two parts keeps the ordinary m/u.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from linkage.anchors import exact_top
from linkage.model import Dependency
from linkage.patterns import TrainingBase

logger = logging.getLogger("linkage.dependencies")


class MissingPartTraining(TrainingBase):
    """How often an anchor's missing part would agree (see the module docstring)."""

    @abstractmethod
    def _agreeing_pairs(self, columns: Sequence[str], present: Sequence[str] = ()) -> int:
        """Record pairs equal and non-null on ``columns`` (and non-null on ``present``)."""

    @abstractmethod
    def _expected_matches(self) -> float:
        """Matches the model as trained so far expects among all record pairs."""

    def _add_missing_parts(self, dependencies: dict[str, Dependency]) -> None:
        """Fill ``missing`` of every dependency on an anchor of several parts, each an exact
        match on one column: per part, the shares of non-matches and of matches agreeing on
        the other parts that agree on it too."""
        found: dict[tuple[tuple[str, ...], str], tuple[float, float] | None] = {}
        matches: float | None = None
        for name, dep in dependencies.items():
            if len(dep.anchor) < 2:
                continue
            if matches is None:
                matches = self._expected_matches()
            for part in dep.anchor:
                key = (dep.anchor, part)
                if key not in found:
                    found[key] = self._part_agreement(dep.anchor, part, matches)
                shares = found[key]
                if shares is not None:
                    dep.missing[part] = shares
                    logger.info(
                        "%s given %s with %s missing: %.3g of non-matches agreeing on the "
                        "rest agree on it",
                        name,
                        " + ".join(dep.anchor),
                        part,
                        shares[0],
                    )

    def _part_agreement(
        self, anchor: tuple[str, ...], part: str, matches: float
    ) -> tuple[float, float] | None:
        """(non-matches, matches): the shares of the pairs agreeing on every part of
        ``anchor`` but ``part`` (and not missing it) that agree on ``part`` too; None when a
        part is not an exact match on one column or no non-match agrees on the others."""
        by_name = {c.name: c for c in self.comparisons}
        tops = [exact_top(by_name[a]) for a in anchor]
        if any(t is None for t in tops):
            return None
        columns = [t.column for t in tops if t is not None]
        m_top = {a: float(self.parameters.comparisons[a].m[-1] or 0.0) for a in anchor}
        i = anchor.index(part)
        others = [c for k, c in enumerate(columns) if k != i]
        # matches agreeing on the other parts: the model's matches kept by each part's m
        agree_rest = matches * float(np.prod([m_top[a] for a in anchor if a != part]))
        rest = self._agreeing_pairs(others, present=[columns[i]]) - agree_rest
        if rest < 1.0:
            return None
        full = self._agreeing_pairs(columns) - agree_rest * m_top[part]
        return min(max(full / rest, 0.0), 1.0), m_top[part]
