"""The public facade: bind settings to data, train, score, cluster, explain, evaluate, persist."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from linkage import cluster as clustering
from linkage import evaluate as evaluation
from linkage.backend import DuckDBBackend, Source
from linkage.blocking import (
    RID,
    BlockingRule,
    block_on,
    count_sql,
    pairs_sql,
    truth_found_sql,
)
from linkage.comparisons import Comparison, ExactMatchLevel
from linkage.errors import InputDataError, ModelNotTrainedError, SettingsError
from linkage.explain import waterfall
from linkage.model import (
    Dependency,
    ModelParameters,
    expectation_maximisation,
    lambda_from_weights,
)
from linkage.predict import comparison_select, match_weight_sql, probability_sql
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tf import attach_tf_sql, tf_pair_column, tf_table_sql

logger = logging.getLogger(__name__)

MODEL_FORMAT = "pprl-linkage-model"
MODEL_VERSION = 1
LEFT_TABLE, RIGHT_TABLE, GAMMA_TABLE = "__left", "__right", "__gammas"
MIN_PAIRS_FOR_CONSTRAINT_CHECK = 1000
# Two comparisons are treated as correlated among non-matches when random pairs agree
# exactly on both at least this many times more often than independence predicts ...
CORRELATION_LIFT = 4.0
# ... and at least this many random pairs do (below that the lift is noise)
MIN_CORRELATED_PAIRS = 5
# A comparison depends on an anchor when non-matches sharing the anchor agree on it at
# least this many times as often as random pairs (see Linker.estimate_dependencies)
DEPENDENCE_LIFT = 2.0

# m for one comparison from one EM pass: (m by gamma, block match rate, expected matches)
PassEstimate = tuple[np.ndarray, float, float]


class Linker:
    """Fellegi-Sunter linkage of two datasets (``link_only``) or within one (``dedupe_only``).

    >>> linker = Linker(settings, left, right)          # doctest: +SKIP
    >>> linker.train()                                   # doctest: +SKIP
    >>> pairs = linker.predict(threshold="auto")         # doctest: +SKIP
    """

    def __init__(
        self,
        settings: LinkageSettings,
        left: Source,
        right: Source | None = None,
        *,
        parameters: ModelParameters | None = None,
    ) -> None:
        self.settings = settings
        link = settings.link_type == "link_only"
        if link and right is None:
            raise SettingsError("link_only needs two inputs (left and right)")
        if not link and right is not None:
            raise SettingsError("dedupe_only takes one input; pass right=None")
        self.backend = DuckDBBackend(
            memory_limit=settings.memory_limit,
            threads=settings.threads,
            temp_directory=settings.temp_directory,
        )
        self._right_table = RIGHT_TABLE if link else LEFT_TABLE
        sources = {LEFT_TABLE: left} if right is None else {LEFT_TABLE: left, RIGHT_TABLE: right}
        self._check_columns(sources)
        self.counts = {
            t: self.backend.load_input(t, s, settings.unique_id_column) for t, s in sources.items()
        }
        self._check_ids()
        self._attach_term_frequencies()
        self._attach_derived_columns()
        self.parameters = parameters or ModelParameters.initial(
            settings.comparisons, settings.probability_two_random_records_match
        )
        self._gammas_ready = False
        self._summary: evaluation.PosteriorSummary | None = None
        self._random: tuple[np.ndarray, np.ndarray] | None = None

    # --- set-up -------------------------------------------------------------------------
    @property
    def comparisons(self) -> list[Comparison]:
        return self.settings.comparisons

    @property
    def _tables(self) -> list[str]:
        return list(dict.fromkeys([LEFT_TABLE, self._right_table]))

    @property
    def total_pairs(self) -> int:
        """Number of possible record pairs (the denominator of lambda)."""
        n_l = self.counts[LEFT_TABLE]
        if self.settings.link_type == "link_only":
            return n_l * self.counts[RIGHT_TABLE]
        return n_l * (n_l - 1) // 2

    def _check_columns(self, sources: dict[str, Source]) -> None:
        required = self.settings.required_columns()
        problems = []
        for table, source in sources.items():
            have = set(self.backend.source_columns(source))
            side = "left" if table == LEFT_TABLE else "right"
            problems += [f"{side} input has no column {c!r}" for c in required if c not in have]
        if problems:
            raise InputDataError(problems)

    def _check_ids(self) -> None:
        id_col = quote(self.settings.unique_id_column)
        problems = []
        for table in self._tables:
            side = "left" if table == LEFT_TABLE else "right"
            nulls, dupes = self.backend.rows(
                f"SELECT count(*) FILTER (WHERE {id_col} IS NULL), "
                f"count({id_col}) - count(DISTINCT {id_col}) FROM {quote(table)}"
            )[0]
            if nulls:
                problems.append(f"{side} input: id column has {nulls} null value(s)")
            if dupes:
                problems.append(f"{side} input: id column has {dupes} duplicated value(s)")
        if problems:
            raise InputDataError(problems)

    def _attach_term_frequencies(self) -> None:
        for column in dict.fromkeys(c.tf_column for c in self.comparisons if c.tf_column):
            tf_table = f"__tf_table_{column}"
            self.backend.execute(tf_table_sql(column, self._tables, tf_table))
            for table in self._tables:
                self.backend.execute(attach_tf_sql(table, column, tf_table))

    def _attach_derived_columns(self) -> None:
        derived = {k: v for c in self.comparisons for k, v in c.derived_columns().items()}
        if not derived:
            return
        exprs = ", ".join(f"{sql} AS {quote(name)}" for name, sql in derived.items())
        for table in self._tables:
            self.backend.execute(
                f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT *, {exprs} FROM {quote(table)}"
            )

    # --- blocking -----------------------------------------------------------------------
    def blocking_report(self) -> pl.DataFrame:
        """Candidate pairs per rule, each counted once (by the first rule that finds it)."""
        rules = self.settings.blocking_rules
        counts = self.backend.rows(
            count_sql(rules, self.settings.link_type, LEFT_TABLE, self._right_table)
        )
        pairs = [int(c) for _, c in counts]
        return pl.DataFrame({
            "rule": [r.name for r in rules],
            "pairs": pairs,
            "cumulative_pairs": np.cumsum(pairs).tolist(),
        })

    def pair_completeness(self, true_links: pl.DataFrame) -> float:
        """Share of labelled links (``id_l, id_r``) that the blocking rules find."""
        self._register_truth(true_links)
        links, found = self.backend.rows(
            truth_found_sql(self.settings.blocking_rules, LEFT_TABLE, self._right_table,
                            "__truth")
        )[0]
        return found / links if links else 0.0

    def _register_truth(self, true_links: pl.DataFrame) -> None:
        missing = [c for c in ("id_l", "id_r") if c not in true_links.columns]
        if missing:
            raise InputDataError(f"true links need columns id_l and id_r (missing {missing})")
        self.backend.register_frame("__truth_ids", true_links.select("id_l", "id_r"))
        id_col = quote(self.settings.unique_id_column)
        self.backend.execute(
            f"CREATE OR REPLACE TABLE __truth AS SELECT l.{quote(RID)} AS rid_l, "
            f"r.{quote(RID)} AS rid_r FROM __truth_ids t "
            f"JOIN {quote(LEFT_TABLE)} l ON l.{id_col} = t.id_l "
            f"JOIN {quote(self._right_table)} r ON r.{id_col} = t.id_r"
        )

    # --- training -----------------------------------------------------------------------
    def _patterns(self, sql: str, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        cols = ", ".join(quote(c) for c in columns)
        rows = self.backend.frame(
            f"SELECT {cols}, count(*) AS n FROM ({sql}) GROUP BY ALL"
        )
        patterns = rows.select(columns).to_numpy().astype(np.int64).reshape(-1, len(columns))
        return patterns, rows["n"].to_numpy().astype(np.float64)

    def estimate_u(self, max_pairs: int = 1_000_000, *, seed: int = 1) -> None:
        """u from about ``max_pairs`` random record pairs (deterministic given ``seed``).

        Random pairs are almost all non-matches, so each level's share among them estimates
        u. Levels never seen get half a count, not zero, to keep weights finite. The sample is
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
        self._random = self._random_patterns()
        patterns, counts = self._random
        for j, c in enumerate(self.comparisons):
            params = self.parameters.comparisons[c.name]
            g = patterns[:, j]
            valid = g >= 0
            tallies = np.bincount(g[valid], weights=counts[valid], minlength=len(params.u))
            total = tallies.sum()
            params.u = [float(max(t, 0.5) / max(total, 1.0)) for t in tallies]
        self._summary = None
        logger.info("estimated u from %d random pairs", int(counts.sum()))

    def _random_patterns(self) -> tuple[np.ndarray, np.ndarray]:
        """Gamma patterns of the sampled random pairs and their counts."""
        rid = quote(RID)
        select = [f"{c.gamma_sql(self.backend.dialect)} AS {quote(c.gamma_column)}"
                  for c in self.comparisons]
        pair_filter = ""
        if self.settings.link_type == "dedupe_only":
            pair_filter = f"WHERE l.{rid} < r.{rid}"
        sql = (
            f"SELECT {', '.join(select)} FROM "
            f"(SELECT t.* FROM {quote(LEFT_TABLE)} t JOIN __sample_l s ON t.{rid} = s.rid) l, "
            f"(SELECT t.* FROM {quote(self._right_table)} t JOIN __sample_r s "
            f"ON t.{rid} = s.rid) r {pair_filter}"
        )
        return self._patterns(sql, [c.gamma_column for c in self.comparisons])

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
        if self._random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_m")
        if blocking_rules is None:
            self._ensure_gammas()
        rules = list(blocking_rules or self.settings.blocking_rules)
        estimates: dict[str, list[PassEstimate]] = {c.name: [] for c in self.comparisons}
        for k, rule in enumerate(rules):
            stored = k if blocking_rules is None else None
            for name, estimate in self._em_pass(rule, stored).items():
                estimates[name].append(estimate)
        estimates = self._plausible_passes(estimates)
        untrained = [n for n, e in estimates.items() if not e]
        if untrained and supplement:
            extra_rule = self._supplementary_rule(untrained)
            if extra_rule is not None:
                logger.info("supplementary EM pass %r for %s", extra_rule.name,
                            ", ".join(untrained))
                extra = self._plausible_passes({
                    n: [e] for n, e in self._em_pass(extra_rule, None).items() if n in untrained
                })
                for name, found in extra.items():
                    estimates[name] += found
            untrained = [n for n, e in estimates.items() if not e]
        if untrained:
            logger.warning("m not estimated for %s: keeping previous values",
                           ", ".join(untrained))
        for name, passes in estimates.items():
            if not passes:
                continue
            if combine == "mean":
                m = np.mean([p[0] for p in passes], axis=0)
            else:
                m = max(passes, key=lambda p: p[1])[0]
            self.parameters.comparisons[name].m = [float(v) for v in m]
        self._summary = None

    def _em_pass(self, rule: BlockingRule, stored: int | None) -> dict[str, PassEstimate]:
        """One EM pass over the pairs ``rule`` finds (read from the stored vectors when
        ``stored`` is the rule's index there). Returns estimates per comparison used."""
        blocked = [c for c in self.comparisons if set(c.columns()) & set(rule.columns)]
        used = [c for c in self.comparisons if c not in blocked]
        correlated = [c for c in used if any(self._correlated(c, b) for b in blocked)]
        if correlated:
            logger.info("EM pass %r holds %s fixed: correlated with the block key",
                        rule.name, ", ".join(c.name for c in correlated))
        used = [c for c in used if c not in correlated]
        if not used:
            logger.warning("training rule %r fixes every comparison; skipped", rule.name)
            return {}
        if stored is not None:
            sql = f"SELECT * FROM {GAMMA_TABLE} WHERE (rules_mask & {1 << stored}) <> 0"
        else:
            select = [f"{c.gamma_sql(self.backend.dialect)} AS {quote(c.gamma_column)}"
                      for c in used]
            sql = pairs_sql([rule], self.settings.link_type, LEFT_TABLE, self._right_table,
                            select)
        patterns, counts = self._patterns(sql, [c.gamma_column for c in used])
        if counts.sum() == 0:
            logger.warning("training rule %r found no pairs; skipped", rule.name)
            return {}
        free = [j for j, c in enumerate(used) if not self._constrained(c, patterns[:, j], counts)]
        if len(free) < len(used):
            logger.info("EM pass %r holds %s fixed: the block constrains them", rule.name,
                        ", ".join(used[j].name for j in range(len(used)) if j not in free))
            if not free:
                return {}
            used = [used[j] for j in free]
            patterns, inverse = np.unique(patterns[:, free], axis=0, return_inverse=True)
            counts = np.bincount(inverse.ravel(), weights=counts)
        result = expectation_maximisation(
            patterns, counts,
            [np.asarray(self.parameters.comparisons[c.name].m, dtype=float) for c in used],
            [np.asarray(self.parameters.comparisons[c.name].u, dtype=float) for c in used],
            0.1,
            max_iterations=self.settings.em_max_iterations,
            convergence=self.settings.em_convergence,
        )
        logger.info("EM pass %r: %d pairs, %d patterns, %d iterations, match rate %.3g",
                    rule.name, int(counts.sum()), len(counts), result.iterations,
                    result.lambda_)
        expected = result.lambda_ * float(counts.sum())
        return {c.name: (m, result.lambda_, expected)
                for c, m in zip(used, result.m, strict=True)}

    def _top_agreement(self, comparison: Comparison) -> np.ndarray:
        """Random pairs (pattern rows) at the comparison's most similar level."""
        assert self._random is not None
        j = self.comparisons.index(comparison)
        top = len(self.parameters.comparisons[comparison.name].u) - 1
        return np.asarray(self._random[0][:, j] == top)

    def _correlated(self, a: Comparison, b: Comparison) -> bool:
        """Do random non-matches agree on both far more often than independence predicts?

        A random sample holds a few true matches, which agree on everything and would make
        every pair of comparisons look correlated; pairs agreeing exactly on more than half
        of the other comparisons are left out as likely matches.
        """
        assert self._random is not None
        top = np.stack([self._top_agreement(c) for c in self.comparisons], axis=1)
        ia, ib = self.comparisons.index(a), self.comparisons.index(b)
        others = top.sum(axis=1) - top[:, ia] - top[:, ib]
        keep = others <= (len(self.comparisons) - 2) / 2
        counts = self._random[1][keep]
        in_a, in_b = top[keep, ia], top[keep, ib]
        joint = float(counts[in_a & in_b].sum())
        expected = float(counts[in_a].sum()) * float(counts[in_b].sum()) / float(counts.sum())
        # At most one match per record, so this many sampled pairs could be matches; most of
        # them were dropped above, and a tenth of the bound is kept as a margin for the rest.
        possible_matches = float(self._random[1].sum()) * self._max_matches() / self.total_pairs
        return (joint >= MIN_CORRELATED_PAIRS + 0.1 * possible_matches
                and joint >= CORRELATION_LIFT * expected)

    def _max_matches(self) -> float:
        """Upper bound on matches used for plausibility: one per record on the smaller side
        (link_only) or one per record (dedupe_only)."""
        if self.settings.link_type == "link_only":
            return float(min(self.counts[LEFT_TABLE], self.counts[RIGHT_TABLE]))
        return float(self.counts[LEFT_TABLE])

    def _supplementary_rule(self, untrained: Sequence[str]) -> BlockingRule | None:
        """A block on exact agreement of two other comparisons for training ``untrained``.

        Candidates are comparisons whose most similar level is an exact match on one column.
        A pair qualifies when it is uncorrelated (among random pairs) with each other and
        with every untrained comparison, and its expected block size (from u) is between
        1,000 pairs and 50 pairs per record; the smallest such block is chosen, as the one
        with the highest share of matches.
        """
        exact = {}
        for c in self.comparisons:
            top = next((v for v in c.levels if not v.is_null_level), None)
            if c.name not in untrained and isinstance(top, ExactMatchLevel):
                exact[c.name] = (c, top.column)
        targets = [c for c in self.comparisons if c.name in untrained]
        n_records = max(self.counts.values())
        best: tuple[float, BlockingRule] | None = None
        names = sorted(exact)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ca, cb = exact[a][0], exact[b][0]
                if self._correlated(ca, cb) or any(
                    self._correlated(t, c) for t in targets for c in (ca, cb)
                ):
                    continue
                size = (self.total_pairs * self.parameters.comparisons[a].u[-1]  # type: ignore[operator]
                        * self.parameters.comparisons[b].u[-1])
                if 1_000 <= size <= 50 * n_records and (best is None or size < best[0]):
                    best = (size, block_on(exact[a][1], exact[b][1]))
        return best[1] if best else None

    def _constrained(self, comparison: Comparison, gammas: np.ndarray,
                     counts: np.ndarray) -> bool:
        """True when the block all but rules out a level that is common among random pairs
        (e.g. "dob more than 10 years apart" in a block on birth year): the comparison is
        then a function of the block key, not evidence, and EM must hold it fixed."""
        u = self.parameters.comparisons[comparison.name].u
        valid = gammas >= 0
        total = counts[valid].sum()
        if total < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            return False
        share = np.bincount(gammas[valid], weights=counts[valid], minlength=len(u)) / total
        return any((ug or 0.0) >= 0.05 and sh <= 0.001 * (ug or 0.0)
                   for ug, sh in zip(u, share, strict=True))

    def _plausible_passes(
        self, estimates: dict[str, list[PassEstimate]]
    ) -> dict[str, list[PassEstimate]]:
        bound = self._max_matches()
        kept = {n: [p for p in ps if p[2] <= bound] for n, ps in estimates.items()}
        if any(estimates.values()) and not any(kept.values()):
            fewest = min(p[2] for ps in estimates.values() for p in ps)
            logger.warning("every EM pass expects more matches than records; keeping the pass "
                           "expecting the fewest (%.0f)", fewest)
            kept = {n: [p for p in ps if p[2] == fewest] for n, ps in estimates.items()}
        dropped = sum(len(ps) for ps in estimates.values()) - sum(len(ps) for ps in kept.values())
        if dropped:
            logger.info("discarded %d implausible pass estimate(s)", dropped)
        return kept

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
        if self._random is None:
            raise ModelNotTrainedError("call estimate_u before estimate_dependencies")
        self._ensure_gammas()
        self.parameters.dependencies = {}
        rules = self.settings.blocking_rules
        claimed: set[str] = set()
        by_rarity = sorted(self.comparisons,
                           key=lambda c: self.parameters.comparisons[c.name].u[-1] or 1.0)
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
            candidates = [c for c in self.comparisons
                          if c is not anchor and c.name not in claimed]
            found = self._dependencies_on(anchor, candidates)
            if not found:
                continue
            claimed |= {anchor.name, *found}
            self.parameters.dependencies.update(found)
            self._reestimate_anchor_m(anchor)
            logger.info("conditional m/u given %s for: %s", anchor.name, ", ".join(found))
        self._summary = None
        return self.parameters.dependencies

    def _em_on(self, where: str, used: Sequence[Comparison], free: Sequence[Comparison],
               u_override: dict[str, list[float]], *, estimate_u: bool,
               lambda_init: float, hold_m: bool = False) -> list[np.ndarray] | None:
        """EM over stored candidate pairs matching ``where``; only ``free`` comparisons'
        m (unless ``hold_m``) and u (with ``estimate_u``) move. None when fewer than 1,000
        pairs match."""
        patterns, counts = self._patterns(f"SELECT * FROM {GAMMA_TABLE} WHERE {where}",
                                          [c.gamma_column for c in used])
        if counts.sum() < MIN_PAIRS_FOR_CONSTRAINT_CHECK:
            return None
        params = self.parameters.comparisons
        result = expectation_maximisation(
            patterns, counts,
            [np.asarray(params[c.name].m, dtype=float) for c in used],
            [np.asarray(u_override.get(c.name, params[c.name].u), dtype=float) for c in used],
            lambda_init, estimate_u=estimate_u,
            free_m=[c in free and not hold_m for c in used], free_u=[c in free for c in used],
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
        patterns, counts = self._patterns(f"SELECT * FROM {GAMMA_TABLE}",
                                          [c.gamma_column for c in self.comparisons])
        params = self.parameters
        j = names.index(anchor.name)
        g = patterns[:, j]
        valid = g >= 0
        n_levels = len(params.comparisons[anchor.name].m)
        for _ in range(iterations):
            bf = params.log2_bayes_factors(names, patterns)
            lam = lambda_from_weights(bf, counts, float(self.total_pairs),
                                      params.probability_two_random_records_match)
            params.probability_two_random_records_match = lam
            p = 1.0 / (1.0 + np.exp2(-np.clip(bf + params.prior_weight(), -1000, 1000)))
            tallies = np.bincount(g[valid], weights=(counts * p)[valid], minlength=n_levels)
            new = tallies / max(float(tallies.sum()), 1e-300)
            old = np.asarray(params.comparisons[anchor.name].m, dtype=float)
            params.comparisons[anchor.name].m = [float(v) for v in new]
            if float(np.max(np.abs(new - old))) < self.settings.em_convergence:
                break

    def _dependencies_on(
        self, anchor: Comparison, dependents: Sequence[Comparison]
    ) -> dict[str, Dependency]:
        assert self._random is not None
        params = self.parameters.comparisons
        top = len(params[anchor.name].u) - 1
        a_gamma = quote(anchor.gamma_column)
        used = [c for c in self.comparisons if c is not anchor]
        # top: u starts at the observed level shares among pairs agreeing on the anchor
        shares = {}
        for c in dependents:
            g, n = self._patterns(f"SELECT * FROM {GAMMA_TABLE} WHERE {a_gamma} = {top}",
                                  [c.gamma_column])
            tallies = np.bincount(g[:, 0][g[:, 0] >= 0], weights=n[g[:, 0] >= 0],
                                  minlength=len(params[c.name].u))
            shares[c.name] = [float(max(t, 0.5) / max(tallies.sum(), 1.0)) for t in tallies]
        # screening fit, every m held: a candidate is dependent when non-matches sharing
        # the anchor agree on it at least DEPENDENCE_LIFT times as often as random pairs
        # (or it is correlated with the anchor as in estimate_m)
        screen = self._em_on(f"{a_gamma} = {top}", used, dependents, shares,
                             estimate_u=True, lambda_init=0.05, hold_m=True)
        if screen is None:
            logger.info("too few pairs agree on %r to model its dependents", anchor.name)
            return {}
        dependents = [c for c in dependents if self._correlated(anchor, c) or
                      screen[len(used) + used.index(c)][-1]
                      >= DEPENDENCE_LIFT * (params[c.name].u[-1] or 1.0)]
        if not dependents:
            return {}
        shares = {c.name: shares[c.name] for c in dependents}
        top_fit = self._em_on(f"{a_gamma} = {top}", used, dependents, shares,
                              estimate_u=True, lambda_init=0.05, hold_m=True)
        assert top_fit is not None
        # m given a disagreeing anchor differs only for parts that change with it (a move
        # changes the whole address): those correlated with it among random pairs
        moving = [c for c in dependents if self._correlated(anchor, c)]
        # other: u from random pairs whose anchor is known and disagrees
        patterns, counts = self._random
        j_anchor = self.comparisons.index(anchor)
        other_rows = (patterns[:, j_anchor] >= 0) & (patterns[:, j_anchor] != top)
        u_other = {}
        for c in dependents:
            g = patterns[other_rows, self.comparisons.index(c)]
            w = counts[other_rows]
            tallies = np.bincount(g[g >= 0], weights=w[g >= 0], minlength=len(params[c.name].u))
            u_other[c.name] = [float(max(t, 0.5) / max(tallies.sum(), 1.0)) for t in tallies]
        other_fit = None if not moving else self._em_on(
            f"{a_gamma} >= 0 AND {a_gamma} <> {top}", used, moving, u_other,
            estimate_u=False, lambda_init=0.5)
        out = {}
        for c in dependents:
            j = used.index(c)
            m_top = [float(v) for v in top_fit[j]]
            u_top = [float(v) for v in top_fit[len(used) + j]]
            m_other = params[c.name].m if other_fit is None or c not in moving else [
                float(v) for v in other_fit[j]]
            out[c.name] = Dependency(anchor.name, top, [float(v or 0.0) for v in m_top],
                                     u_top, [float(v or 0.0) for v in m_other], u_other[c.name])
        return out

    def estimate_lambda(self) -> float:
        """Global lambda: expected matches among candidates / all possible pairs."""
        self.parameters.check_trained()
        self._ensure_gammas()
        columns = [c.gamma_column for c in self.comparisons]
        patterns, counts = self._patterns(f"SELECT * FROM {GAMMA_TABLE}", columns)
        if counts.size == 0:
            raise ModelNotTrainedError("blocking rules found no candidate pairs")
        log2_bf = self.parameters.log2_bayes_factors([c.name for c in self.comparisons],
                                                     patterns)
        lam = lambda_from_weights(
            log2_bf, counts, float(self.total_pairs),
            self.parameters.probability_two_random_records_match,
        )
        self.parameters.probability_two_random_records_match = lam
        self._summary = None
        logger.info("estimated lambda %.3g", lam)
        return lam

    def train(
        self,
        *,
        max_pairs: int = 1_000_000,
        seed: int = 1,
        training_rules: Sequence[BlockingRule] | None = None,
    ) -> ModelParameters:
        """estimate_u, estimate_m (one pass per training rule; default: the prediction
        rules), estimate_dependencies, then estimate_lambda."""
        self.estimate_u(max_pairs, seed=seed)
        self.estimate_m(training_rules)
        self.estimate_dependencies()
        self.estimate_lambda()
        return self.parameters

    # --- scoring ------------------------------------------------------------------------
    def _ensure_gammas(self) -> None:
        if self._gammas_ready:
            return
        select = comparison_select(self.comparisons, self.backend.dialect)
        sql = pairs_sql(self.settings.blocking_rules, self.settings.link_type, LEFT_TABLE,
                        self._right_table, select)
        self.backend.execute(f"CREATE OR REPLACE TABLE {GAMMA_TABLE} AS {sql}")
        self._gammas_ready = True

    def _scored_sql(self) -> str:
        self.parameters.check_trained()
        self._ensure_gammas()
        weight = match_weight_sql(self.comparisons, self.parameters)
        return (
            f"SELECT *, {probability_sql('match_weight')} AS match_probability FROM "
            f"(SELECT *, {weight} AS match_weight FROM {GAMMA_TABLE})"
        )

    def posterior_summary(self) -> evaluation.PosteriorSummary:
        """Unsupervised expected match count and the automatic threshold (see evaluate)."""
        if self._summary is None:
            histogram = self.backend.frame(
                f"SELECT min(match_probability) AS probability, count(*) AS pairs, "
                f"sum(match_probability) AS sum_probability FROM ({self._scored_sql()}) "
                f"GROUP BY round(match_weight, 2)"
            )
            self._summary = evaluation.posterior_summary(histogram)
        return self._summary

    def auto_threshold(self) -> float:
        """The probability cut maximising expected F1 under the model's posterior."""
        return self.posterior_summary().auto_threshold

    def predict(self, threshold: float | Literal["auto"] | None = None) -> pl.DataFrame:
        """Score candidate pairs: ``id_l, id_r, match_weight, match_probability, match_key,
        gamma_*`` (and ``tf_*``). ``threshold`` keeps pairs with probability >= it; ``"auto"``
        uses :meth:`auto_threshold`; ``None`` returns every candidate pair."""
        if threshold == "auto":
            threshold = self.auto_threshold()
        where = ""
        if threshold is not None:
            if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
                raise SettingsError("threshold must be a probability in [0, 1], 'auto' or None")
            where = f"WHERE s.match_probability >= {float(threshold)!r}"
        id_col, rid = quote(self.settings.unique_id_column), quote(RID)
        extra = [quote(c.gamma_column) for c in self.comparisons]
        extra += [quote(tf_pair_column(c.name)) for c in self.comparisons if c.tf_column]
        select = ", ".join(f"s.{c}" for c in extra)
        return self.backend.frame(
            f"SELECT l.{id_col} AS id_l, r.{id_col} AS id_r, s.match_weight, "
            f"s.match_probability, s.match_key, {select} FROM ({self._scored_sql()}) s "
            f"JOIN {quote(LEFT_TABLE)} l ON l.{rid} = s.rid_l "
            f"JOIN {quote(self._right_table)} r ON r.{rid} = s.rid_r {where}"
        )

    # --- decisions ----------------------------------------------------------------------
    def one_to_one(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Greedy one-to-one matching by weight (link_only): no id appears twice per side."""
        if self.settings.link_type != "link_only":
            raise SettingsError("one_to_one applies to link_only")
        return clustering.one_to_one(pairs)

    def cluster(self, pairs: pl.DataFrame, threshold: float = 0.9) -> pl.DataFrame:
        """Connected components over pairs with probability >= ``threshold``.

        Every input record gets a row. ``cluster_id`` is the smallest member id (dedupe); for
        link_only it is that id prefixed by its side (``"l:"``/``"r:"``) so ids from the two
        inputs cannot collide. Reruns on the same data give the same ids.
        """
        id_col, rid = quote(self.settings.unique_id_column), quote(RID)
        left = self.backend.frame(f"SELECT {id_col} AS id FROM {LEFT_TABLE} ORDER BY {rid}")
        edges = pairs.filter(pl.col("match_probability") >= threshold).select("id_l", "id_r")
        left_ix = left.with_row_index("node")
        a = edges.join(left_ix.rename({"id": "id_l", "node": "a"}), on="id_l")
        if self.settings.link_type == "dedupe_only":
            nodes = left
            a = a.join(left_ix.rename({"id": "id_r", "node": "b"}), on="id_r")
        else:
            right = self.backend.frame(
                f"SELECT {id_col} AS id FROM {RIGHT_TABLE} ORDER BY {rid}"
            )
            right_ix = right.with_row_index("node").with_columns(
                pl.col("node") + left.height
            )
            a = a.join(right_ix.rename({"id": "id_r", "node": "b"}), on="id_r")
            nodes = pl.concat([
                left.select(pl.lit("left").alias("source_dataset"), "id"),
                right.select(pl.lit("right").alias("source_dataset"), "id"),
            ], how="vertical_relaxed")
        smallest = clustering.component_minimum(
            nodes.height, a["a"].to_numpy().astype(np.int64), a["b"].to_numpy().astype(np.int64)
        )
        if self.settings.link_type == "dedupe_only":
            return nodes.with_columns(cluster_id=nodes["id"].gather(smallest))
        prefix = pl.when(pl.col("source_dataset") == "left").then(pl.lit("l:")).otherwise(
            pl.lit("r:"))
        labels = nodes.select((prefix + pl.col("id").cast(pl.String)).alias("label"))["label"]
        return nodes.with_columns(cluster_id=labels.gather(smallest))

    @staticmethod
    def classify(pairs: pl.DataFrame, match: float, review: float) -> pl.DataFrame:
        """Add ``decision``: ``match`` (p >= match), ``review`` (review <= p < match) or
        ``non_match``: the clerical-review band sits between the two thresholds."""
        if not 0.0 <= review <= match <= 1.0:
            raise SettingsError("thresholds must satisfy 0 <= review <= match <= 1")
        p = pl.col("match_probability")
        return pairs.with_columns(
            pl.when(p >= match).then(pl.lit("match"))
            .when(p >= review).then(pl.lit("review"))
            .otherwise(pl.lit("non_match")).alias("decision")
        )

    def explain(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Waterfall data: each comparison's weight and Bayes factor per pair."""
        return waterfall(pairs, self.comparisons, self.parameters)

    # --- evaluation ---------------------------------------------------------------------
    def evaluate(self, pairs: pl.DataFrame, true_links: pl.DataFrame,
                 threshold: float) -> evaluation.Metrics:
        """Precision, recall, F1 at ``threshold`` against labelled links."""
        return evaluation.evaluate(pairs, true_links, threshold,
                                   link_type=self.settings.link_type)

    def threshold_sweep(self, pairs: pl.DataFrame, true_links: pl.DataFrame,
                        thresholds: Sequence[float]) -> pl.DataFrame:
        return evaluation.threshold_sweep(pairs, true_links, thresholds,
                                          link_type=self.settings.link_type)

    # --- persistence --------------------------------------------------------------------
    def save_model(self, path: str | Path) -> None:
        """Write settings and trained parameters as JSON (atomically: temp file + rename)."""
        self.parameters.check_trained()
        payload: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "settings": self.settings.to_dict(),
            "parameters": self.parameters.to_dict(),
        }
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, indent=2)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load_model(cls, path: str | Path, left: Source, right: Source | None = None) -> Linker:
        """A linker with saved settings and parameters, ready to score ``left``/``right``."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read model file {Path(path).name!r} "
                                f"({type(exc).__name__})") from None
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise SettingsError(f"{Path(path).name!r} is not a {MODEL_FORMAT} file")
        if payload.get("version") != MODEL_VERSION:
            raise SettingsError(f"unsupported model version {payload.get('version')!r}")
        settings = LinkageSettings.from_dict(payload["settings"])
        parameters = ModelParameters.from_dict(payload["parameters"])
        if set(parameters.comparisons) != {c.name for c in settings.comparisons}:
            raise SettingsError("model parameters do not match the saved comparisons")
        return cls(settings, left, right, parameters=parameters)

    def close(self) -> None:
        self.backend.close()
