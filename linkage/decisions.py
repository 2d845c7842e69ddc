"""What a :class:`~linkage.linker.Linker` does with scored pairs it holds as a frame: one-to-one
matching, links by source, a clerical-review band, explanations of each score, metrics against
labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

import linkage.cluster as clustering
import linkage.evaluate as evaluation
import linkage.sources as by_source
from linkage.backend import DuckDBBackend
from linkage.comparisons import Comparison
from linkage.errors import InputDataError, SettingsError
from linkage.explain import explanation_columns, waterfall
from linkage.model import ModelParameters
from linkage.settings import LinkageSettings
from linkage.sql import quote
from linkage.tables import LEFT_TABLE


class PairDecisions:
    """Linker methods over a frame of scored pairs (``id_l``, ``id_r``, ``match_weight``,
    ``match_probability``, gammas), mixed into :class:`~linkage.linker.Linker`."""

    settings: LinkageSettings
    parameters: ModelParameters
    backend: DuckDBBackend

    posterior_summary: Callable[[], evaluation.PosteriorSummary]

    @property
    def comparisons(self) -> list[Comparison]:
        return self.settings.comparisons

    def one_to_one(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Greedy one-to-one matching by weight (link_only): no id appears twice per side."""
        if self.settings.link_type != "link_only":
            raise SettingsError("one_to_one applies to link_only")
        return clustering.one_to_one(pairs)

    def link_by_source(
        self, pairs: pl.DataFrame, threshold: float | None = None
    ) -> by_source.SourceLinks:
        """Decide links among records of several files deduplicated together, knowing each
        record's file (``settings.source_column``): the prior is estimated separately for
        pairs within one source and pairs across two, the pairs reweighted with it, and at
        ``threshold`` (default: the automatic one of the reweighted pairs) a record links
        to at most one record of each source, heaviest link first, unless the links kept
        already join the two (see :mod:`linkage.sources`). ``pairs`` are :meth:`predict`'s
        (``id_l``, ``id_r``, ``match_weight``, ``match_probability``, ...)."""
        column = self.settings.source_column
        if column is None:
            raise SettingsError("link_by_source needs settings.source_column")
        sources = self.backend.frame(
            f"SELECT {quote(self.settings.unique_id_column)} AS id, "
            f"{quote(column)} AS source FROM {quote(LEFT_TABLE)}"
        )
        if sources["source"].null_count():
            raise InputDataError(f"source column {column!r} has null values")
        model = self.parameters.probability_two_random_records_match
        return by_source.link_by_source(pairs, sources, model, self.posterior_summary(), threshold)

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
