"""The public facade: bind settings to data, train, score, cluster, explain, evaluate, persist."""

from __future__ import annotations

import builtins
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
from linkage.decisions import PairDecisions
from linkage.diagnostics import TrainingDiagnostics, TrainingWarning
from linkage.errors import InputDataError, SettingsError
from linkage.inputs import load_inputs, recount_term_frequencies
from linkage.model import (
    Dependency,
    ModelParameters,
)
from linkage.partition_jobs import JobResources
from linkage.partitions import PartitionedPairs, PartitionMap, PartitionStore
from linkage.patterns import (
    CandidatePatterns,
    candidate_patterns,
    scoring_pattern_sql,
    summed_patterns,
)
from linkage.persist import SavedModel, atomic_path, model_json, read_model, write_model
from linkage.predict import (
    DEFAULT_PREDICT_THRESHOLD,
    comparison_select,
    pair_columns,
    refreshed_tf_sql,
    scored_pairs_sql,
    scored_sql,
)
from linkage.settings import LinkageSettings
from linkage.sql import literal, quote
from linkage.tables import GAMMA_TABLE, LEFT_TABLE, RIGHT_TABLE, SCORING_TABLE
from linkage.training import Trainer

logger = logging.getLogger(__name__)


class Linker(PairDecisions):
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
        self._patterns: CandidatePatterns | None = None
        self._store: PartitionStore | None = None
        self._summary: evaluation.PosteriorSummary | None = None
        #: (histogram SQL, its result): see posterior_histogram
        self._histogram: tuple[str, pl.DataFrame] | None = None
        self._trainer = Trainer(self)

    # --- set-up -------------------------------------------------------------------------
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
        (:meth:`Trainer.refine_m`), m of comparisons no pass trained over all candidates
        (:meth:`Trainer.estimate_untrained_m`), estimate_lambda, then :meth:`check_model`.
        Problems met on the way are in :attr:`training_warnings`."""
        self.diagnostics = TrainingDiagnostics()
        checks.check_inputs(self, self._tables)
        self.estimate_u(max_pairs, seed=seed)
        self.estimate_m(training_rules)
        self.estimate_dependencies()
        if self._trainer.refine_m():
            self.estimate_dependencies()
        self._trainer.estimate_untrained_m()
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
    def count_term_frequencies(self, sources: Sequence[Source]) -> None:
        """Count term frequencies over the records of ``sources`` (frames or Parquet paths
        with the term-frequency columns) instead of over this linker's inputs, so that a
        linker over part of a larger linkage scores its pairs as one over all of it would.
        Comparison vectors already stored take the new frequencies; the parameters stay
        as trained. Not for a :meth:`partition`-ed linker whose vectors are stored."""
        if self._gammas_ready and self._store is not None:
            raise SettingsError("count term frequencies before partitioning the comparisons")
        with self.backend.views(sources, "__tf_source_") as counted:
            recount_term_frequencies(self.backend, self.settings, self._tables, counted)
        refresh = refreshed_tf_sql(GAMMA_TABLE, self.comparisons)
        if self._gammas_ready and refresh is not None:
            self.backend.execute(refresh)
        self.backend.execute(f"DROP TABLE IF EXISTS {quote(SCORING_TABLE)}")
        self._patterns, self._histogram, self._summary = None, None, None

    def partition(
        self,
        work_dir: str | Path,
        partitions: int,
        *,
        map: PartitionMap = builtins.map,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        """Compare and score candidate pairs partition by partition from now on (see
        :mod:`linkage.partitions`): records split by a hash of each blocking rule's keys
        into ``partitions`` parts under ``work_dir``, one job per part run through ``map``
        (called as the builtin: ``map(job, tasks, shared_json)``), each job's DuckDB bounded
        by ``memory_limit`` and ``threads`` (default: the settings'). Call it before
        :meth:`train`, so the comparison vectors are computed once."""
        resources = JobResources(
            memory_limit or self.settings.memory_limit,
            threads or self.settings.threads,
            self.settings.temp_directory,
        )
        store = PartitionStore(work_dir, partitions, map=map, resources=resources)
        if self._gammas_ready and self._store is None:
            self.backend.execute(f"DROP TABLE {GAMMA_TABLE}")
            self.backend.execute(f"DROP TABLE IF EXISTS {quote(SCORING_TABLE)}")
        self._store, self._gammas_ready = store, False
        self._histogram = None

    def ensure_gammas(self) -> None:
        """Store the comparison vectors of every candidate pair (once): a table, or with
        :meth:`partition` a view over the partitions' files."""
        if self._gammas_ready:
            return
        rules, tables = self.settings.blocking_rules, (LEFT_TABLE, self._right_table)
        select = comparison_select(self.comparisons, self.backend.dialect)
        sql = pairs_sql(rules, self.settings.link_type, *tables, select)
        if self._store is None:
            self.backend.create_table(GAMMA_TABLE, sql)
        else:
            self._store.write_records(self.backend, rules, self.settings.link_type, tables)
            frames = self._store.compare(model_json(self.settings))
            self._patterns = summed_patterns(frames, self.comparisons)
            files = ", ".join(literal(f) for f in self._store.gamma_files)
            source = f"read_parquet([{files}])" if files else f"({sql}) LIMIT 0"
            self.backend.execute(f"CREATE OR REPLACE VIEW {GAMMA_TABLE} AS SELECT * FROM {source}")
        self._gammas_ready = True

    def candidate_patterns(self) -> CandidatePatterns:
        """Every candidate pair's comparison vector, aggregated (summed over partitions)."""
        self.ensure_gammas()
        if self._patterns is None:
            self._patterns = candidate_patterns(
                self.backend, self._scoring_source(), self.comparisons
            )
        return self._patterns

    def scored_sql(self) -> str:
        """SQL of every candidate pair with ``match_weight`` and ``match_probability``."""
        self.parameters.check_trained()
        self.ensure_gammas()
        return scored_sql(GAMMA_TABLE, self.comparisons, self.parameters)

    def _scoring_source(self) -> str:
        """The scoring patterns of every candidate pair: a table made when first asked for
        (scoring alone never needs it), or the partitions' files (their rows add up: each
        pair is in one partition)."""
        self.ensure_gammas()
        if self._store is None:
            scoring = scoring_pattern_sql(quote(GAMMA_TABLE), self.comparisons)
            self.backend.execute(f"CREATE TABLE IF NOT EXISTS {quote(SCORING_TABLE)} AS {scoring}")
            return quote(SCORING_TABLE)
        files = ", ".join(literal(f) for f in self._store.scoring_files)
        if not files:  # no partition had pairs: the empty gamma view, aggregated
            return f"({scoring_pattern_sql(GAMMA_TABLE, self.comparisons)})"
        return f"read_parquet([{files}])"

    def posterior_histogram(self) -> pl.DataFrame:
        """Candidate pairs counted by match weight (:func:`evaluate.histogram_sql`), from
        the scoring patterns (each scored once, weighed by its count); kept while the
        parameters (which the scoring SQL spells out) stay the same, so the model checks and
        :meth:`posterior_summary` share it."""
        scored = scored_sql(self._scoring_source(), self.comparisons, self.parameters)
        sql = evaluation.histogram_sql(scored, counts="n")
        if self._histogram is None or self._histogram[0] != sql:
            self._histogram = (sql, self.backend.frame(sql))
        return self._histogram[1]

    def posterior_summary(self) -> evaluation.PosteriorSummary:
        """Unsupervised expected match count, precision, recall and the automatic threshold
        (see evaluate); ``reliable`` is False when :meth:`check_model` found the model at odds
        with the data (``unreliable_because`` says how)."""
        if self._summary is None:
            summary = evaluation.posterior_summary(self.posterior_histogram())
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

    def predict_partitioned(
        self,
        out_dir: str | Path,
        *,
        partitions: int | None = None,
        threshold: float | Literal["auto"] | None = DEFAULT_PREDICT_THRESHOLD,
        map: PartitionMap | None = None,
    ) -> PartitionedPairs:
        """Score partition by partition (see :meth:`partition`; without it, ``partitions``
        parts, default 1, worked in ``out_dir/work``) and write what :meth:`predict` returns
        to ``out_dir/pairs-<partition>.parquet``, one file per job, each atomically."""
        if self._store is None:
            self.partition(Path(out_dir) / "work", partitions or 1, map=map or builtins.map)
        elif partitions is not None and partitions != self._store.partitions:
            raise SettingsError(
                f"this linker is partitioned {self._store.partitions} ways, not {partitions}"
            )
        elif map is not None:
            self._store.map = map
        cut = self._threshold(threshold)
        self.parameters.check_trained()
        self.ensure_gammas()
        assert self._store is not None
        return self._store.score(out_dir, model_json(self.settings, self.parameters), cut)

    def _threshold(self, threshold: float | Literal["auto"] | None) -> float | None:
        if threshold == "auto":
            threshold = self.auto_threshold()
        if threshold is not None and (
            not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0
        ):
            raise SettingsError("threshold must be a probability in [0, 1], 'auto' or None")
        return None if threshold is None else float(threshold)

    def _pairs_sql(self, threshold: float | Literal["auto"] | None) -> str:
        cut = self._threshold(threshold)
        return scored_pairs_sql(
            self.scored_sql(),
            self.settings.unique_id_column,
            self._right_table,
            pair_columns(self.comparisons),
            cut,
        )

    # --- decisions ----------------------------------------------------------------------
    def cluster(
        self,
        pairs: pl.DataFrame | PartitionedPairs,
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
        ``pairs`` from :meth:`predict_partitioned` are read from their files in batches,
        only those at or above the threshold.
        """
        if threshold is None:
            threshold = self.auto_threshold()
        source: pl.DataFrame | str
        if isinstance(pairs, PartitionedPairs):  # read from the files, in batches
            source = pairs.source_sql() if pairs.files else pairs.read()
        else:
            source = pairs
        return clustering.cluster_records(
            self.backend,
            self.settings.link_type,
            self.settings.unique_id_column,
            source,
            float(threshold),
            method=method,
            one_value_per_source=one_value_per_source,
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
