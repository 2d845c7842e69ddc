"""Conditional m/u for comparisons that move together with an anchor (address parts with
postcode; surname, date of birth and unit with street number and street name): the
dependence-aware part of training, see :class:`~linkage.model.Dependency`.

:class:`DependencyTraining` is an abstract base of :class:`~linkage.training.Trainer`, which
provides the data, the random sample and the pattern and correlation helpers declared abstract
below.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from linkage.anchors import Anchor, anchor_of
from linkage.comparisons import Comparison
from linkage.errors import ModelNotTrainedError
from linkage.household_keys import (
    DEPENDENCE_LIFT,
    MIN_JOINT_NON_MATCHES,
    HouseholdKeyTraining,
)
from linkage.missing_parts import MissingPartTraining
from linkage.model import (
    PROBABILITY_FLOOR,
    Dependency,
    EMResult,
    expectation_maximisation,
    lambda_from_weights,
)
from linkage.near_tops import NearTopTraining
from linkage.passes import MIN_PAIRS_FOR_CONSTRAINT_CHECK
from linkage.patterns import level_shares
from linkage.sample_dependencies import SampleDependencyTraining

logger = logging.getLogger(__name__)

# Random pairs needed before level shares among them replace the ordinary u
MIN_RANDOM_PAIRS = 200


class DependencyTraining(
    HouseholdKeyTraining, SampleDependencyTraining, MissingPartTraining, NearTopTraining
):
    """Estimation of :class:`~linkage.model.Dependency` parameters."""

    #: comparisons conditional on a blocking key outside any household (twins' dob given
    #: surname, sex given first name): not household dependents
    key_dependents: frozenset[str] = frozenset()

    @abstractmethod
    def ensure_gammas(self) -> None:
        """Store the comparison vectors of every candidate pair (once)."""

    @abstractmethod
    def _block_match_rate(self, rule_index: int) -> float | None:
        """Match rate of the EM pass over prediction rule ``rule_index`` (None if no pass
        could be fitted there)."""

    def estimate_dependencies(self) -> dict[str, Dependency]:
        """Model comparisons that move together with an anchor (see
        :class:`~linkage.model.Dependency`), e.g. house number, street, town and surname
        with postcode: a household shares them all, and a move changes them all.

        Anchors are the comparisons a prediction rule blocks on (:func:`anchor_of`; several
        when the rule blocks on several, such as street number and street name) where
        non-matches dominate (:meth:`_anchors`), taken in order of most non-matches agreeing
        on them; each claims the not yet claimed comparisons that depend on it. Then, with
        every other parameter held:

        * ``top``: u of the other comparisons by EM over the pairs agreeing on the anchor
          (m held; u starts at the level shares there); those whose top-level u is at least
          DEPENDENCE_LIFT times their ordinary u, or that are correlated with the anchor
          among random pairs (as in :meth:`estimate_m`), become dependents;
        * ``other``: u from random pairs whose anchor disagrees; m of the dependents
          correlated with the anchor by EM over candidate pairs whose anchor disagrees (a
          move changes the whole address), the ordinary m for the rest;
        * several anchor comparisons are agreed on jointly far more often than their u
          multiply to (people sharing a street number and street name live together): each
          after the first depends on those before it, with u from exact counts of agreeing
          pairs (:meth:`_joint_anchor`), so one address is counted once;
        * the anchor's own m by EM under the whole model over all candidates (see
          :meth:`_reestimate_anchor_m`).

        Last, every dependency on an anchor of several parts learns how often each part
        would agree where it is missing (:mod:`linkage.missing_parts`). Replaces any
        previous dependencies; returns them.
        """
        self.parameters.check_trained()
        if self.random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_dependencies")
        self.ensure_gammas()
        self.parameters.dependencies = {}
        claimed: set[str] = set()
        for anchor, agreeing in self._anchors():
            if claimed & set(anchor.names):
                continue
            candidates = [c for c in self.comparisons if c not in anchor.parts]
            candidates = [c for c in candidates if c.name not in claimed]
            fitted = self._dependencies_on(anchor, candidates, agreeing)
            if fitted is None:
                continue
            found, match_rate = fitted
            joint = self._joint_anchor(anchor, match_rate * agreeing)
            found.update(self._household_key(anchor, found, match_rate * agreeing))
            if not found and not joint:
                continue
            claimed |= {*anchor.names, *found}
            self.parameters.dependencies.update({**found, **joint})
            self._reestimate_anchor_m(anchor)
            logger.info(
                "conditional m/u given %s for: %s",
                " + ".join(anchor.names),
                ", ".join([*joint, *found]),
            )
        joints = self._match_dominated_joints(claimed)
        self.parameters.dependencies.update(joints)
        sampled = self._sample_dependencies()
        self.parameters.dependencies.update(sampled)
        self.key_dependents = frozenset({*joints, *sampled})
        self._add_missing_parts(self.parameters.dependencies)
        self._widen_near_tops(self.parameters.dependencies)
        return self.parameters.dependencies

    def _match_dominated_joints(self, claimed: set[str]) -> dict[str, Dependency]:
        """Joint anchors of the prediction rules whose pairs are mostly matches.

        Such a rule has no dependents to model (the non-matches sharing its keys are too
        few to fit), but its keys can still be shared far more often than independence
        says: siblings share a surname, and twins a date of birth too, so "same surname and
        date of birth" among non-matches is several times u(surname) x u(dob). The rule's
        own EM pass (keys held, the other comparisons free) tells the non-matches among the
        pairs agreeing on every key from the matches; :meth:`_joint_anchor` turns their
        exact count into the u of each later key given the earlier ones. Kept when that u is
        at least DEPENDENCE_LIFT times the ordinary one over at least MIN_JOINT_NON_MATCHES
        non-matches, so a rule whose keys are independent (first name and date of birth) is
        left as it was; each comparison is claimed once."""
        params = self.parameters.comparisons
        out: dict[str, Dependency] = {}
        for k, rule in enumerate(self.settings.blocking_rules):
            anchor = anchor_of(rule, self.comparisons, self.parameters)
            if anchor is None or len(anchor.parts) < 2 or claimed & set(anchor.names):
                continue
            rate = self._block_match_rate(k)
            agreeing = self._agreeing_pairs(anchor.columns())
            at_top = self.candidates().where(self._anchor_rows(anchor)[0]).pairs
            if rate is None or rate <= 0.5 or int(at_top) != agreeing:
                continue
            matches = rate * agreeing
            if self._non_matches(anchor, len(anchor.parts), matches) < MIN_JOINT_NON_MATCHES:
                continue
            joint = self._joint_anchor(anchor, matches)
            lifted = {
                name: dep
                for name, dep in joint.items()
                if dep.u_top[-1] >= DEPENDENCE_LIFT * (params[name].u[-1] or 1.0)
            }
            if lifted:
                logger.info(
                    "non-matches share %s far beyond independence: conditional u for %s",
                    " + ".join(anchor.names),
                    ", ".join(lifted),
                )
                out.update(lifted)
                claimed |= {*anchor.names}
        return out

    def _anchors(self) -> list[tuple[Anchor, int]]:
        """Anchors of the prediction rules (:func:`anchor_of`) whose candidates hold every
        pair agreeing on them, with that number of pairs, most non-matches first.

        Non-matches must dominate the pairs agreeing on an anchor, or their u cannot be told
        from m (an identifier, or first name and surname in a small file): the rule's own EM
        pass (u held at random pairs, so its match rate is identified) must find at most
        half of them matches and leave at least MIN_PAIRS_FOR_CONSTRAINT_CHECK others."""
        found: dict[tuple[str, ...], tuple[Anchor, int, float]] = {}
        for k, rule in enumerate(self.settings.blocking_rules):
            anchor = anchor_of(rule, self.comparisons, self.parameters)
            if anchor is None or anchor.names in found:
                continue
            agreeing = self._agreeing_pairs(anchor.columns())
            at_top = self.candidates().where(self._anchor_rows(anchor)[0]).pairs
            rate = self._block_match_rate(k)
            if int(at_top) != agreeing or rate is None or rate > 0.5:
                continue
            non_matches = (1.0 - rate) * agreeing
            if non_matches >= MIN_PAIRS_FOR_CONSTRAINT_CHECK:
                found[anchor.names] = (anchor, agreeing, non_matches)
        ranked = sorted(found.values(), key=lambda a: -a[2])
        return [(anchor, agreeing) for anchor, agreeing, _ in ranked]

    def _anchor_rows(self, anchor: Anchor) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pattern rows at the anchor's top, and known but not at its top."""
        return anchor.rows(self.comparisons, self.candidates().patterns)

    def _em_on(
        self,
        rows: np.ndarray,
        used: Sequence[Comparison],
        free: Sequence[Comparison],
        u_override: dict[str, list[float]],
        *,
        estimate_u: bool,
        lambda_init: float,
        hold_m: bool = False,
    ) -> EMResult | None:
        """EM over the candidate pairs in pattern ``rows``; only ``free`` comparisons' m
        (unless ``hold_m``) and u (with ``estimate_u``) move. None when fewer than 1,000
        pairs are there."""
        indices = [self.comparisons.index(c) for c in used]
        patterns, counts = self.candidates().where(rows).columns(indices)
        if counts.sum() < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            return None
        params = self.parameters.comparisons
        return expectation_maximisation(
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

    def _reestimate_anchor_m(self, anchor: Anchor) -> None:
        """m of the anchor comparisons under the whole model (:meth:`reestimate_m`).

        Training passes estimated it assuming independence, where a move (new postcode,
        street, town and house number) looked like four disagreements and movers fell into
        the non-match class. The anchor's m is now estimated: no warning that it was not."""
        self.reestimate_m(anchor.names)
        self.diagnostics.withdraw("m_not_estimated", anchor.names)

    def reestimate_m(
        self, names: Sequence[str], iterations: int = 30, *, tie_dependents: bool = False
    ) -> None:
        """m of comparisons ``names`` by EM over all candidate pairs under the whole model
        (dependencies included, global lambda), every other parameter held. A dependency
        whose anchor and dependent are both among ``names`` (any dependent among them, with
        ``tie_dependents``) keeps its m equal to the dependent's. Matches the blocking
        misses are ignored, as in lambda."""
        all_names = [c.name for c in self.comparisons]
        patterns, counts = self.candidates().columns(range(len(all_names)))
        params = self.parameters
        for _ in range(iterations):
            bf = params.log2_bayes_factors(all_names, patterns)
            lam = lambda_from_weights(
                bf, counts, float(self.total_pairs), params.probability_two_random_records_match
            )
            params.probability_two_random_records_match = lam
            p = 1.0 / (1.0 + np.exp2(-np.clip(bf + params.prior_weight(), -1000, 1000)))
            change = 0.0
            for name in names:
                g = patterns[:, all_names.index(name)]
                valid = g >= 0
                old = np.asarray(params.comparisons[name].m, dtype=float)
                tallies = np.bincount(g[valid], weights=(counts * p)[valid], minlength=len(old))
                new = tallies / max(float(tallies.sum()), 1e-300)
                params.comparisons[name].m = [float(v) for v in new]
                change = max(change, float(np.max(np.abs(new - old))))
                dep = params.dependencies.get(name)
                if dep is not None and (tie_dependents or set(dep.anchor) <= set(names)):
                    dep.m_top = dep.m_other = [float(v) for v in new]
                    if dep.prefix:
                        dep.m_prefix = dep.m_top
            if change < self.settings.em_convergence:
                break

    def _dependencies_on(
        self, anchor: Anchor, candidates: Sequence[Comparison], agreeing: int
    ) -> tuple[dict[str, Dependency], float] | None:
        """Dependents of ``anchor`` among ``candidates`` and their conditional m/u, and the
        share of matches among the ``agreeing`` pairs agreeing on the anchor. None when
        non-matches do not dominate those pairs: their u cannot then be told from m (an
        identifier, or first name and surname in a small file)."""
        agree, other = self._anchor_rows(anchor)
        used = [c for c in self.comparisons if c not in anchor.parts]
        # top: u starts at the observed level shares among pairs agreeing on the anchor
        shares = {c.name: self._shares_where(agree, c) for c in candidates}
        screen = self._em_on(
            agree, used, candidates, shares, estimate_u=True, lambda_init=0.05, hold_m=True
        )
        non_matches = 0.0 if screen is None else (1.0 - screen.lambda_) * agreeing
        if screen is None or screen.lambda_ > 0.5 or non_matches < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            logger.info("too few non-matches agree on %s to model its dependents", anchor.names)
            return None
        dependents = self._screen(anchor, candidates, used, screen)
        if not dependents:
            return {}, screen.lambda_
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
        moving = [c for c in dependents if any(self._correlated(a, c) for a in anchor.parts)]
        u_other = self._u_given_disagreement(anchor, dependents)
        other_fit = None
        if moving:
            other_fit = self._em_on(other, used, moving, u_other, estimate_u=False, lambda_init=0.5)
        out = {}
        params = self.parameters.comparisons
        for c in dependents:
            j = used.index(c)
            m_other = params[c.name].m if other_fit is None or c not in moving else other_fit.m[j]
            out[c.name] = Dependency(
                anchor.names,
                anchor.tops,
                [float(v or 0.0) for v in top_fit.m[j]],
                [float(v) for v in top_fit.u[j]],
                [float(v or 0.0) for v in m_other],
                u_other[c.name],
            )
        return out, top_fit.lambda_

    def _joint_anchor(self, anchor: Anchor, matches: float) -> dict[str, Dependency]:
        """Each anchor comparison after the first, given those before it at their top level.

        Random pairs rarely agree on two address parts at once, so the joint agreement is
        counted exactly instead: the u of part ``j``'s top level given parts ``< j`` at theirs
        is the ratio of non-matching pairs agreeing on parts ``<= j`` and on parts ``< j``
        (record pairs counted in SQL; matches among them from the anchor's own fit, spread by
        the parts' m). Its other levels keep their shares among random pairs agreeing on
        parts ``< j`` (or the ordinary u when there are too few of those)."""
        params = self.parameters.comparisons
        out = {}
        full = self._non_matches(anchor, len(anchor.parts), matches)
        for j in range(1, len(anchor.parts)):
            part = anchor.parts[j]
            before = self._non_matches(anchor, j, matches)
            last = j + 1 == len(anchor.parts)
            within = full if last else self._non_matches(anchor, j + 1, matches)
            top_u = min(max(within / before, PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR)
            rest = np.asarray(self._u_where_parts_agree(anchor, j, part), dtype=float)
            rest[-1] = 0.0
            rest = rest / max(float(rest.sum()), 1e-300) * (1.0 - top_u)
            u_top = [*map(float, rest[:-1]), top_u]
            m = [float(v or 0.0) for v in params[part.name].m]
            u = [float(v or 0.0) for v in params[part.name].u]
            out[part.name] = Dependency(anchor.names[:j], anchor.tops[:j], m, u_top, m, u)
        return out

    def _non_matches(self, anchor: Anchor, upto: int, matches: float) -> float:
        """Record pairs agreeing on the first ``upto`` anchor parts, less the matches among
        them (``matches`` agree on every part; fewer parts lose fewer of them)."""
        params = self.parameters.comparisons
        kept = np.prod([params[c.name].m[-1] or 1.0 for c in anchor.parts[upto:]])
        agreeing = float(self._agreeing_pairs(anchor.columns(upto)))
        return max(agreeing - matches / max(float(kept), 1e-300), 1.0)

    def _u_where_parts_agree(self, anchor: Anchor, upto: int, part: Comparison) -> list[float]:
        """Level shares of ``part`` among random pairs agreeing on the first ``upto`` parts
        (the ordinary u when there are fewer than MIN_RANDOM_PAIRS of them)."""
        assert self.random is not None
        patterns, counts = self.random
        top, _ = anchor.rows(self.comparisons, patterns, upto)
        j = self.comparisons.index(part)
        rows = top & (patterns[:, j] >= 0)
        u = self.parameters.comparisons[part.name].u
        if counts[rows].sum() < MIN_RANDOM_PAIRS:
            return [float(v or 0.0) for v in u]
        return level_shares(patterns[rows, j], counts[rows], len(u))

    def _shares_where(self, rows: np.ndarray, comparison: Comparison) -> list[float]:
        """Level shares of ``comparison`` among the candidate pairs in pattern ``rows``."""
        j = self.comparisons.index(comparison)
        g, n = self.candidates().where(rows).columns([j])
        return level_shares(g[:, 0], n, len(self.parameters.comparisons[comparison.name].u))

    def _screen(
        self,
        anchor: Anchor,
        candidates: Sequence[Comparison],
        used: list[Comparison],
        screen: EMResult,
    ) -> list[Comparison]:
        """From the screening fit over the pairs agreeing on the anchor (every m held): a
        candidate is dependent when non-matches sharing the anchor agree on it at least
        DEPENDENCE_LIFT times as often as random pairs (or it is correlated with the anchor
        as in estimate_m)."""
        params = self.parameters.comparisons
        return [
            c
            for c in candidates
            if any(self._correlated(a, c) for a in anchor.parts)
            or screen.u[used.index(c)][-1] >= DEPENDENCE_LIFT * (params[c.name].u[-1] or 1.0)
        ]

    def _u_given_disagreement(
        self, anchor: Anchor, dependents: Sequence[Comparison]
    ) -> dict[str, list[float]]:
        """u of each dependent from random pairs whose anchor is known and disagrees."""
        assert self.random is not None
        patterns, counts = self.random
        _, other_rows = anchor.rows(self.comparisons, patterns)
        return {
            c.name: level_shares(
                patterns[other_rows, self.comparisons.index(c)],
                counts[other_rows],
                len(self.parameters.comparisons[c.name].u),
            )
            for c in dependents
        }
