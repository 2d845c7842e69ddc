"""Comparisons that move with a single blocking key among random pairs (sex with first name).

The household anchors (:mod:`linkage.dependencies`) need a block in which non-matches
dominate; without an address there is none, and the keys people are blocked on still carry
others with them: two people sharing a first name are almost always of one sex (on the
pseudopeople census, non-matches sharing a first name agree on sex 96% of the time, random
pairs 50%), so an agreeing sex added a bit of false evidence to every same-name stranger
and a disagreeing one counted four bits against a match where it is worth one.

Random pairs sharing a key are numerous when the key is a single name (a first name is
shared by a few pairs in a thousand) and almost all non-matches, so the level shares of the
other comparisons among them are their u given the key. Pairs that agree exactly on more
than half of the remaining comparisons are left out as likely matches (as in the
correlation check of the EM passes), and a key whose pairs hold more than
MAX_KEY_MATCH_SHARE matches by the model so far is not used (a postcode in a small file). A
level's conditional u is used only where at least MIN_LEVEL_PAIRS sampled pairs support it;
the other levels keep their ordinary u, capped at what the sample could have missed. A
comparison becomes dependent on the key when a supported level's u differs
DEPENDENCE_LIFT-fold from its ordinary u (as the household dependents do,
:mod:`linkage.household_keys`); comparisons with term frequencies are left alone (their
weight is per value).
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod

import numpy as np

from linkage.anchors import exact_top
from linkage.comparisons import Comparison
from linkage.household_keys import DEPENDENCE_LIFT
from linkage.model import Dependency, lambda_from_weights
from linkage.patterns import TrainingBase, level_shares, level_tallies

logger = logging.getLogger("linkage.dependencies")

#: Random pairs sharing the key needed before any conditional u is estimated there
MIN_KEY_PAIRS = 200
#: Largest share of the pairs sharing a key that may be matches (as the model trained so
#: far expects): above it the key's pairs are no sample of non-matches (a postcode in a
#: small file)
MAX_KEY_MATCH_SHARE = 0.05
#: Sampled pairs a level needs before its conditional u replaces the ordinary one
MIN_LEVEL_PAIRS = 20


class SampleDependencyTraining(TrainingBase):
    """u of comparisons given a single blocking key, from the random sample (see module)."""

    @abstractmethod
    def _top_agreement(self, comparison: Comparison) -> np.ndarray:
        """Random pairs (pattern rows) at the comparison's most similar level."""

    def _sample_dependencies(self) -> dict[str, Dependency]:
        """Dependencies on single-column keys of the prediction rules, for comparisons
        without one yet that anchor none (so no comparison is conditional on itself)."""
        held = self.parameters.dependencies
        anchors = {a for d in held.values() for a in d.anchor}
        out: dict[str, Dependency] = {}
        matches = self._expected_matches()
        for key in self._single_keys():
            dependent = key.name in held or key.name in out
            if dependent or not self._mostly_non_matches(key, matches):
                continue
            for comparison in self.comparisons:
                name = comparison.name
                taken = name in held or name in out or name in anchors
                if comparison is key or taken or comparison.tf_column:
                    continue
                dep = self._given_key(key, comparison)
                if dep is not None:
                    out[name] = dep
                    anchors.add(key.name)
                    logger.info("u of %s given %s from random pairs", name, key.name)
        return out

    def _single_keys(self) -> list[Comparison]:
        """Comparisons with an exact top level on one column that a prediction rule blocks
        on (its keys), in the order of the comparisons."""
        keyed = {col for rule in self.settings.blocking_rules for col in rule.columns}
        return [
            c
            for c in self.comparisons
            if exact_top(c) is not None and set(c.columns()) <= keyed and len(c.columns()) == 1
        ]

    def _expected_matches(self) -> float:
        """Matches the model as trained so far expects among all record pairs."""
        names = [c.name for c in self.comparisons]
        patterns, counts = self.candidates().columns(range(len(names)))
        params = self.parameters
        bf = params.log2_bayes_factors(names, patterns)
        lam = lambda_from_weights(
            bf, counts, float(self.total_pairs), params.probability_two_random_records_match
        )
        return lam * self.total_pairs

    def _mostly_non_matches(self, key: Comparison, matches: float) -> bool:
        """Are the model's ``matches`` that agree on ``key`` at most MAX_KEY_MATCH_SHARE of
        the record pairs sharing it?"""
        assert self.random is not None
        counts = self.random[1]
        share = float(counts[self._top_agreement(key)].sum()) / max(float(counts.sum()), 1.0)
        at_key = matches * float(self.parameters.comparisons[key.name].m[-1] or 1.0)
        return at_key <= MAX_KEY_MATCH_SHARE * share * self.total_pairs

    def _given_key(self, key: Comparison, comparison: Comparison) -> Dependency | None:
        """``comparison``'s Dependency on ``key`` when random pairs sharing the key move a
        supported level's u DEPENDENCE_LIFT-fold; None otherwise."""
        assert self.random is not None
        patterns, counts = self.random
        j = self.comparisons.index(comparison)
        u_top = self._u_given_key(key, comparison)
        if u_top is None:
            return None
        params = self.parameters.comparisons[comparison.name]
        u = np.asarray(params.u, dtype=float)
        if key_lift(u_top, u) < math.log2(DEPENDENCE_LIFT):
            return None
        known = patterns[:, j] >= 0
        key_known = (patterns[:, self.comparisons.index(key)] >= 0) & known
        elsewhere = key_known & ~self._top_agreement(key)
        u_other = level_shares(patterns[elsewhere, j], counts[elsewhere], len(u))
        m = [float(v or 0.0) for v in params.m]
        top = len(self.parameters.comparisons[key.name].m) - 1
        return Dependency((key.name,), (top,), m, [float(v) for v in u_top], m, u_other)

    def _u_given_key(self, key: Comparison, comparison: Comparison) -> np.ndarray | None:
        """``comparison``'s u among random pairs sharing ``key`` (likely matches left out),
        where at least MIN_KEY_PAIRS of them know it and a level has MIN_LEVEL_PAIRS; the
        rarer levels keep their u, capped at what the sample could have missed."""
        assert self.random is not None
        patterns, counts = self.random
        j = self.comparisons.index(comparison)
        at_key = self._top_agreement(key) & (patterns[:, j] >= 0) & self._likely_non_match(key, j)
        if counts[at_key].sum() < MIN_KEY_PAIRS:
            return None
        u = np.asarray(self.parameters.comparisons[comparison.name].u, dtype=float)
        tallies = level_tallies(patterns[at_key, j], counts[at_key], len(u))
        supported = tallies >= MIN_LEVEL_PAIRS
        if not supported.any():
            return None
        u_top = np.minimum(u, MIN_LEVEL_PAIRS / float(tallies.sum()))
        rest = 1.0 - float(u_top[~supported].sum())
        u_top[supported] = tallies[supported] / float(tallies[supported].sum()) * rest
        return u_top

    def _likely_non_match(self, *apart: int | Comparison) -> np.ndarray:
        """Random pairs (pattern rows) agreeing exactly on at most half of the comparisons
        other than ``apart`` (comparisons or their indices)."""
        indices = [a if isinstance(a, int) else self.comparisons.index(a) for a in apart]
        tops = np.stack([self._top_agreement(c) for c in self.comparisons], axis=1)
        others = tops.sum(axis=1) - tops[:, indices].sum(axis=1)
        return np.asarray(others <= (len(self.comparisons) - len(indices)) / 2)


def key_lift(u_given: np.ndarray, u: np.ndarray) -> float:
    """Largest log2 ratio between a level's u given a key and its ordinary u (a capped
    level's u is an upper bound, so its shift below u is a lower bound)."""
    ratio = np.maximum(u_given, 1e-300) / np.maximum(u, 1e-300)
    return float(np.abs(np.log2(ratio)).max())
