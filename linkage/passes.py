"""EM passes of :meth:`~linkage.training.Trainer.estimate_m`, one per training block, and the
checks each pass gets before its estimates are used.

:class:`PassTraining` is an abstract base of :class:`~linkage.training.Trainer`, which provides
the data, the random sample and the pattern helpers declared abstract below. Every pass is
recorded (:class:`~linkage.diagnostics.PassRecord`) and every problem is a training warning
(:mod:`linkage.diagnostics`).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from linkage.backend import DuckDBBackend
from linkage.blocking import BlockingRule, block_on, pairs_sql
from linkage.comparisons import Comparison, ExactMatchLevel
from linkage.diagnostics import PassRecord
from linkage.model import PROBABILITY_FLOOR, expectation_maximisation
from linkage.patterns import CandidatePatterns, TrainingBase, level_tallies
from linkage.stored_blocks import same_column_keys
from linkage.tables import LEFT_TABLE, RIGHT_TABLE

logger = logging.getLogger("linkage.training")

# Two comparisons are treated as correlated among non-matches when random pairs agree
# exactly on both at least this many times more often than independence predicts ...
CORRELATION_LIFT = 4.0
# ... and at least this many random pairs do (below that the lift is noise)
MIN_CORRELATED_PAIRS = 5
# Supplementary training blocks tried before giving up (each costs one EM pass)
MAX_SUPPLEMENTARY_TRIES = 4
# Pairs needed before the share of a level among them is trusted
MIN_PAIRS_FOR_CONSTRAINT_CHECK = 1000
# A pass over fewer pairs, or expecting fewer matches, is noisy: a warning for a prediction
# block, a rejection for a fallback block (a block of apartment dwellers taught street names)
MIN_PASS_PAIRS = 1000
MIN_PASS_MATCHES = 50.0

# With u held, EM separates two classes only from the joint distribution of two or more
# comparisons: over one, any m fits the block equally well
MIN_FREE_COMPARISONS = 2

PassKind = Literal["prediction", "training", "supplementary"]


class PassEstimate(NamedTuple):
    """m for one comparison from one EM pass."""

    m: np.ndarray
    match_rate: float
    expected: float
    rule: str = ""


class PassTraining(TrainingBase):
    """EM passes per training block, each checked (see :meth:`Trainer.estimate_m`)."""

    #: the random sample's counts weighted by their chance of being non-matches, and the
    #: comparisons no block trained, while a supplementary block is chosen (see
    #: :meth:`_correlated_apart`)
    _non_match_weights: np.ndarray | None = None
    _untrained: frozenset[str] = frozenset()

    @property
    @abstractmethod
    def counts(self) -> dict[str, int]: ...

    @property
    @abstractmethod
    def backend(self) -> DuckDBBackend: ...

    @property
    @abstractmethod
    def right_table(self) -> str: ...

    @abstractmethod
    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of ``columns`` among the rows of ``sql``, and their counts."""

    @abstractmethod
    def _stored_agreeing(
        self, columns: frozenset[str], present: frozenset[str] = frozenset()
    ) -> CandidatePatterns | None:
        """The stored vectors of the pairs equal on ``columns`` and non-null on ``present``,
        where they say it (:func:`linkage.stored_blocks.stored_agreeing`)."""

    @abstractmethod
    def _gamma_select(self, comparisons: Sequence[Comparison]) -> str:
        """Select expressions of the gamma columns of ``comparisons``."""

    def _em_pass(
        self, rule: BlockingRule, stored: int | None, *, kind: PassKind = "prediction"
    ) -> dict[str, PassEstimate]:
        """One EM pass over the pairs ``rule`` finds (read from the stored vectors when
        ``stored`` is the rule's index there). Returns estimates per comparison used, and
        records the pass in the diagnostics."""
        used = self._pass_comparisons(rule)
        if len(used) < MIN_FREE_COMPARISONS:
            logger.info("training rule %r leaves too few comparisons free; skipped", rule.name)
            return {}
        patterns, counts = self._rule_patterns(rule, stored, used)
        if counts.sum() == 0:
            logger.info("training rule %r found no pairs; skipped", rule.name)
            return {}
        used, patterns, counts = self._unconstrained(rule, used, patterns, counts)
        if len(used) < MIN_FREE_COMPARISONS:
            logger.info("EM pass %r leaves too few comparisons free; skipped", rule.name)
            return {}
        result = expectation_maximisation(
            patterns,
            counts,
            [np.asarray(self.parameters.comparisons[c.name].m, dtype=float) for c in used],
            [np.asarray(self.parameters.comparisons[c.name].u, dtype=float) for c in used],
            0.1,
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )
        pairs, expected = int(counts.sum()), result.lambda_ * float(counts.sum())
        logger.info(
            "EM pass %r: %d pairs, %d patterns, %d iterations, match rate %.3g",
            rule.name,
            pairs,
            len(counts),
            result.iterations,
            result.lambda_,
        )
        names = [c.name for c in used]
        record = PassRecord(
            rule.name, pairs, result.iterations, result.converged, result.lambda_, expected, names
        )
        record.kind = kind
        self.diagnostics.passes.append(record)
        if not result.converged:
            self.diagnostics.warn(
                logger,
                "em_not_converged",
                f"EM pass {rule.name!r} did not converge in {result.iterations} iterations",
                step="estimate_m",
                rule=rule.name,
                iterations=result.iterations,
            )
        return {
            c.name: PassEstimate(m, result.lambda_, expected, rule.name)
            for c, m in zip(used, result.m, strict=True)
        }

    def _rule_patterns(
        self, rule: BlockingRule, stored: int | None, used: list[Comparison]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distinct comparison patterns of ``used`` among the pairs ``rule`` finds, with
        their counts: from the stored vectors when ``stored`` is the rule's index there."""
        indices = [self.comparisons.index(c) for c in used]
        if stored is not None:
            return self.candidates().in_rule(stored).columns(indices)
        columns = same_column_keys(rule)
        within = None if columns is None else self._stored_agreeing(columns)
        if within is not None:
            return within.columns(indices)
        select = [self._gamma_select(used)]
        sql = pairs_sql([rule], self.settings.link_type, LEFT_TABLE, self.right_table, select)
        return self._patterns(sql, [c.gamma_column for c in used])

    def _unconstrained(
        self,
        rule: BlockingRule,
        used: list[Comparison],
        patterns: np.ndarray,
        counts: np.ndarray,
    ) -> tuple[list[Comparison], np.ndarray, np.ndarray]:
        """``used`` without the comparisons the block constrains (held fixed in this pass),
        with the patterns and counts collapsed onto the rest."""
        free = [j for j, c in enumerate(used) if not self._constrained(c, patterns[:, j], counts)]
        if len(free) == len(used):
            return used, patterns, counts
        logger.info(
            "EM pass %r holds %s fixed: the block constrains them",
            rule.name,
            ", ".join(used[j].name for j in range(len(used)) if j not in free),
        )
        patterns, inverse = np.unique(patterns[:, free], axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=counts)
        return [used[j] for j in free], patterns, counts

    def _pass_comparisons(self, rule: BlockingRule) -> list[Comparison]:
        """Comparisons an EM pass on ``rule`` may estimate: not reading a column the rule
        blocks on, nor correlated with one that does among random pairs."""
        blocked = [c for c in self.comparisons if set(c.columns()) & set(rule.columns)]
        used = [c for c in self.comparisons if c not in blocked]
        correlated = [c for c in used if any(self._correlated_apart(c, b) for b in blocked)]
        if correlated:
            logger.info(
                "EM pass %r holds %s fixed: correlated with the block key",
                rule.name,
                ", ".join(c.name for c in correlated),
            )
        return [c for c in used if c not in correlated]

    def _top_agreement(self, comparison: Comparison) -> np.ndarray:
        """Random pairs (pattern rows) at the comparison's most similar level."""
        assert self.random is not None
        j = self.comparisons.index(comparison)
        top = len(self.parameters.comparisons[comparison.name].u) - 1
        return np.asarray(self.random[0][:, j] == top)

    def _correlated(self, a: Comparison, b: Comparison) -> bool:
        """Do random non-matches agree on both far more often than independence predicts?

        A random sample holds a few true matches, which agree on everything and would make
        every pair of comparisons look correlated; pairs agreeing exactly on more than half
        of the other comparisons are left out as likely matches.
        """
        assert self.random is not None
        top = np.stack([self._top_agreement(c) for c in self.comparisons], axis=1)
        ia, ib = self.comparisons.index(a), self.comparisons.index(b)
        others = top.sum(axis=1) - top[:, ia] - top[:, ib]
        keep = others <= (len(self.comparisons) - 2) / 2
        counts = self.random[1][keep]
        in_a, in_b = top[keep, ia], top[keep, ib]
        joint = float(counts[in_a & in_b].sum())
        expected = float(counts[in_a].sum()) * float(counts[in_b].sum()) / float(counts.sum())
        # At most one match per record, so this many sampled pairs could be matches; most of
        # them were dropped above, and a tenth of the bound is kept as a margin for the rest.
        possible_matches = float(self.random[1].sum()) * self._max_matches() / self.total_pairs
        return (
            joint >= MIN_CORRELATED_PAIRS + 0.1 * possible_matches
            and joint >= CORRELATION_LIFT * expected
        )

    def _correlated_apart(self, a: Comparison, b: Comparison) -> bool:
        """:meth:`_correlated`, and, while a supplementary block is chosen and one of the two
        is a comparison no block trained, also among the random pairs weighted by their
        chance of being non-matches under the m the training blocks estimated
        (:meth:`_weigh_non_matches`). Leaving out pairs agreeing on most other comparisons
        keeps the matches whose other fields differ: linking census to W-2 forms (mailing
        addresses, middle initials mostly blank) random pairs agreed on first name and
        surname 15 times where 1.8 were expected (4.7 weighted), and no block could train
        surname. Between two trained comparisons the plain check stands: weighted, a
        household (postcode and house number agreeing) reads as a likely match, and a
        postcode + surname block freed house number and learnt households."""
        if not self._correlated(a, b):
            return False
        weights = self._non_match_weights
        if weights is None or not {a.name, b.name} & self._untrained:
            return True
        in_a, in_b = self._top_agreement(a), self._top_agreement(b)
        joint = float(weights[in_a & in_b].sum())
        expected = float(weights[in_a].sum()) * float(weights[in_b].sum()) / float(weights.sum())
        return joint >= MIN_CORRELATED_PAIRS and joint >= CORRELATION_LIFT * expected

    def _weigh_non_matches(self, trained: dict[str, list[PassEstimate]]) -> np.ndarray:
        """Counts of the random sample's patterns, each times its chance of being a non-match
        given the mean m of the passes in ``trained`` and the prior at its bound (one match
        per record), so that likely matches are discounted generously: a comparison no pass
        trained counts only where it agrees (its starting m are no estimate; they would make
        a match at a new address a non-match)."""
        assert self.random is not None
        patterns, counts = self.random
        prior = self._max_matches() / self.total_pairs
        log2_odds = np.full(len(counts), np.log2(prior / (1.0 - prior)))
        for j, c in enumerate(self.comparisons):
            params = self.parameters.comparisons[c.name]
            passes = trained.get(c.name)
            m = np.mean([p.m for p in passes], axis=0) if passes else np.asarray(params.m)
            u = np.asarray(params.u, dtype=float)
            levels = np.log2(np.maximum(m.astype(float), PROBABILITY_FLOOR))
            levels -= np.log2(np.maximum(u, PROBABILITY_FLOOR))
            if not passes:
                levels = np.maximum(levels, 0.0)
            g = patterns[:, j]
            log2_odds += np.where(g >= 0, levels[np.maximum(g, 0)], 0.0)
        return counts / (1.0 + np.exp2(np.minimum(log2_odds, 1000.0)))

    def _max_matches(self) -> float:
        """Upper bound on matches used for plausibility: one per record on the smaller side
        (link_only) or one per record (dedupe_only)."""
        if self.settings.link_type == "link_only":
            return float(min(self.counts[LEFT_TABLE], self.counts[RIGHT_TABLE]))
        return float(self.counts[LEFT_TABLE])

    def _supplementary_pass(
        self, untrained: Sequence[str], trained: dict[str, list[PassEstimate]]
    ) -> dict[str, PassEstimate]:
        """One more EM pass for comparisons no training rule could estimate.

        Candidate blocks come from :meth:`_supplementary_rules`, smallest first; the first
        whose pass is plausible is used. A pass is rejected when it expects more matches than
        there can be: in a block on postcode and surname of a large file the households
        outnumber the matches, EM takes "same household" for the match class and a date of
        birth would come out as barely mattering. Correlation with a block key is judged
        with the matches the ``trained`` passes' m recognise weighted out
        (:meth:`_correlated_apart`).
        """
        self._non_match_weights = self._weigh_non_matches(trained)
        self._untrained = frozenset(untrained)
        try:
            return self._first_plausible_supplementary(untrained)
        finally:
            self._non_match_weights, self._untrained = None, frozenset()

    def _first_plausible_supplementary(self, untrained: Sequence[str]) -> dict[str, PassEstimate]:
        bound = self._max_matches()
        for rule in self._supplementary_rules(untrained)[:MAX_SUPPLEMENTARY_TRIES]:
            estimates = self._em_pass(rule, None, kind="supplementary")
            found = {n: e for n, e in estimates.items() if n in untrained}
            if not found:
                continue
            record = self.diagnostics.passes[-1]
            expected = max(e.expected for e in found.values())
            if expected > bound or record.pairs < MIN_PASS_PAIRS or expected < MIN_PASS_MATCHES:
                record.used = False
                logger.info(
                    "supplementary EM pass %r over %d pairs expects %.0f matches (at most "
                    "%.0f, at least %.0f over %d pairs): rejected",
                    rule.name,
                    record.pairs,
                    expected,
                    bound,
                    MIN_PASS_MATCHES,
                    MIN_PASS_PAIRS,
                )
                continue
            for name in found:
                self.diagnostics.warn(
                    logger,
                    "fallback_pass",
                    f"no training block could train {name}: trained on the fallback block "
                    f"{rule.name!r}",
                    step="estimate_m",
                    comparison=name,
                    rule=rule.name,
                    pairs=record.pairs,
                    expected_matches=round(expected, 1),
                )
            return found
        return {}

    def _supplementary_rules(self, untrained: Sequence[str]) -> list[BlockingRule]:
        """Blocks on exact agreement of two other comparisons for training ``untrained``,
        smallest expected block first (the highest share of matches, if independent).

        Candidates are comparisons whose most similar level is an exact match on one column.
        A pair qualifies when it is uncorrelated (among random pairs) with each other and
        with every untrained comparison, and its expected block size (from u) is between
        1,000 pairs and 50 pairs per record. Random pairs rarely agree on two rare fields at
        once, so correlation can go unseen: :meth:`_supplementary_pass` checks each pass.
        """
        exact = {}
        for c in self.comparisons:
            top = next((v for v in c.levels if not v.is_null_level), None)
            if c.name not in untrained and isinstance(top, ExactMatchLevel):
                exact[c.name] = (c, top.column)
        targets = [c for c in self.comparisons if c.name in untrained]
        n_records = max(self.counts.values())
        ranked: list[tuple[float, BlockingRule]] = []
        names = sorted(exact)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                ca, cb = exact[a][0], exact[b][0]
                if self._correlated(ca, cb) or any(
                    self._correlated_apart(t, c) for t in targets for c in (ca, cb)
                ):
                    continue
                u_a = self.parameters.comparisons[a].u[-1]
                u_b = self.parameters.comparisons[b].u[-1]
                if u_a is None or u_b is None:  # u not sampled: the block size is unknown
                    continue
                size = self.total_pairs * u_a * u_b
                if 1_000 <= size <= 50 * n_records:
                    ranked.append((size, block_on(exact[a][1], exact[b][1])))
        ranked.sort(key=lambda r: r[0])
        return [rule for _, rule in ranked]

    def _constrained(self, comparison: Comparison, gammas: np.ndarray, counts: np.ndarray) -> bool:
        """True when the block all but rules out a level that is common among random pairs
        (e.g. "dob more than 10 years apart" in a block on birth year): the comparison is
        then a function of the block key, not evidence, and EM must hold it fixed."""
        u = self.parameters.comparisons[comparison.name].u
        valid = gammas >= 0
        total = counts[valid].sum()
        if total < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            return False
        share = level_tallies(gammas, counts, len(u)) / total
        return any(
            (ug or 0.0) >= 0.05 and sh <= 0.001 * (ug or 0.0)
            for ug, sh in zip(u, share, strict=True)
        )

    def _plausible_passes(
        self, estimates: dict[str, list[PassEstimate]]
    ) -> dict[str, list[PassEstimate]]:
        """Drop passes expecting more matches than records (see :meth:`_max_matches`); when
        every pass does, keep the one expecting the fewest. Each dropped pass is a warning."""
        bound = self._max_matches()
        kept = {n: [p for p in ps if p.expected <= bound] for n, ps in estimates.items()}
        fewest = None
        if any(estimates.values()) and not any(kept.values()):
            fewest = min(p.expected for ps in estimates.values() for p in ps)
            kept = {n: [p for p in ps if p.expected == fewest] for n, ps in estimates.items()}
        for record in self.diagnostics.passes:
            if record.kind == "supplementary" or record.expected_matches <= bound:
                continue
            if record.expected_matches == fewest:
                code = "all_passes_implausible"
                message = (
                    f"every EM pass expects more matches than records; keeping pass "
                    f"{record.rule!r}, which expects the fewest"
                )
            else:
                record.used = False
                code = "pass_discarded"
                message = f"EM pass {record.rule!r} expects more matches than records: discarded"
            self.diagnostics.warn(
                logger,
                code,
                message,
                step="estimate_m",
                rule=record.rule,
                expected_matches=round(record.expected_matches, 1),
                bound=bound,
            )
        return kept
