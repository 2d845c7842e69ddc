"""Similarity and edit-distance levels on text (Jaro-Winkler, Jaccard, Levenshtein, Damerau)."""

from __future__ import annotations

from dataclasses import dataclass

from linkage.levels.base import Level, check_column, check_count, check_fraction, text
from linkage.sql import LEFT, RIGHT, Dialect


@dataclass(frozen=True)
class JaroWinklerLevel(Level):
    """Jaro-Winkler similarity >= ``threshold`` (DuckDB ``jaro_winkler_similarity``)."""

    column: str
    threshold: float

    def __post_init__(self) -> None:
        check_column(self.column)
        check_fraction("JaroWinklerLevel threshold", self.threshold)

    def metric(self, dialect: Dialect) -> str:
        """The similarity compared with the threshold; consecutive levels on one metric share
        a single evaluation (see :meth:`Comparison.gamma_sql`)."""
        return dialect.string_metric(
            "jaro_winkler", text(LEFT, self.column), text(RIGHT, self.column)
        )

    def sql(self, dialect: Dialect) -> str:
        return f"{self.metric(dialect)} >= {self.threshold!r}"

    @property
    def label(self) -> str:
        return f"{self.column} jaro-winkler >= {self.threshold}"


@dataclass(frozen=True)
class JaccardLevel(Level):
    """Jaccard similarity of the character sets >= ``threshold`` (DuckDB ``jaccard``)."""

    column: str
    threshold: float

    def __post_init__(self) -> None:
        check_column(self.column)
        check_fraction("JaccardLevel threshold", self.threshold)

    def sql(self, dialect: Dialect) -> str:
        fn = dialect.fn("jaccard")
        a, b = text(LEFT, self.column), text(RIGHT, self.column)
        # DuckDB's jaccard raises on an empty string, which would abort the whole query
        return (
            f"CASE WHEN length({a}) > 0 AND length({b}) > 0 "
            f"THEN {fn}({a}, {b}) >= {self.threshold!r} ELSE FALSE END"
        )

    @property
    def label(self) -> str:
        return f"{self.column} jaccard >= {self.threshold}"


def _within_one_edit(a: str, b: str, dialect: Dialect, *, transpositions: bool) -> str:
    """Edit distance <= 1 without a full dynamic-programming distance for most pairs.

    Equal strings (two empty ones included): distance 0. Equal lengths: one edit is one
    substitution (Hamming distance 1) or, with ``transpositions``, one swap of neighbours
    (Hamming distance 2, confirmed by Damerau-Levenshtein). Lengths one apart: one
    insertion, checked by Levenshtein.
    """
    hamming = dialect.string_metric("hamming", a, b)
    equal = f"{hamming} <= 1"
    if transpositions:
        # a swap keeps the set of characters, so Jaccard = 1 must hold: that clears most
        # Hamming-2 pairs (dates of birth in one year: 7.3M of 42M at 3M records) before
        # Damerau-Levenshtein, ~6x dearer. Nested CASEs since AND does not short-circuit;
        # both strings have >= 2 characters here, so jaccard cannot raise
        dl = dialect.string_metric("damerau_levenshtein", a, b)
        same_set = f"{dialect.fn('jaccard')}({a}, {b}) = 1"
        equal = (
            f"CASE WHEN {hamming} <= 1 THEN TRUE WHEN {hamming} = 2 THEN "
            f"(CASE WHEN {same_set} THEN {dl} <= 1 ELSE FALSE END) ELSE FALSE END"
        )
    lev = dialect.string_metric("levenshtein", a, b)
    return (
        f"CASE WHEN {a} = {b} THEN TRUE WHEN length({a}) = length({b}) THEN {equal} "
        f"WHEN abs(length({a}) - length({b})) = 1 THEN {lev} <= 1 ELSE FALSE END"
    )


@dataclass(frozen=True)
class LevenshteinLevel(Level):
    """Levenshtein edit distance <= ``distance``."""

    column: str
    distance: int

    def __post_init__(self) -> None:
        check_column(self.column)
        check_count("LevenshteinLevel distance", self.distance)

    def sql(self, dialect: Dialect) -> str:
        a, b = text(LEFT, self.column), text(RIGHT, self.column)
        if self.distance == 1:
            return _within_one_edit(a, b, dialect, transpositions=False)
        return f"{dialect.string_metric('levenshtein', a, b)} <= {self.distance}"

    @property
    def label(self) -> str:
        return f"{self.column} levenshtein <= {self.distance}"


@dataclass(frozen=True)
class DamerauLevenshteinLevel(Level):
    """Damerau-Levenshtein distance (transpositions count once) <= ``distance``."""

    column: str
    distance: int

    def __post_init__(self) -> None:
        check_column(self.column)
        check_count("DamerauLevenshteinLevel distance", self.distance)

    def sql(self, dialect: Dialect) -> str:
        # DuckDB's damerau_levenshtein is ~8x slower than levenshtein; since DL <= k implies
        # Levenshtein <= 2k, a CASE (which short-circuits, unlike AND) skips most pairs.
        a, b = text(LEFT, self.column), text(RIGHT, self.column)
        if self.distance == 1:
            return _within_one_edit(a, b, dialect, transpositions=True)
        dl = dialect.string_metric("damerau_levenshtein", a, b)
        lev = dialect.string_metric("levenshtein", a, b)
        k = self.distance
        return f"CASE WHEN {lev} <= {2 * k} THEN {dl} <= {k} ELSE FALSE END"

    @property
    def label(self) -> str:
        return f"{self.column} damerau-levenshtein <= {self.distance}"
