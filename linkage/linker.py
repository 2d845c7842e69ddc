"""The public facade: bind settings to data, train, score, cluster, explain, evaluate, persist."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

import linkage.checks as checks
import linkage.cluster as clustering
import linkage.evaluate as evaluation
from linkage.backend import DuckDBBackend, Source
from linkage.blocking import (
    RID,
    BlockingRule,
    count_sql,
    pairs_sql,
    truth_found_sql,
)
from linkage.comparisons import Comparison
from linkage.diagnostics import TrainingDiagnostics, TrainingWarning
from linkage.errors import InputDataError, SettingsError
from linkage.explain import explanation_columns, waterfall
from linkage.inputs import load_inputs
from linkage.model import (
    Dependency,
    ModelParameters,
)
from linkage.persist import SavedModel, atomic_path, read_model, write_model
from linkage.predict import (
    DEFAULT_PREDICT_THRESHOLD,
    comparison_select,
    match_weight_sql,
    probability_sql,
    scored_pairs_sql,
)
from linkage.settings import LinkageSettings
from linkage.sql import literal, quote
from linkage.tables import GAMMA_TABLE, LEFT_TABLE, RIGHT_TABLE
from linkage.tf import tf_pair_column
from linkage.training import Trainer

logger = logging.getLogger(__name__)


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
        diagnostics: TrainingDiagnostics | None = None,
    ) -> None:
        self.settings = settings
        #: warnings, EM passes and checks of training (saved with the model)
        self.diagnostics = diagnostics or TrainingDiagnostics()
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
        self.counts = load_inputs(self.backend, settings, sources)
        self.parameters = parameters or ModelParameters.initial(
            settings.comparisons, settings.probability_two_random_records_match
        )
        self._gammas_ready = False
        self._summary: evaluation.PosteriorSummary | None = None
        self._trainer = Trainer(self)

    # --- set-up -------------------------------------------------------------------------
    @property
    def comparisons(self) -> list[Comparison]:
        return self.settings.comparisons

    @property
    def training_warnings(self) -> list[TrainingWarning]:
        """Every problem training met (see :mod:`linkage.diagnostics`), also logged at
        WARNING; empty when training went cleanly."""
        return list(self.diagnostics.warnings)

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

    # --- blocking -----------------------------------------------------------------------
    def blocking_report(self) -> pl.DataFrame:
        """Candidate pairs per rule, each counted once (by the first rule that finds it)."""
        rules = self.settings.blocking_rules
        counts = self.backend.rows(
            count_sql(rules, self.settings.link_type, LEFT_TABLE, self._right_table)
        )
        pairs = [int(c) for _, c in counts]
        return pl.DataFrame(
            {
                "rule": [r.name for r in rules],
                "pairs": pairs,
                "cumulative_pairs": np.cumsum(pairs).tolist(),
            }
        )

    def pair_completeness(self, true_links: pl.DataFrame) -> float:
        """Share of labelled links (``id_l, id_r``) that the blocking rules find."""
        self._register_truth(true_links)
        links, found = self.backend.rows(
            truth_found_sql(self.settings.blocking_rules, LEFT_TABLE, self._right_table, "__truth")
        )[0]
        return found / links if links else 0.0

    def _register_truth(self, true_links: pl.DataFrame) -> None:
        missing = [c for c in ("id_l", "id_r") if c not in true_links.columns]
        if missing:
            raise InputDataError(f"true links need columns id_l and id_r (missing {missing})")
        self.backend.register_frame("__truth_ids", true_links.select("id_l", "id_r"))
        id_col = quote(self.settings.unique_id_column)
        self.backend.create_table(
            "__truth",
            f"SELECT l.{quote(RID)} AS rid_l, "
            f"r.{quote(RID)} AS rid_r FROM __truth_ids t "
            f"JOIN {quote(LEFT_TABLE)} l ON l.{id_col} = t.id_l "
            f"JOIN {quote(self._right_table)} r ON r.{id_col} = t.id_r",
        )

    # --- training -----------------------------------------------------------------------
    def estimate_u(self, max_pairs: int = 1_000_000, *, seed: int = 1) -> None:
        """u from about ``max_pairs`` random record pairs (see :meth:`Trainer.estimate_u`)."""
        self._trainer.estimate_u(max_pairs, seed=seed)
        self._summary = None

    def estimate_m(
        self,
        blocking_rules: Sequence[BlockingRule] | None = None,
        *,
        combine: Literal["purest", "mean"] = "mean",
        supplement: bool = True,
    ) -> None:
        """m by EM, one checked pass per training rule (see :meth:`Trainer.estimate_m`)."""
        self._trainer.estimate_m(blocking_rules, combine=combine, supplement=supplement)
        self._summary = None

    def estimate_m_from_labelled_pairs(self, pairs: pl.DataFrame) -> int:
        """m from pairs known to match (``id_l``, ``id_r``; e.g. confirmed by a shared
        identifier, which is evidence independent of the comparisons): each level's share
        among them, half a count added to every level. Pairs whose ids are not both in the
        inputs are ignored; returns the number of pairs used."""
        self._register_truth(pairs)
        found = self._trainer.estimate_m_from_pairs("__truth")
        self._summary = None
        return found

    def estimate_dependencies(self) -> dict[str, Dependency]:
        """Conditional m/u of comparisons that move with an anchor, e.g. address parts with
        postcode (see :meth:`DependencyTraining.estimate_dependencies`)."""
        found = self._trainer.estimate_dependencies()
        self._summary = None
        return found

    def estimate_lambda(self) -> float:
        """Global lambda: expected matches among candidates / all possible pairs."""
        lam = self._trainer.estimate_lambda()
        self._summary = None
        return lam

    def train(
        self,
        *,
        max_pairs: int = 1_000_000,
        seed: int = 1,
        training_rules: Sequence[BlockingRule] | None = None,
    ) -> ModelParameters:
        """Check the inputs, estimate_u, estimate_m (one pass per training rule; default: the
        prediction rules), estimate_dependencies, m again outside household blocks
        (:meth:`Trainer.refine_m`), estimate_lambda, then :meth:`check_model`. Problems met
        on the way are in :attr:`training_warnings`."""
        self.diagnostics = TrainingDiagnostics()
        checks.check_inputs(self, self._tables)
        self.estimate_u(max_pairs, seed=seed)
        self.estimate_m(training_rules)
        self.estimate_dependencies()
        if self._trainer.refine_m():
            self.estimate_dependencies()
        self.estimate_lambda()
        self.check_model()
        return self.parameters

    def check_model(self) -> dict[str, Any]:
        """Label-free checks of the trained model (see :mod:`linkage.checks`); failures are
        training warnings, and ``posterior_summary()`` says whether its estimates are
        reliable. Run by :meth:`train`."""
        found = checks.check_model(self, self._tables, self._trainer.candidates())
        self._summary = None
        return found

    def expected_matches(self) -> float:
        """Matches the model expects among all record pairs (lambda x all pairs)."""
        return self.parameters.probability_two_random_records_match * self.total_pairs

    # --- scoring ------------------------------------------------------------------------
    def ensure_gammas(self) -> None:
        if self._gammas_ready:
            return
        select = comparison_select(self.comparisons, self.backend.dialect)
        sql = pairs_sql(
            self.settings.blocking_rules,
            self.settings.link_type,
            LEFT_TABLE,
            self._right_table,
            select,
        )
        self.backend.create_table(GAMMA_TABLE, sql)
        self._gammas_ready = True

    def scored_sql(self) -> str:
        """SQL of every candidate pair with ``match_weight`` and ``match_probability``."""
        self.parameters.check_trained()
        self.ensure_gammas()
        weight = match_weight_sql(self.comparisons, self.parameters)
        return (
            f"SELECT *, {probability_sql('match_weight')} AS match_probability FROM "
            f"(SELECT *, {weight} AS match_weight FROM {GAMMA_TABLE})"
        )

    def posterior_summary(self) -> evaluation.PosteriorSummary:
        """Unsupervised expected match count, precision, recall and the automatic threshold
        (see evaluate); ``reliable`` is False when :meth:`check_model` found the model at odds
        with the data (``unreliable_because`` says how)."""
        if self._summary is None:
            histogram = self.backend.frame(
                f"SELECT min(match_probability) AS probability, count(*) AS pairs, "
                f"sum(match_probability) AS sum_probability FROM ({self.scored_sql()}) "
                f"GROUP BY round(match_weight, 2)"
            )
            summary = evaluation.posterior_summary(histogram)
            reasons = self.diagnostics.checks.get("unreliable_because")
            if reasons:
                summary = dataclasses.replace(
                    summary, reliable=False, unreliable_because=tuple(reasons)
                )
            self._summary = summary
        return self._summary

    def auto_threshold(self) -> float:
        """The probability cut maximising expected F1 under the model's posterior."""
        return self.posterior_summary().auto_threshold

    def predict(
        self, threshold: float | Literal["auto"] | None = DEFAULT_PREDICT_THRESHOLD
    ) -> pl.DataFrame:
        """Score candidate pairs: ``id_l, id_r, match_weight, match_probability, match_key,
        gamma_*`` (and ``tf_*``), those with probability >= ``threshold`` (default
        DEFAULT_PREDICT_THRESHOLD; ``"auto"``: :meth:`auto_threshold`).

        ``threshold=None`` returns every candidate pair, held in memory: 7 GiB at 1M x 1M
        records. To keep them all, write them with :meth:`predict_to_parquet` instead.
        """
        return self.backend.frame(self._pairs_sql(threshold))

    def predict_to_parquet(
        self, path: str | Path, threshold: float | Literal["auto"] | None = None
    ) -> int:
        """Write what :meth:`predict` returns (every candidate pair by default) to a Parquet
        file, streamed by DuckDB without passing through Python, atomically (temp file +
        rename). Returns the number of pairs written."""
        with atomic_path(path) as tmp:
            self.backend.execute(
                f"COPY ({self._pairs_sql(threshold)}) TO {literal(str(tmp))} (FORMAT parquet)"
            )
            written = self.backend.rows(f"SELECT count(*) FROM read_parquet({literal(str(tmp))})")
        return int(written[0][0])

    def _pairs_sql(self, threshold: float | Literal["auto"] | None) -> str:
        if threshold == "auto":
            threshold = self.auto_threshold()
        if threshold is not None and (
            not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0
        ):
            raise SettingsError("threshold must be a probability in [0, 1], 'auto' or None")
        extra = [quote(c.gamma_column) for c in self.comparisons]
        extra += [quote(tf_pair_column(c.name)) for c in self.comparisons if c.tf_column]
        return scored_pairs_sql(
            self.scored_sql(),
            self.settings.unique_id_column,
            self._right_table,
            extra,
            None if threshold is None else float(threshold),
        )

    # --- decisions ----------------------------------------------------------------------
    def one_to_one(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Greedy one-to-one matching by weight (link_only): no id appears twice per side."""
        if self.settings.link_type != "link_only":
            raise SettingsError("one_to_one applies to link_only")
        return clustering.one_to_one(pairs)

    def cluster(
        self,
        pairs: pl.DataFrame,
        threshold: float | None = None,
        *,
        method: clustering.ClusterMethod = "components",
        one_value_per_source: Sequence[str] = (),
    ) -> pl.DataFrame:
        """Every input record with a ``cluster_id`` (and ``source_dataset`` for link_only)
        from the pairs with probability >= ``threshold`` (default: the model's automatic
        threshold, :meth:`auto_threshold`).

        ``method="components"`` takes connected components, ``"best_link"`` keeps only each
        record's best pair(s) first; ``one_value_per_source`` names columns (valid
        identifiers) of which a cluster may hold only one non-null value per input: merges
        are made most probable first and refused when they would break that (see
        :mod:`linkage.cluster`). ``cluster_id`` is the smallest member id, prefixed by its
        side (``"l:"``/``"r:"``) for link_only; reruns on the same data give the same ids.
        """
        if threshold is None:
            threshold = self.auto_threshold()
        return clustering.cluster_records(
            self.backend,
            self.settings.link_type,
            self.settings.unique_id_column,
            pairs,
            float(threshold),
            method=method,
            one_value_per_source=one_value_per_source,
        )

    @staticmethod
    def classify(pairs: pl.DataFrame, match: float, review: float) -> pl.DataFrame:
        """Add ``decision``: ``match`` (p >= match), ``review`` (review <= p < match) or
        ``non_match``: the clerical-review band sits between the two thresholds."""
        if not 0.0 <= review <= match <= 1.0:
            raise SettingsError("thresholds must satisfy 0 <= review <= match <= 1")
        p = pl.col("match_probability")
        return pairs.with_columns(
            pl.when(p >= match)
            .then(pl.lit("match"))
            .when(p >= review)
            .then(pl.lit("review"))
            .otherwise(pl.lit("non_match"))
            .alias("decision")
        )

    def explain(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Waterfall data: each comparison's weight and Bayes factor per pair."""
        return waterfall(pairs, self.comparisons, self.parameters)

    def explain_wide(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """One row per pair: each comparison's level label and weight (for review files)."""
        return explanation_columns(pairs, self.comparisons, self.parameters)

    # --- evaluation ---------------------------------------------------------------------
    def evaluate(
        self, pairs: pl.DataFrame, true_links: pl.DataFrame, threshold: float
    ) -> evaluation.Metrics:
        """Precision, recall, F1 at ``threshold`` against labelled links."""
        return evaluation.evaluate(pairs, true_links, threshold, link_type=self.settings.link_type)

    def threshold_sweep(
        self, pairs: pl.DataFrame, true_links: pl.DataFrame, thresholds: Sequence[float]
    ) -> pl.DataFrame:
        return evaluation.threshold_sweep(
            pairs, true_links, thresholds, link_type=self.settings.link_type
        )

    # --- persistence --------------------------------------------------------------------
    def save_model(self, path: str | Path) -> None:
        """Write settings, trained parameters and training diagnostics as JSON (atomically:
        temp file + rename)."""
        self.parameters.check_trained()
        write_model(path, SavedModel(self.settings, self.parameters, self.diagnostics))

    @classmethod
    def load_model(cls, path: str | Path, left: Source, right: Source | None = None) -> Linker:
        """A linker with saved settings and parameters, ready to score ``left``/``right``;
        its :attr:`training_warnings` are those of the training that made the model."""
        saved = read_model(path)
        return cls(
            saved.settings,
            left,
            right,
            parameters=saved.parameters,
            diagnostics=saved.diagnostics,
        )

    def close(self) -> None:
        self.backend.close()
