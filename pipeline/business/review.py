"""Clerical review: a CSV a curator edits, and reading the decisions back in.

The review file lists, for each record in the grey band, its candidate enterprises with the
evidence a curator needs (both sides' names, postcodes and addresses) and an empty
``decision`` column to fill with ``match`` or ``non-match``. It identifies a candidate by its
pseudonymised entref, so the same pair has the same identity on every rerun in the same
environment and no register reference is written. It holds names and addresses: it is a
working file for a curator inside the secure environment, never a deliverable.

Feeding it back (``--decisions FILE``) overrides those pairs: ``match`` links the record to
that enterprise whatever the model says; ``non-match`` removes the pair from consideration, so
the next best candidate (if any) is used. Blank decisions are ignored.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.errors import DataError
from pipeline.io import read_table

KEY, CANDIDATE, DECISION = "key", "candidate", "decision"
DECISIONS = {
    "match": "match",
    "non-match": "non_match",
    "non_match": "non_match",
    "nonmatch": "non_match",
    "no-match": "non_match",
}
REVIEW_COLUMNS: tuple[str, ...] = (
    KEY,
    CANDIDATE,
    "match_probability",
    "incoming_name",
    "register_name",
    "register_trading_name",
    "incoming_postcode",
    "register_postcode",
    "incoming_address",
    "register_address",
    DECISION,
)


def write_review_file(path: Path, rows: pl.DataFrame) -> None:
    """Write the review CSV (columns :data:`REVIEW_COLUMNS`, ``decision`` empty)."""
    from pipeline.atomic import write_with_atomic

    frame = rows.with_columns(pl.lit("", dtype=pl.String).alias(DECISION)).select(REVIEW_COLUMNS)
    write_with_atomic(path, lambda p: frame.write_csv(p))


def read_decisions(path: Path) -> pl.DataFrame:
    """``key, candidate, decision`` (``match``/``non_match``) from an edited review file.

    Rows with a blank decision are dropped. Unknown decisions and conflicting decisions for the
    same pair are reported together, by file row number (never by value).
    """
    frame = read_table(path)
    missing = [c for c in (KEY, CANDIDATE, DECISION) if c not in frame.columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}")
    frame = frame.select(
        pl.col(KEY).cast(pl.String),
        pl.col(CANDIDATE).cast(pl.String),
        pl.col(DECISION).cast(pl.String).str.strip_chars().str.to_lowercase().alias("__raw"),
    ).with_row_index("__row", offset=1)
    frame = frame.filter(pl.col("__raw").is_not_null() & (pl.col("__raw") != ""))
    frame = frame.with_columns(
        pl.col("__raw").replace_strict(DECISIONS, default=None).alias(DECISION)
    )
    problems = [
        f"row {r}: decision must be 'match' or 'non-match'"
        for r in frame.filter(pl.col(DECISION).is_null())["__row"].to_list()
    ]
    problems += [
        f"row {r}: key or candidate is empty"
        for r in frame.filter(pl.col(KEY).is_null() | pl.col(CANDIDATE).is_null())[
            "__row"
        ].to_list()
    ]
    conflicts = (
        frame.group_by(KEY, CANDIDATE)
        .agg(pl.col(DECISION).n_unique().alias("n"), pl.col("__row").min().alias("first"))
        .filter(pl.col("n") > 1)
    )
    problems += [
        f"row {r}: conflicting decisions for the same pair"
        for r in sorted(conflicts["first"].to_list())
    ]
    if problems:
        raise DataError(f"{path.name}: " + "; ".join(problems))
    return frame.select(KEY, CANDIDATE, DECISION).unique(maintain_order=True)
