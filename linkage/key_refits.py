"""m again from prediction passes whose block key carries others with it (sex and middle
initial with a first name), once the dependence model knows how much.

:class:`KeyRefitTraining` is the part of :class:`~linkage.training.Trainer` that
:meth:`~linkage.training.Trainer.refine_m` calls after the first
:meth:`~linkage.training.Trainer.estimate_dependencies`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from linkage.blocking import BlockingRule
from linkage.comparisons import Comparison
from linkage.model import EMResult, expectation_maximisation
from linkage.passes import PassEstimate, PassTraining
from linkage.sample_dependencies import (
    MIN_KEY_PAIRS,
    MIN_LEVEL_PAIRS,
    SampleDependencyTraining,
    key_lift,
)

logger = logging.getLogger("linkage.training")


class KeyRefitTraining(PassTraining, SampleDependencyTraining):
    """EM passes of blocks on a key, refitted given the key (see :meth:`_passes_given_keys`)."""

    #: comparisons conditional on a blocking key (set by the dependence model)
    key_dependents: frozenset[str]
    #: each comparison's plausible pass estimates, and how they are combined (estimate_m)
    pass_estimates: dict[str, list[PassEstimate]]
    combine: str

    def _passes_given_keys(self) -> list[str]:
        """m again from each prediction pass whose block key anchors a key dependent it
        trained (sex and middle initial given a first name); returns the comparisons
        re-estimated.

        The first pass took every comparison at its random-pair u, so same-named strangers
        and relatives read as matches whose dates of birth differ: deduplicating the
        pseudopeople census, ACS and CPS, the first name + surname block put a date of birth
        "within ten years" (not one) at m 0.06-0.10 where 0-1 in a hundred true pairs are.
        Strangers sharing a first name are born close together and share a middle initial
        twice as often as random pairs, and relatives sharing a surname share an address,
        which the pass left out for its correlation with the surname. So the refit takes

        * the key dependents at their u given the key, m held;
        * every other comparison it trained at its u given the single blocked column that
          moves it most (:meth:`_u_given_keys`), m free;
        * the comparisons left out for their correlation with a blocked column back in, as
          one "all at their top" comparison at its u given that column (m free, not kept),
          only where this lowers the refit's match rate: they are to explain relatives
          away, and where same-named relatives at one address are common (sons named as
          fathers) the shared address defines the match class instead (generated
          households: "over ten years apart" at m 0.48 with them, 0.04 without).

        Those u come from the random sample's pairs sharing the column (:meth:`_u_given_key`,
        with no lift asked, unlike the dependence model), so the cost does not grow with the
        file. Every refitted m is kept: keeping only dob's gave the same F1 on census + ACS +
        CPS, seeds 0-11. A refit expecting more matches than the first pass is not used
        (conditioning on the key can only explain agreement away)."""
        refits: dict[str, list[PassEstimate]] = {}
        for k, rule in enumerate(self.settings.blocking_rules):
            record = next((p for p in self.diagnostics.passes if p.rule == rule.name), None)
            if record is None or record.kind != "prediction" or not record.used:
                continue
            blocked = [c for c in self.comparisons if set(c.columns()) & set(rule.columns)]
            names = {c.name for c in blocked}
            given = {
                n: d.u_top
                for n, d in self.parameters.dependencies.items()
                if n in self.key_dependents and n in record.trained and set(d.anchor) <= names
            }
            used = [c for c in self.comparisons if c.name in record.trained]
            if not given or len(given) == len(used):
                continue
            keys = [c for c in self._single_keys() if c in blocked]
            found = self._refit_given_key(rule, k, used, given, keys, blocked, record.match_rate)
            for name, refit in found.items():
                refits.setdefault(name, []).append(refit)
        for name, refitted in refits.items():
            by_rule = {r.rule: r for r in refitted}
            passes = self.pass_estimates[name]
            passes[:] = [by_rule.get(p.rule, p) for p in passes]
            m = combined_m(passes, self.combine)
            self.parameters.comparisons[name].m = [float(v) for v in m]
        return sorted(refits)

    def _refit_given_key(
        self,
        rule: BlockingRule,
        stored: int,
        used: list[Comparison],
        given: dict[str, list[float]],
        keys: list[Comparison],
        blocked: list[Comparison],
        first_rate: float,
    ) -> dict[str, PassEstimate]:
        """The EM pass of prediction rule ``stored`` again given its single ``keys`` (see
        :meth:`_passes_given_keys`); {} when it drifts."""
        params = self.parameters.comparisons
        u = [
            np.asarray(given[c.name], dtype=float)
            if c.name in given
            else self._u_given_keys(c, keys)
            for c in used
        ]
        m = [np.asarray(params[c.name].m, dtype=float) for c in used]
        free = [c.name not in given for c in used]
        groups = self._held_out_groups(used, keys, blocked)
        parts = [c for _, group in groups for c in group]
        patterns, counts = self._rule_patterns(rule, stored, [*used, *parts])
        fit = self._fit(patterns[:, : len(used)], counts, list(m), list(u), list(free), first_rate)
        joint, at = [], len(used)
        for key, group in groups:
            share = self._joint_top_given_key(key, group)
            if share is not None:
                joint.append(self._joint_top(patterns[:, at : at + len(group)], group))
                top = float(np.prod([params[c.name].m[-1] or 0.5 for c in group]))
                m.append(np.array([1.0 - top, top]))
                u.append(np.array([1.0 - share, share]))
                free.append(True)
            at += len(group)
        if joint:
            columns = np.column_stack([patterns[:, : len(used)], *joint])
            with_held_out = self._fit(columns, counts, m, u, free, first_rate)
            # the held-out comparisons are to explain relatives away, not to define a class
            if with_held_out.lambda_ <= fit.lambda_:
                fit = with_held_out
            else:
                joint = []
        if fit.lambda_ > first_rate:
            return {}
        logger.info(
            "EM pass %r again given %s (%d held out brought back): match rate %.3g (was %.3g)",
            rule.name,
            " and ".join(c.name for c in keys) or ", ".join(sorted(given)),
            len(joint),
            fit.lambda_,
            first_rate,
        )
        expected = fit.lambda_ * float(counts.sum())
        return {
            c.name: PassEstimate(np.asarray(m), fit.lambda_, expected, rule.name)
            for c, m in zip(used, fit.m[: len(used)], strict=True)
            if c.name not in given
        }

    def _fit(
        self,
        patterns: np.ndarray,
        counts: np.ndarray,
        m: list[np.ndarray],
        u: list[np.ndarray],
        free: list[bool],
        start: float,
    ) -> EMResult:
        """EM over ``patterns`` (rows merged where equal), ``free`` m moving, u held."""
        distinct, inverse = np.unique(patterns, axis=0, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=counts).astype(float)
        return expectation_maximisation(
            distinct,
            merged,
            m,
            u,
            start,
            free_m=free,
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )

    def _u_given_keys(self, comparison: Comparison, keys: list[Comparison]) -> np.ndarray:
        """``comparison``'s u given the one of ``keys`` that moves it most among random
        pairs; its ordinary u when none is supported."""
        u = np.asarray(self.parameters.comparisons[comparison.name].u, dtype=float)
        best, lift = u, 0.0
        for key in keys:
            given = self._u_given_key(key, comparison)
            if given is not None and key_lift(given, u) > lift:
                best, lift = given, key_lift(given, u)
        return best

    def _held_out_groups(
        self, used: list[Comparison], keys: list[Comparison], blocked: list[Comparison]
    ) -> list[tuple[Comparison, list[Comparison]]]:
        """The comparisons the pass left out for their correlation with one of ``keys``
        (street number and street name with a surname), grouped by that key."""
        taken = [*used, *blocked]
        groups = []
        for key in keys:
            group = [c for c in self.comparisons if c not in taken and self._correlated(c, key)]
            if group:
                groups.append((key, group))
                taken += group
        return groups

    def _joint_top(self, gammas: np.ndarray, group: list[Comparison]) -> np.ndarray:
        """1 where every comparison of ``group`` is at its top level, 0 where one is below,
        -1 where one is null."""
        tops = np.array([len(self.parameters.comparisons[c.name].u) - 1 for c in group])
        joint = np.all(gammas == tops, axis=1).astype(gammas.dtype)
        return np.where(np.any(gammas < 0, axis=1), -1, joint)

    def _joint_top_given_key(self, key: Comparison, group: list[Comparison]) -> float | None:
        """Share of random pairs sharing ``key`` at the top of every comparison of ``group``
        (likely matches left out), or None when fewer than MIN_KEY_PAIRS know them all or
        fewer than MIN_LEVEL_PAIRS are at the top."""
        assert self.random is not None
        patterns, counts = self.random
        indices = [self.comparisons.index(c) for c in group]
        joint = self._joint_top(patterns[:, indices], group)
        at_key = self._top_agreement(key) & (joint >= 0) & self._likely_non_match(key, *group)
        total = float(counts[at_key].sum())
        agreeing = float(counts[at_key & (joint == 1)].sum())
        if total < MIN_KEY_PAIRS or agreeing < MIN_LEVEL_PAIRS:
            return None
        return agreeing / total


def combined_m(passes: Sequence[PassEstimate], combine: str) -> np.ndarray:
    """m from several passes: their mean (as Splink), or with ``"purest"`` the pass with the
    highest match rate."""
    if combine == "purest":
        return max(passes, key=lambda p: p.match_rate).m
    return np.mean([p.m for p in passes], axis=0)
