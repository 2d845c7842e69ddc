"""Conditional m/u for comparisons that move together with an anchor (address parts with
postcode): the dependence-aware part of training, see :class:`~linkage.model.Dependency`.

:class:`DependencyTraining` is an abstract base of :class:`~linkage.training.Trainer`, which
provides the data, the random sample and the pattern and correlation helpers declared abstract
below.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from linkage.comparisons import Comparison
from linkage.errors import ModelNotTrainedError
from linkage.model import (
    Dependency,
    ModelParameters,
    expectation_maximisation,
    lambda_from_weights,
)
from linkage.patterns import level_shares
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tables import GAMMA_TABLE

logger = logging.getLogger(__name__)

# Pairs needed before the share of a level among them is trusted
MIN_PAIRS_FOR_CONSTRAINT_CHECK = 1000
# A comparison depends on an anchor when non-matches sharing the anchor agree on it at
# least this many times as often as random pairs (see estimate_dependencies)
DEPENDENCE_LIFT = 2.0


class DependencyTraining(ABC):
    """Estimation of :class:`~linkage.model.Dependency` parameters."""

    #: gamma patterns of the random sample and their counts (None before u is estimated)
    random: tuple[np.ndarray, np.ndarray] | None

    @property
    @abstractmethod
    def settings(self) -> LinkageSettings: ...

    @property
    @abstractmethod
    def parameters(self) -> ModelParameters: ...

    @property
    @abstractmethod
    def comparisons(self) -> list[Comparison]: ...

    @property
    @abstractmethod
    def total_pairs(self) -> int: ...

    @abstractmethod
    def ensure_gammas(self) -> None:
        """Store the comparison vectors of every candidate pair (once)."""

    @abstractmethod
    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of ``columns`` among the rows of ``sql``, and their counts."""

    @abstractmethod
    def _correlated(self, a: Comparison, b: Comparison) -> bool:
        """Do random non-matches agree on both far more often than independence predicts?"""

    @abstractmethod
    def _max_matches(self) -> float:
        """Upper bound on the number of matches."""

    def estimate_dependencies(self) -> dict[str, Dependency]:
        """Model comparisons that move together with an anchor comparison (see
        :class:`~linkage.model.Dependency`), e.g. house number, street, town and surname
        with postcode: a household shares them all, and a move changes them all.

        Anchors are taken in order of rarest top-level agreement among random pairs; each
        claims the not yet claimed comparisons that depend on it. An anchor needs a
        prediction rule blocking on exactly its columns (so every pair agreeing on it is a
        candidate) and, judged from its u, more non-matches agreeing on it than there can be
        matches (so their u can be estimated). Then, with every other parameter held:

        * ``top``: u of the other comparisons by EM over the pairs agreeing on the anchor
          (m held; u starts at the level shares there); those whose top-level u is at least
          DEPENDENCE_LIFT times their ordinary u, or that are correlated with the anchor
          among random pairs (as in :meth:`estimate_m`), become dependents;
        * ``other``: u from random pairs whose anchor disagrees; m of the dependents
          correlated with the anchor by EM over candidate pairs whose anchor disagrees (a
          move changes the whole address), the ordinary m for the rest;
        * the anchor's own m by EM under the whole model over all candidates (see
          :meth:`_reestimate_anchor_m`).

        Replaces any previous dependencies; returns them.
        """
        self.parameters.check_trained()
        if self.random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_dependencies")
        self.ensure_gammas()
        self.parameters.dependencies = {}
        rules = self.settings.blocking_rules
        claimed: set[str] = set()
        by_rarity = sorted(
            self.comparisons, key=lambda c: self.parameters.comparisons[c.name].u[-1] or 1.0
        )
        for anchor in by_rarity:
            if anchor.name in claimed or not any(
                set(r.columns) == set(anchor.columns()) for r in rules
            ):
                continue
            # non-matches must dominate the pairs agreeing on the anchor, or their u cannot
            # be told from m (an identifier such as a national insurance number)
            shared = (self.parameters.comparisons[anchor.name].u[-1] or 0.0) * self.total_pairs
            if shared < max(MIN_PAIRS_FOR_CONSTRAINT_CHECK, self._max_matches()):
                continue
            candidates = [c for c in self.comparisons if c is not anchor and c.name not in claimed]
            found = self._dependencies_on(anchor, candidates)
            if not found:
                continue
            claimed |= {anchor.name, *found}
            self.parameters.dependencies.update(found)
            self._reestimate_anchor_m(anchor)
            logger.info("conditional m/u given %s for: %s", anchor.name, ", ".join(found))
        return self.parameters.dependencies

    def _em_on(
        self,
        where: str,
        used: Sequence[Comparison],
        free: Sequence[Comparison],
        u_override: dict[str, list[float]],
        *,
        estimate_u: bool,
        lambda_init: float,
        hold_m: bool = False,
    ) -> list[np.ndarray] | None:
        """EM over stored candidate pairs matching ``where``; only ``free`` comparisons'
        m (unless ``hold_m``) and u (with ``estimate_u``) move. None when fewer than 1,000
        pairs match."""
        patterns, counts = self._patterns(
            f"SELECT * FROM {GAMMA_TABLE} WHERE {where}", [c.gamma_column for c in used]
        )
        if counts.sum() < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            return None
        params = self.parameters.comparisons
        result = expectation_maximisation(
            patterns,
            counts,
            [np.asarray(params[c.name].m, dtype=float) for c in used],
            [np.asarray(u_override.get(c.name, params[c.name].u), dtype=float) for c in used],
            lambda_init,
            estimate_u=estimate_u,
            free_m=[c in free and not hold_m for c in used],
            free_u=[c in free for c in used],
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )
        if not estimate_u:
            return result.m
        return result.m + result.u

    def _reestimate_anchor_m(self, anchor: Comparison, iterations: int = 30) -> None:
        """m of the anchor by EM over all candidate pairs under the whole model (its
        dependencies included, global lambda), every other parameter held.

        Training passes estimated it assuming independence, where a move (new postcode,
        street, town and house number) looked like four disagreements and movers fell into
        the non-match class. Matches the blocking misses are ignored, as in lambda.
        """
        names = [c.name for c in self.comparisons]
        patterns, counts = self._patterns(
            f"SELECT * FROM {GAMMA_TABLE}", [c.gamma_column for c in self.comparisons]
        )
        params = self.parameters
        j = names.index(anchor.name)
        g = patterns[:, j]
        valid = g >= 0
        n_levels = len(params.comparisons[anchor.name].m)
        for _ in range(iterations):
            bf = params.log2_bayes_factors(names, patterns)
            lam = lambda_from_weights(
                bf, counts, float(self.total_pairs), params.probability_two_random_records_match
            )
            params.probability_two_random_records_match = lam
            p = 1.0 / (1.0 + np.exp2(-np.clip(bf + params.prior_weight(), -1000, 1000)))
            tallies = np.bincount(g[valid], weights=(counts * p)[valid], minlength=n_levels)
            new = tallies / max(float(tallies.sum()), 1e-300)
            old = np.asarray(params.comparisons[anchor.name].m, dtype=float)
            params.comparisons[anchor.name].m = [float(v) for v in new]
            if float(np.max(np.abs(new - old))) < self.settings.em_convergence:
                break

    def _dependencies_on(
        self, anchor: Comparison, candidates: Sequence[Comparison]
    ) -> dict[str, Dependency]:
        params = self.parameters.comparisons
        top = len(params[anchor.name].u) - 1
        a_gamma = quote(anchor.gamma_column)
        agree = f"{a_gamma} = {top}"
        used = [c for c in self.comparisons if c is not anchor]
        # top: u starts at the observed level shares among pairs agreeing on the anchor
        shares = {c.name: self._shares_where(agree, c) for c in candidates}
        dependents = self._screen(anchor, candidates, used, agree, shares)
        if not dependents:
            return {}
        top_fit = self._em_on(
            agree,
            used,
            dependents,
            {c.name: shares[c.name] for c in dependents},
            estimate_u=True,
            lambda_init=0.05,
            hold_m=True,
        )
        assert top_fit is not None
        # m given a disagreeing anchor differs only for parts that change with it (a move
        # changes the whole address): those correlated with it among random pairs
        moving = [c for c in dependents if self._correlated(anchor, c)]
        u_other = self._u_given_disagreement(anchor, dependents, top)
        other_fit = None
        if moving:
            other_fit = self._em_on(
                f"{a_gamma} >= 0 AND {a_gamma} <> {top}",
                used,
                moving,
                u_other,
                estimate_u=False,
                lambda_init=0.5,
            )
        out = {}
        for c in dependents:
            j = used.index(c)
            m_other = params[c.name].m if other_fit is None or c not in moving else other_fit[j]
            out[c.name] = Dependency(
                anchor.name,
                top,
                [float(v or 0.0) for v in top_fit[j]],
                [float(v) for v in top_fit[len(used) + j]],
                [float(v or 0.0) for v in m_other],
                u_other[c.name],
            )
        return out

    def _shares_where(self, where: str, comparison: Comparison) -> list[float]:
        """Level shares of ``comparison`` among the candidate pairs matching ``where``."""
        g, n = self._patterns(
            f"SELECT * FROM {GAMMA_TABLE} WHERE {where}", [comparison.gamma_column]
        )
        return level_shares(g[:, 0], n, len(self.parameters.comparisons[comparison.name].u))

    def _screen(
        self,
        anchor: Comparison,
        candidates: Sequence[Comparison],
        used: list[Comparison],
        agree: str,
        shares: dict[str, list[float]],
    ) -> list[Comparison]:
        """Screening fit over the pairs agreeing on the anchor, every m held: a candidate is
        dependent when non-matches sharing the anchor agree on it at least DEPENDENCE_LIFT
        times as often as random pairs (or it is correlated with the anchor as in
        estimate_m)."""
        screen = self._em_on(
            agree, used, candidates, shares, estimate_u=True, lambda_init=0.05, hold_m=True
        )
        if screen is None:
            logger.info("too few pairs agree on %r to model its dependents", anchor.name)
            return []
        params = self.parameters.comparisons
        return [
            c
            for c in candidates
            if self._correlated(anchor, c)
            or screen[len(used) + used.index(c)][-1]
            >= DEPENDENCE_LIFT * (params[c.name].u[-1] or 1.0)
        ]

    def _u_given_disagreement(
        self, anchor: Comparison, dependents: Sequence[Comparison], top: int
    ) -> dict[str, list[float]]:
        """u of each dependent from random pairs whose anchor is known and disagrees."""
        assert self.random is not None
        patterns, counts = self.random
        j_anchor = self.comparisons.index(anchor)
        other_rows = (patterns[:, j_anchor] >= 0) & (patterns[:, j_anchor] != top)
        return {
            c.name: level_shares(
                patterns[other_rows, self.comparisons.index(c)],
                counts[other_rows],
                len(self.parameters.comparisons[c.name].u),
            )
            for c in dependents
        }
