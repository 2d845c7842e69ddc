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

import copy
import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from linkage.anchors import Anchor, anchor_of
from linkage.backend import DuckDBBackend
from linkage.blocking import RID, BlockingRule, agreement_count_sql
from linkage.comparisons import Comparison
from linkage.dependencies import DEPENDENCE_LIFT, DependencyTraining
from linkage.diagnostics import TrainingDiagnostics
from linkage.errors import ModelNotTrainedError, SettingsError
from linkage.key_refits import KeyRefitTraining, combined_m
from linkage.model import ModelParameters, lambda_from_weights
from linkage.passes import MIN_PASS_MATCHES, MIN_PASS_PAIRS, PassEstimate, PassKind
from linkage.patterns import (
    CandidatePatterns,
    TrainingData,
    level_shares,
    level_tallies,
    pattern_counts,
)
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.stored_blocks import stored_agreeing
from linkage.tables import LEFT_TABLE, RIGHT_TABLE

logger = logging.getLogger(__name__)


class Trainer(KeyRefitTraining, DependencyTraining):
    """Estimates the parameters of one linker (see the module docstring)."""

    def __init__(self, linker: TrainingData) -> None:
        self.linker = linker
        #: gamma patterns of the random sample and their counts (set by estimate_u)
        self.random: tuple[np.ndarray, np.ndarray] | None = None
        #: what estimate_m found, for refine_m: estimates per comparison and how to combine
        self.pass_estimates: dict[str, list[PassEstimate]] = {}
        #: the stored comparison vectors, aggregated (the gamma table never changes)
        self._candidates: CandidatePatterns | None = None
        #: record pairs agreeing on each set of columns (the loaded tables never change)
        self._agreeing: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self.combine = "mean"

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
    def diagnostics(self) -> TrainingDiagnostics:
        return self.linker.diagnostics

    @property
    def right_table(self) -> str:
        return RIGHT_TABLE if self.settings.link_type == "link_only" else LEFT_TABLE

    def ensure_gammas(self) -> None:
        self.linker.ensure_gammas()

    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return pattern_counts(self.backend, sql, columns)

    def candidates(self) -> CandidatePatterns:
        if self._candidates is None:
            self._candidates = self.linker.candidate_patterns()
        return self._candidates

    def _block_match_rate(self, rule_index: int) -> float | None:
        rule = self.settings.blocking_rules[rule_index]

        def recorded() -> float | None:
            passes = self.diagnostics.passes
            found = [p for p in passes if p.kind == "prediction" and p.rule == rule.name]
            return found[-1].match_rate if found else None

        if recorded() is None:  # estimate_m was given other training rules
            self.ensure_gammas()
            self._em_pass(rule, rule_index)
        return recorded()

    def _stored_agreeing(
        self, columns: frozenset[str], present: frozenset[str] = frozenset()
    ) -> CandidatePatterns | None:
        rules = self.settings.blocking_rules
        return stored_agreeing(self.candidates(), rules, self.comparisons, columns, present)

    def _agreeing_pairs(self, columns: Sequence[str], present: Sequence[str] = ()) -> int:
        key = (tuple(columns), tuple(present))
        if key not in self._agreeing:
            stored = self._stored_agreeing(frozenset(columns), frozenset(present))
            if stored is not None:
                self._agreeing[key] = round(stored.pairs)
            else:  # a GROUP BY over both tables: counted once
                link_type = self.settings.link_type
                sql = agreement_count_sql(
                    columns, link_type, LEFT_TABLE, self.right_table, present=present
                )
                self._agreeing[key] = int(self.backend.rows(sql)[0][0])
        return self._agreeing[key]

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

        A pass needs two free comparisons (over one, any m fits). A pass is discarded as
        implausible when it expects more matches than records on the smaller side
        (link_only) or records (dedupe_only). With ``supplement``, comparisons still
        untrained get one more pass on a block chosen from the random sample (see
        :meth:`_supplementary_rules`; at least 1,000 pairs and 50 expected matches).
        ``combine`` merges passes that estimate the same comparison: ``"mean"`` (default, as
        Splink) or ``"purest"`` (highest match rate). Every pass is recorded in
        ``diagnostics.passes``; non-convergence, discarded and fallback passes and
        comparisons left untrained are training warnings.
        """
        if combine not in ("purest", "mean"):
            raise SettingsError("combine must be 'purest' or 'mean'")
        self.parameters.check_trained()
        if self.random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_m")
        if blocking_rules is None:
            self.ensure_gammas()
        self.diagnostics.clear("estimate_m")
        self.diagnostics.passes = []
        estimates = self._pass_estimates(blocking_rules, supplement=supplement)
        self._warn_small_passes(estimates)
        self.pass_estimates = estimates
        self.combine = combine
        for name, passes in estimates.items():
            if passes:
                m = combined_m(passes, combine)
                self.parameters.comparisons[name].m = [float(v) for v in m]

    def _pass_estimates(
        self, blocking_rules: Sequence[BlockingRule] | None, *, supplement: bool
    ) -> dict[str, list[PassEstimate]]:
        """Each comparison's plausible EM pass estimates: one pass per rule (the stored
        prediction-rule vectors when ``blocking_rules`` is None), a supplementary pass for
        comparisons none of them trained, and a warning for any still untrained."""
        rules = list(blocking_rules or self.settings.blocking_rules)
        estimates: dict[str, list[PassEstimate]] = {c.name: [] for c in self.comparisons}
        for k, rule in enumerate(rules):
            stored = k if blocking_rules is None else None
            kind: PassKind = "prediction" if blocking_rules is None else "training"
            for name, estimate in self._em_pass(rule, stored, kind=kind).items():
                estimates[name].append(estimate)
        estimates = self._plausible_passes(estimates)
        untrained = [n for n, e in estimates.items() if not e]
        if untrained and supplement:
            for name, found in self._supplementary_pass(untrained, estimates).items():
                estimates[name].append(found)
            untrained = [n for n, e in estimates.items() if not e]
        for name in untrained:
            self.diagnostics.warn(
                logger,
                "m_not_estimated",
                f"m not estimated for {name}: keeping its previous values",
                step="estimate_m",
                comparison=name,
            )
        return estimates

    def refine_m(self) -> bool:
        """After :meth:`estimate_dependencies`, m again for comparisons a household does not
        share, from the passes outside the blocks of household anchors (anchors whose
        dependents agree far more often there than among random pairs) when there are any:
        among people sharing an address, first names, dates of birth and sex are not those
        of random pairs, and EM there learns households. True when any m changed (estimate
        the dependencies again then).

        Comparisons no pass outside those blocks could estimate are estimated again in those
        blocks, now with the anchor's dependents at their u given it
        (:meth:`_m_under_households`): the first pass there took a shared surname at its
        random-pair u, so household members whose first names differ read as matches, and
        first name's m on W-2 forms deduplicated counted a disagreement at 0.17 of matches
        (0.04 after; about 0.03-0.06 in truth). EM over all candidates under the whole model
        was tried for them before and drifts to households (a date of birth learnt from a
        postcode block went from -15 to -3 bits for dates far apart on generated data; F1
        0.944 to 0.923)."""
        households = self._without_household_passes()
        return bool(self._passes_given_keys()) or bool(households)

    def _without_household_passes(self) -> list[str]:
        """Re-estimate m of non-household comparisons without household blocks (see
        :meth:`refine_m`); returns the comparisons re-estimated."""
        deps = {
            name: d
            for name, d in self.parameters.dependencies.items()
            if d.u_top[-1] >= DEPENDENCE_LIFT * (self.parameters.comparisons[name].u[-1] or 1.0)
            and name not in self.key_dependents
        }
        anchors = {d.anchor for d in deps.values()}
        shared = set(deps) | {a for d in deps.values() for a in d.anchor}
        household: dict[str, Anchor] = {}
        for rule in self.settings.blocking_rules:
            anchor = anchor_of(rule, self.comparisons, self.parameters)
            if anchor is not None and anchor.names in anchors:
                household[rule.name] = anchor
        changed = []
        for name, passes in self.pass_estimates.items():
            if name in shared:
                continue
            outside = [p for p in passes if p.rule not in household]
            m: np.ndarray | None
            if outside and len(outside) < len(passes):
                m = combined_m(outside, self.combine)
            elif passes and not outside:
                m = self._m_under_households(name, [(household[p.rule], p) for p in passes])
            else:
                continue
            if m is not None:
                self.parameters.comparisons[name].m = [float(v) for v in m]
                changed.append(name)
        return changed

    def _m_under_households(
        self, name: str, blocks: list[tuple[Anchor, PassEstimate]]
    ) -> np.ndarray | None:
        """m of ``name``, trained only in household blocks, by EM again over the pairs
        agreeing on each block's anchor with the anchor's dependents at their u given it
        (a shared surname there is a household's, not a match's), the other m held; the
        mean over the blocks. A refit that expects more matches in its block than the first
        pass did is drifting to households (conditioning on them can only explain agreement
        away) and is not used; None when no refit is."""
        comparison = next(c for c in self.comparisons if c.name == name)
        found = []
        for anchor, first in blocks:
            used = [c for c in self.comparisons if c not in anchor.parts]
            deps = self.parameters.dependencies.items()
            given = {n: d.u_top for n, d in deps if d.anchor == anchor.names}
            # household key dependents: their u given the block's anchor alone
            given |= {n: d.u_prefix for n, d in deps if d.anchor[: d.prefix] == anchor.names}
            rows = self._anchor_rows(anchor)[0]
            fit = self._em_on(rows, used, [comparison], given, estimate_u=False, lambda_init=0.05)
            if fit is not None and fit.lambda_ <= first.match_rate:
                found.append(np.asarray(fit.m[used.index(comparison)], dtype=float))
        return np.mean(found, axis=0) if found else None

    def estimate_untrained_m(self) -> list[str]:
        """m of the comparisons no EM pass estimated (warned ``m_not_estimated``) by EM over
        all candidate pairs under the whole model: the trained comparisons, the dependencies
        and u held, lambda global (:meth:`reestimate_m`). Their starting m (4x per level) is
        arbitrary: linking census to W-2 forms, where no block could train first name or
        surname, it put an exact name at m 0.75 (0.94-0.96 in truth) and cost 0.034 F1.

        Each starts at its u (no evidence, so the trained comparisons alone decide the first
        posterior) and its dependencies' m follow it (a match's name does not change with
        its address). Nothing is done when no comparison was trained (then nothing tells
        matches from non-matches; every pass was implausible). Refused, the starting m and
        the warning kept, when the result expects more matches than records
        (:meth:`_max_matches`): households taken for people. Returns the comparisons
        estimated."""
        warned = {w.comparison for w in self.diagnostics.warnings if w.code == "m_not_estimated"}
        names = [c.name for c in self.comparisons if c.name in warned]
        if not names or len(names) == len(self.comparisons):
            return []  # with nothing trained, nothing tells the classes apart
        params = self.parameters
        before = copy.deepcopy((params.comparisons, params.dependencies))
        lam = params.probability_two_random_records_match
        for name in names:
            params.comparisons[name].m = [u or 0.0 for u in params.comparisons[name].u]
        self.reestimate_m(names, tie_dependents=True)
        expected = self.parameters.probability_two_random_records_match * self.total_pairs
        if expected > self._max_matches():
            logger.info(
                "m of %s under the whole model expects %.0f matches: not used", names, expected
            )
            params.comparisons, params.dependencies = before
            params.probability_two_random_records_match = lam
            return []
        self._warn_estimated_over_candidates(names)
        return names

    def _warn_estimated_over_candidates(self, names: Sequence[str]) -> None:
        """``m_from_all_candidates`` in place of ``m_not_estimated`` for ``names``."""
        self.diagnostics.withdraw("m_not_estimated", names)
        for name in names:
            self.diagnostics.warn(
                logger,
                "m_from_all_candidates",
                f"no EM pass could train {name}: m estimated over all candidate pairs "
                "under the whole model",
                step="estimate_m",
                comparison=name,
            )

    def _warn_small_passes(self, estimates: dict[str, list[PassEstimate]]) -> None:
        """A warning for each comparison whose m rests only on small passes."""
        for name, passes in estimates.items():
            if passes and max(p.expected for p in passes) < MIN_PASS_MATCHES:
                self.diagnostics.warn(
                    logger,
                    "small_training_block",
                    f"m for {name} comes from EM passes expecting fewer than "
                    f"{MIN_PASS_MATCHES:.0f} matches (or over fewer than {MIN_PASS_PAIRS} "
                    f"pairs): noisy",
                    step="estimate_m",
                    comparison=name,
                    expected_matches=round(max(p.expected for p in passes), 1),
                )

    def estimate_lambda(self) -> float:
        """Global lambda: expected matches among candidates / all possible pairs."""
        self.parameters.check_trained()
        patterns, counts = self.candidates().columns(range(len(self.comparisons)))
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
