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
from linkage.model import expectation_maximisation
from linkage.passes import PassEstimate, PassTraining

logger = logging.getLogger("linkage.training")


class KeyRefitTraining(PassTraining):
    """EM passes of blocks on a key, refitted given the key (see :meth:`_passes_given_keys`)."""

    #: comparisons conditional on a blocking key (set by the dependence model)
    key_dependents: frozenset[str]
    #: each comparison's plausible pass estimates, and how they are combined (estimate_m)
    pass_estimates: dict[str, list[PassEstimate]]
    combine: str

    def _passes_given_keys(self) -> list[str]:
        """m again from each prediction pass whose block key anchors a key dependent it
        trained (sex and middle initial given a first name), with those dependents at their
        u given the key and their m held; returns the comparisons re-estimated.

        The first pass took a shared sex and middle initial at their random-pair u, so
        namesakes (a father and son of one name at one address) read as matches whose dates
        of birth differ: deduplicating the pseudopeople census, ACS and CPS, the first name +
        surname block put a date of birth over ten years off at m 0.071 where 3 of the 113
        true pairs (0.027) have one. A refit expecting more matches than the first pass is
        not used (conditioning on the key can only explain agreement away)."""
        refits: dict[str, PassEstimate] = {}
        for k, rule in enumerate(self.settings.blocking_rules):
            record = next((p for p in self.diagnostics.passes if p.rule == rule.name), None)
            if record is None or record.kind != "prediction" or not record.used:
                continue
            blocked = {c.name for c in self.comparisons if set(c.columns()) & set(rule.columns)}
            given = {
                n: d.u_top
                for n, d in self.parameters.dependencies.items()
                if n in self.key_dependents and n in record.trained and set(d.anchor) <= blocked
            }
            used = [c for c in self.comparisons if c.name in record.trained]
            if not given or len(given) == len(used):
                continue
            refits.update(self._refit_given_key(rule, k, used, given, record.match_rate))
        for name, refit in refits.items():
            passes = self.pass_estimates[name]
            passes[:] = [refit if p.rule == refit.rule else p for p in passes]
            m = combined_m(passes, self.combine)
            self.parameters.comparisons[name].m = [float(v) for v in m]
        return sorted(refits)

    def _refit_given_key(
        self,
        rule: BlockingRule,
        stored: int,
        used: list[Comparison],
        given: dict[str, list[float]],
        first_rate: float,
    ) -> dict[str, PassEstimate]:
        """The EM pass of prediction rule ``stored`` again, ``given`` comparisons at those u
        with their m held (see :meth:`_passes_given_keys`); {} when it drifts."""
        patterns, counts = self._rule_patterns(rule, stored, used)
        params = self.parameters.comparisons
        fit = expectation_maximisation(
            patterns,
            counts,
            [np.asarray(params[c.name].m, dtype=float) for c in used],
            [np.asarray(given.get(c.name, params[c.name].u), dtype=float) for c in used],
            first_rate,
            free_m=[c.name not in given for c in used],
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )
        if fit.lambda_ > first_rate:
            return {}
        logger.info(
            "EM pass %r again with %s given the key: match rate %.3g (was %.3g)",
            rule.name,
            ", ".join(sorted(given)),
            fit.lambda_,
            first_rate,
        )
        expected = fit.lambda_ * float(counts.sum())
        return {
            c.name: PassEstimate(np.asarray(m), fit.lambda_, expected, rule.name)
            for c, m in zip(used, fit.m, strict=True)
            if c.name not in given
        }


def combined_m(passes: Sequence[PassEstimate], combine: str) -> np.ndarray:
    """m from several passes: their mean (as Splink), or with ``"purest"`` the pass with the
    highest match rate."""
    if combine == "purest":
        return max(passes, key=lambda p: p.match_rate).m
    return np.mean([p.m for p in passes], axis=0)
