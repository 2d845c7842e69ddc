"""What training reads: a linker's loaded data, seen through :class:`TrainingData`, and the
gamma patterns (distinct comparison vectors with their counts) it aggregates from them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from linkage.backend import DuckDBBackend
from linkage.comparisons import Comparison
from linkage.diagnostics import TrainingDiagnostics
from linkage.model import ModelParameters
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tf import tf_pair_column


class TrainingData(Protocol):
    """The narrow view of a :class:`~linkage.linker.Linker` that training needs: its loaded
    tables (through the backend), their row counts, the settings and the parameters it fills."""

    @property
    def settings(self) -> LinkageSettings: ...

    @property
    def backend(self) -> DuckDBBackend: ...

    @property
    def parameters(self) -> ModelParameters: ...

    @property
    def comparisons(self) -> list[Comparison]: ...

    @property
    def diagnostics(self) -> TrainingDiagnostics:
        """Where training records its passes and warnings."""
        ...

    @property
    def counts(self) -> dict[str, int]:
        """Rows per loaded input table."""
        ...

    @property
    def total_pairs(self) -> int:
        """Number of possible record pairs."""
        ...

    def ensure_gammas(self) -> None:
        """Store the comparison vectors of every candidate pair (once)."""
        ...

    def candidate_patterns(self) -> CandidatePatterns:
        """The stored comparison vectors, aggregated (see :class:`CandidatePatterns`)."""
        ...


class TrainingBase(ABC):
    """What the parts of training (:class:`~linkage.passes.PassTraining`,
    :class:`~linkage.dependencies.DependencyTraining`) read from the
    :class:`~linkage.training.Trainer` they are mixed into."""

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

    @property
    @abstractmethod
    def diagnostics(self) -> TrainingDiagnostics: ...

    @abstractmethod
    def candidates(self) -> CandidatePatterns:
        """Every candidate pair's comparison vector, aggregated (computed once)."""

    @abstractmethod
    def _correlated(self, a: Comparison, b: Comparison) -> bool:
        """Do random non-matches agree on both far more often than independence predicts?"""

    @abstractmethod
    def _max_matches(self) -> float:
        """Upper bound on the number of matches."""


def pattern_counts(
    backend: DuckDBBackend, sql: str, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``columns`` among the rows of ``sql`` and how often each occurs."""
    cols = ", ".join(quote(c) for c in columns)
    rows = backend.frame(f"SELECT {cols}, count(*) AS n FROM ({sql}) GROUP BY {cols}")
    rows = rows.sort(list(columns))  # one row order, so EM sums in the same order every run
    patterns = rows.select(columns).to_numpy().astype(np.int64).reshape(-1, len(columns))
    return patterns, rows["n"].to_numpy().astype(np.float64)


@dataclass(frozen=True)
class CandidatePatterns:
    """Every candidate pair's comparison vector, aggregated: the distinct rows of (gamma of
    each comparison, ``rules_mask``) with their counts. Training reads these, not the pairs:
    one ``GROUP BY`` over the stored vectors serves every EM pass, anchor and check."""

    patterns: np.ndarray  # one row per distinct vector, one column per comparison
    masks: np.ndarray  # the rules_mask of each row (bit k: prediction rule k finds the pair)
    counts: np.ndarray

    def where(self, rows: np.ndarray) -> CandidatePatterns:
        """The rows selected by a boolean mask."""
        return CandidatePatterns(self.patterns[rows], self.masks[rows], self.counts[rows])

    def in_rule(self, k: int) -> CandidatePatterns:
        """The pairs prediction rule ``k`` finds."""
        return self.where((self.masks & (1 << k)) != 0)

    def columns(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct vectors over the comparisons at ``indices`` and their counts."""
        if not len(self.counts):
            return np.zeros((0, len(indices)), dtype=np.int64), np.zeros(0)
        distinct, inverse = np.unique(self.patterns[:, list(indices)], axis=0, return_inverse=True)
        return distinct, np.bincount(inverse.ravel(), weights=self.counts)

    @property
    def pairs(self) -> float:
        return float(self.counts.sum())


def candidate_patterns(
    backend: DuckDBBackend, scoring: str, comparisons: Sequence[Comparison]
) -> CandidatePatterns:
    """:class:`CandidatePatterns` of the scoring patterns in ``scoring`` (a table or a
    ``read_parquet`` expression, see :func:`scoring_pattern_sql`)."""
    sql = pattern_count_sql(scoring, comparisons)
    return summed_patterns([backend.frame(sql)], comparisons)


def scoring_pattern_sql(source: str, comparisons: Sequence[Comparison]) -> str:
    """The distinct rows of stored comparison vectors ``source`` in what a pair's score and
    training read (each comparison's gamma, ``rules_mask``, each term frequency) with their
    count ``n``: 0.7M rows for a 42M-pair partition at 3M x 3M. Histograms of the scores
    then weigh a few rows by their counts instead of scoring every pair (3.6 s a partition)."""
    cols = ", ".join(_scoring_columns(comparisons))
    return f"SELECT {cols}, count(*) AS n FROM {source} GROUP BY {cols}"


def pattern_count_sql(scoring: str, comparisons: Sequence[Comparison]) -> str:
    """Distinct (gammas, ``rules_mask``) rows of the scoring patterns ``scoring`` with their
    count ``n``."""
    cols = ", ".join(quote(c) for c in [*(c.gamma_column for c in comparisons), "rules_mask"])
    return f"SELECT {cols}, CAST(sum(n) AS BIGINT) AS n FROM {scoring} GROUP BY {cols}"


def _scoring_columns(comparisons: Sequence[Comparison]) -> list[str]:
    gammas = [quote(c.gamma_column) for c in comparisons]
    tfs = [quote(tf_pair_column(c.name)) for c in comparisons if c.tf_column]
    return [*gammas, "rules_mask", *tfs]


def summed_patterns(
    frames: Sequence[pl.DataFrame], comparisons: Sequence[Comparison]
) -> CandidatePatterns:
    """The counts of :func:`pattern_count_sql` frames (one per partition of the pairs)
    summed, in one canonical row order: EM then adds up the same numbers in the same order
    however the pairs were partitioned, and gives bit-identical parameters."""
    columns = [c.gamma_column for c in comparisons]
    keys = [*columns, "rules_mask"]
    typed = [pl.col(keys).cast(pl.Int64), pl.col("n").cast(pl.Float64)]
    rows = (
        pl.concat([f.select(typed) for f in frames])
        .group_by(keys)
        .agg(pl.col("n").sum())
        .sort(keys)
        if frames
        else pl.DataFrame(schema={k: pl.Int64 for k in keys} | {"n": pl.Float64})
    )
    patterns = rows.select(columns).to_numpy().astype(np.int64).reshape(-1, len(columns))
    return CandidatePatterns(
        patterns,
        rows["rules_mask"].to_numpy().astype(np.int64),
        rows["n"].to_numpy().astype(np.float64),
    )


def level_tallies(gammas: np.ndarray, counts: np.ndarray, n_levels: int) -> np.ndarray:
    """Pairs at each level (gamma code), null levels (-1) left out."""
    valid = gammas >= 0
    return np.bincount(gammas[valid], weights=counts[valid], minlength=n_levels)


def level_shares(gammas: np.ndarray, counts: np.ndarray, n_levels: int) -> list[float]:
    """Each level's share of the pairs; a level never seen gets half a count, not zero, so
    that its weight stays finite."""
    tallies = level_tallies(gammas, counts, n_levels)
    total = max(float(tallies.sum()), 1.0)
    return [float(max(t, 0.5) / total) for t in tallies]
