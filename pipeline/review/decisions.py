"""The decision file: a curator's verdicts on candidate pairs, shared by every clerical review.

A review file (the batch pipeline's, :mod:`pipeline.review.persons`, or the business
register's, :mod:`pipeline.business.clerical_review`) has one row per candidate pair with a
``key`` (the record under review), a ``candidate`` (what it may match) and an empty
``decision`` column. A curator fills ``decision`` with ``match`` or ``non-match`` (the
spellings in :data:`DECISIONS` are accepted, any case); blank rows are left undecided.
:func:`read_decisions` reads an edited file back, reporting every bad row by its number,
never by its value.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.errors import DataError
from pipeline.io import read_table

KEY, CANDIDATE, DECISION = "key", "candidate", "decision"
MATCH, NON_MATCH = "match", "non_match"
#: Accepted spellings of a decision, and what each means.
DECISIONS = {
    "match": MATCH,
    "non-match": NON_MATCH,
    "non_match": NON_MATCH,
    "nonmatch": NON_MATCH,
    "no-match": NON_MATCH,
}
_ROW, _RAW = "__row", "__raw"


def read_decisions(path: Path, *, unordered: bool = False) -> pl.DataFrame:
    """``key, candidate, decision`` (``match``/``non_match``) from an edited review file.

    Rows with a blank decision are dropped. Unknown decisions, rows without a key or candidate
    and conflicting decisions for the same pair are reported together, by file row number.
    ``unordered`` (a deduplication, where ``a, b`` and ``b, a`` are one pair): each pair is
    returned with the smaller id as ``key``, and decisions in either order conflict.
    """
    frame = read_table(path)
    missing = [c for c in (KEY, CANDIDATE, DECISION) if c not in frame.columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}")
    frame = frame.select(
        pl.col(KEY).cast(pl.String),
        pl.col(CANDIDATE).cast(pl.String),
        pl.col(DECISION).cast(pl.String).str.strip_chars().str.to_lowercase().alias(_RAW),
    ).with_row_index(_ROW, offset=1)
    frame = frame.filter(pl.col(_RAW).is_not_null() & (pl.col(_RAW) != ""))
    if unordered:  # swap where candidate < key (a comparison with an empty id is null)
        swap = (pl.col(CANDIDATE) < pl.col(KEY)).fill_null(False)
        frame = frame.with_columns(
            pl.when(swap).then(pl.col(CANDIDATE)).otherwise(pl.col(KEY)).alias(KEY),
            pl.when(swap).then(pl.col(KEY)).otherwise(pl.col(CANDIDATE)).alias(CANDIDATE),
        )
    frame = frame.with_columns(pl.col(_RAW).replace_strict(DECISIONS, default=None).alias(DECISION))
    problems = _problems(frame)
    if problems:
        raise DataError(f"{path.name}: " + "; ".join(problems))
    return frame.select(KEY, CANDIDATE, DECISION).unique(maintain_order=True)


def _problems(frame: pl.DataFrame) -> list[str]:
    """Every bad decided row: an unknown decision, an empty key or candidate, a conflict."""
    problems = [
        f"row {r}: decision must be 'match' or 'non-match'"
        for r in frame.filter(pl.col(DECISION).is_null())[_ROW].to_list()
    ]
    empty = frame.filter(pl.col(KEY).is_null() | pl.col(CANDIDATE).is_null())
    problems += [f"row {r}: key or candidate is empty" for r in empty[_ROW].to_list()]
    conflicts = (
        frame.group_by(KEY, CANDIDATE)
        .agg(pl.col(DECISION).n_unique().alias("n"), pl.col(_ROW).min().alias("first"))
        .filter(pl.col("n") > 1)
    )
    problems += [
        f"row {r}: conflicting decisions for the same pair"
        for r in sorted(conflicts["first"].to_list())
    ]
    return problems
