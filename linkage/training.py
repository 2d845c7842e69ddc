"""Training a Fellegi-Sunter model: u from random pairs, m by EM per training block (or from
labelled matches), lambda.

:class:`Trainer` works on the tables a :class:`~linkage.linker.Linker` has loaded and on its
parameters, seen through the narrow :class:`~linkage.patterns.TrainingData` interface; the
linker's ``estimate_*`` methods call it. Every EM pass runs on aggregated
gamma patterns (``GROUP BY`` in DuckDB), never on individual pairs. Each pass is checked
before its estimates are used (see :meth:`Trainer.estimate_m`): a block in which the
independence assumption fails, or where EM settles on the wrong class (households instead of
people), is held fixed, rejected or replaced.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from linkage.backend import DuckDBBackend
from linkage.blocking import RID, BlockingRule, block_on, pairs_sql
from linkage.comparisons import Comparison, ExactMatchLevel
from linkage.dependencies import MIN_PAIRS_FOR_CONSTRAINT_CHECK, DependencyTraining
from linkage.errors import ModelNotTrainedError, SettingsError
from linkage.model import ModelParameters, expectation_maximisation, lambda_from_weights
from linkage.patterns import TrainingData, level_shares, level_tallies, pattern_counts
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tables import GAMMA_TABLE, LEFT_TABLE, RIGHT_TABLE

logger = logging.getLogger(__name__)

# Two comparisons are treated as correlated among non-matches when random pairs agree
# exactly on both at least this many times more often than independence predicts ...
CORRELATION_LIFT = 4.0
# ... and at least this many random pairs do (below that the lift is noise)
MIN_CORRELATED_PAIRS = 5
# Supplementary training blocks tried before giving up (each costs one EM pass)
MAX_SUPPLEMENTARY_TRIES = 4

# m for one comparison from one EM pass: (m by gamma, block match rate, expected matches)
PassEstimate = tuple[np.ndarray, float, float]


class Trainer(DependencyTraining):
    """Estimates the parameters of one linker (see the module docstring)."""

    def __init__(self, linker: TrainingData) -> None:
        self.linker = linker
        #: gamma patterns of the random sample and their counts (set by estimate_u)
        self.random: tuple[np.ndarray, np.ndarray] | None = None

    # the linker's data and parameters
    @property
    def settings(self) -> LinkageSettings:
        return self.linker.settings

    @property
    def backend(self) -> DuckDBBackend:
        return self.linker.backend

    @property
    def parameters(self) -> ModelParameters:
        return self.linker.parameters

    @property
    def comparisons(self) -> list[Comparison]:
        return self.linker.comparisons

    @property
    def counts(self) -> dict[str, int]:
        return self.linker.counts

    @property
    def total_pairs(self) -> int:
        return self.linker.total_pairs

    @property
    def right_table(self) -> str:
        return RIGHT_TABLE if self.settings.link_type == "link_only" else LEFT_TABLE

    def ensure_gammas(self) -> None:
        self.linker.ensure_gammas()

    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return pattern_counts(self.backend, sql, columns)

    def estimate_u(self, max_pairs: int = 1_000_000, *, seed: int = 1) -> None:
        """u from about ``max_pairs`` random record pairs (deterministic given ``seed``).

        Random pairs are almost all non-matches, so each level's share among them estimates
        u. Levels never seen get half a count, not zero, to keep weights finite. The sample's
        patterns are kept for the correlation checks of the EM passes.
        """
        if max_pairs < 1:
            raise SettingsError("max_pairs must be >= 1")
        rng = np.random.default_rng(seed)
        n_l = self.counts[LEFT_TABLE]
        if self.settings.link_type == "link_only":
            k = math.ceil(math.sqrt(max_pairs))
            left = np.sort(rng.choice(n_l, size=min(k, n_l), replace=False))
            n_r = self.counts[RIGHT_TABLE]
            right = np.sort(rng.choice(n_r, size=min(k, n_r), replace=False))
        else:
            k = math.ceil((1 + math.sqrt(1 + 8 * max_pairs)) / 2)
            left = right = np.sort(rng.choice(n_l, size=min(k, n_l), replace=False))
        self.backend.register_frame("__sample_l", pl.DataFrame({"rid": left.astype(np.int32)}))
        self.backend.register_frame("__sample_r", pl.DataFrame({"rid": right.astype(np.int32)}))
        self.random = self._random_patterns()
        patterns, counts = self.random
        for j, c in enumerate(self.comparisons):
            params = self.parameters.comparisons[c.name]
            params.u = [*level_shares(patterns[:, j], counts, len(params.u))]
        logger.info("estimated u from %d random pairs", int(counts.sum()))

    def _gamma_select(self, comparisons: Sequence[Comparison]) -> str:
        return ", ".join(
            f"{c.gamma_sql(self.backend.dialect)} AS {quote(c.gamma_column)}" for c in comparisons
        )

    def _random_patterns(self) -> tuple[np.ndarray, np.ndarray]:
        """Gamma patterns of the sampled random pairs and their counts."""
        rid = quote(RID)
        pair_filter = ""
        if self.settings.link_type == "dedupe_only":
            pair_filter = f"WHERE l.{rid} < r.{rid}"
        sql = (
            f"SELECT {self._gamma_select(self.comparisons)} FROM "
            f"(SELECT t.* FROM {quote(LEFT_TABLE)} t JOIN __sample_l s ON t.{rid} = s.rid) l, "
            f"(SELECT t.* FROM {quote(self.right_table)} t JOIN __sample_r s "
            f"ON t.{rid} = s.rid) r {pair_filter}"
        )
        return self._patterns(sql, [c.gamma_column for c in self.comparisons])

    def estimate_m_from_pairs(self, pairs_table: str) -> int:
        """m as each level's share among labelled matches (table ``pairs_table`` of row ids
        ``rid_l, rid_r``), with half a count added to every level so that a level unseen
        among them keeps a finite weight. Returns the number of pairs read."""
        rid = quote(RID)
        sql = (
            f"SELECT {self._gamma_select(self.comparisons)} FROM {quote(pairs_table)} t "
            f"JOIN {quote(LEFT_TABLE)} l ON l.{rid} = t.rid_l "
            f"JOIN {quote(self.right_table)} r ON r.{rid} = t.rid_r"
        )
        patterns, counts = self._patterns(sql, [c.gamma_column for c in self.comparisons])
        for j, c in enumerate(self.comparisons):
            params = self.parameters.comparisons[c.name]
            seen = level_tallies(patterns[:, j], counts, len(params.m))
            smoothed = seen + 0.5
            params.m = [float(t) for t in smoothed / smoothed.sum()]
            logger.debug("m for %s from %d labelled pairs", c.name, int(seen.sum()))
        logger.info("estimated m from %d labelled pairs", int(counts.sum()))
        return int(counts.sum())

    def estimate_m(
        self,
        blocking_rules: Sequence[BlockingRule] | None = None,
        *,
        combine: Literal["purest", "mean"] = "mean",
        supplement: bool = True,
    ) -> None:
        """m by EM (u held fixed), one pass per training blocking rule.

        Default passes: the prediction rules, read back from the stored comparison vectors
        (nothing is recomputed). EM assumes comparisons are independent given match status;
        within a block that fails for some, so a pass holds fixed (leaves out):

        * comparisons reading a column the rule blocks on (every pair agrees on them);
        * comparisons correlated with those among *random* pairs (lift of joint exact
          agreement >= 4 over >= 5 pairs): in a postcode block, non-matches share a town
          and street, which EM would otherwise read as evidence of a match;
        * comparisons the block constrains (a level common among random pairs all but
          absent, e.g. "dob over 10 years apart" in a block on birth year).

        A pass is discarded as implausible when it expects more matches than records on the
        smaller side (link_only) or records (dedupe_only). With ``supplement``, comparisons
        still untrained get one more pass on a block chosen from the random sample (see
        :meth:`_supplementary_rule`). ``combine`` merges passes that estimate the same
        comparison: ``"mean"`` (default, as Splink) or ``"purest"`` (highest match rate).
        """
        if combine not in ("purest", "mean"):
            raise SettingsError("combine must be 'purest' or 'mean'")
        self.parameters.check_trained()
        if self.random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_m")
        if blocking_rules is None:
            self.ensure_gammas()
        rules = list(blocking_rules or self.settings.blocking_rules)
        estimates: dict[str, list[PassEstimate]] = {c.name: [] for c in self.comparisons}
        for k, rule in enumerate(rules):
            stored = k if blocking_rules is None else None
            for name, estimate in self._em_pass(rule, stored).items():
                estimates[name].append(estimate)
        estimates = self._plausible_passes(estimates)
        untrained = [n for n, e in estimates.items() if not e]
        if untrained and supplement:
            for name, found in self._supplementary_pass(untrained).items():
                estimates[name].append(found)
            untrained = [n for n, e in estimates.items() if not e]
        if untrained:
            logger.warning("m not estimated for %s: keeping previous values", ", ".join(untrained))
        for name, passes in estimates.items():
            if not passes:
                continue
            if combine == "mean":
                m = np.mean([p[0] for p in passes], axis=0)
            else:
                m = max(passes, key=lambda p: p[1])[0]
            self.parameters.comparisons[name].m = [float(v) for v in m]

    def _em_pass(self, rule: BlockingRule, stored: int | None) -> dict[str, PassEstimate]:
        """One EM pass over the pairs ``rule`` finds (read from the stored vectors when
        ``stored`` is the rule's index there). Returns estimates per comparison used."""
        blocked = [c for c in self.comparisons if set(c.columns()) & set(rule.columns)]
        used = [c for c in self.comparisons if c not in blocked]
        correlated = [c for c in used if any(self._correlated(c, b) for b in blocked)]
        if correlated:
            logger.info(
                "EM pass %r holds %s fixed: correlated with the block key",
                rule.name,
                ", ".join(c.name for c in correlated),
            )
        used = [c for c in used if c not in correlated]
        if not used:
            logger.warning("training rule %r fixes every comparison; skipped", rule.name)
            return {}
        if stored is not None:
            sql = f"SELECT * FROM {GAMMA_TABLE} WHERE (rules_mask & {1 << stored}) <> 0"
        else:
            select = [self._gamma_select(used)]
            sql = pairs_sql([rule], self.settings.link_type, LEFT_TABLE, self.right_table, select)
        patterns, counts = self._patterns(sql, [c.gamma_column for c in used])
        if counts.sum() == 0:
            logger.warning("training rule %r found no pairs; skipped", rule.name)
            return {}
        free = [j for j, c in enumerate(used) if not self._constrained(c, patterns[:, j], counts)]
        if len(free) < len(used):
            logger.info(
                "EM pass %r holds %s fixed: the block constrains them",
                rule.name,
                ", ".join(used[j].name for j in range(len(used)) if j not in free),
            )
            if not free:
                return {}
            used = [used[j] for j in free]
            patterns, inverse = np.unique(patterns[:, free], axis=0, return_inverse=True)
            counts = np.bincount(inverse.ravel(), weights=counts)
        result = expectation_maximisation(
            patterns,
            counts,
            [np.asarray(self.parameters.comparisons[c.name].m, dtype=float) for c in used],
            [np.asarray(self.parameters.comparisons[c.name].u, dtype=float) for c in used],
            0.1,
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )
        logger.info(
            "EM pass %r: %d pairs, %d patterns, %d iterations, match rate %.3g",
            rule.name,
            int(counts.sum()),
            len(counts),
            result.iterations,
            result.lambda_,
        )
        expected = result.lambda_ * float(counts.sum())
        return {c.name: (m, result.lambda_, expected) for c, m in zip(used, result.m, strict=True)}

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

    def _max_matches(self) -> float:
        """Upper bound on matches used for plausibility: one per record on the smaller side
        (link_only) or one per record (dedupe_only)."""
        if self.settings.link_type == "link_only":
            return float(min(self.counts[LEFT_TABLE], self.counts[RIGHT_TABLE]))
        return float(self.counts[LEFT_TABLE])

    def _supplementary_pass(self, untrained: Sequence[str]) -> dict[str, PassEstimate]:
        """One more EM pass for comparisons no training rule could estimate.

        Candidate blocks come from :meth:`_supplementary_rules`, smallest first; the first
        whose pass is plausible is used. A pass is rejected when it expects more matches than
        there can be: in a block on postcode and surname of a large file the households
        outnumber the matches, EM takes "same household" for the match class and a date of
        birth would come out as barely mattering.
        """
        bound = self._max_matches()
        for rule in self._supplementary_rules(untrained)[:MAX_SUPPLEMENTARY_TRIES]:
            found = {n: e for n, e in self._em_pass(rule, None).items() if n in untrained}
            if not found:
                continue
            expected = max(e[2] for e in found.values())
            if expected > bound:
                logger.info(
                    "supplementary EM pass %r expects %.0f matches, more than %.0f "
                    "records: rejected",
                    rule.name,
                    expected,
                    bound,
                )
                continue
            logger.info("supplementary EM pass %r for %s", rule.name, ", ".join(found))
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
                    self._correlated(t, c) for t in targets for c in (ca, cb)
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
        bound = self._max_matches()
        kept = {n: [p for p in ps if p[2] <= bound] for n, ps in estimates.items()}
        if any(estimates.values()) and not any(kept.values()):
            fewest = min(p[2] for ps in estimates.values() for p in ps)
            logger.warning(
                "every EM pass expects more matches than records; keeping the pass "
                "expecting the fewest (%.0f)",
                fewest,
            )
            kept = {n: [p for p in ps if p[2] == fewest] for n, ps in estimates.items()}
        dropped = sum(len(ps) for ps in estimates.values()) - sum(len(ps) for ps in kept.values())
        if dropped:
            logger.info("discarded %d implausible pass estimate(s)", dropped)
        return kept

    def estimate_lambda(self) -> float:
        """Global lambda: expected matches among candidates / all possible pairs."""
        self.parameters.check_trained()
        self.ensure_gammas()
        columns = [c.gamma_column for c in self.comparisons]
        patterns, counts = self._patterns(f"SELECT * FROM {GAMMA_TABLE}", columns)
        if counts.size == 0:
            raise ModelNotTrainedError("blocking rules found no candidate pairs")
        log2_bf = self.parameters.log2_bayes_factors([c.name for c in self.comparisons], patterns)
        lam = lambda_from_weights(
            log2_bf,
            counts,
            float(self.total_pairs),
            self.parameters.probability_two_random_records_match,
        )
        self.parameters.probability_two_random_records_match = lam
        logger.info("estimated lambda %.3g", lam)
        return lam
