"""The business register's clerical review file: a CSV a curator edits.

The review file lists, for each record in the grey band, its candidate enterprises with the
evidence a curator needs (both sides' names, postcodes and addresses) and an empty
``decision`` column to fill with ``match`` or ``non-match``. It identifies a candidate by its
pseudonymised entref, so the same pair has the same identity on every rerun in the same
environment and no register reference is written. It holds names and addresses: it is a
working file for a curator inside the secure environment, never a deliverable.

Its ``key``, ``candidate`` and ``decision`` columns are the shared decision format
(:mod:`pipeline.review.decisions`, which reads an edited file back). Feeding it back
(``--decisions FILE``) overrides those pairs: ``match`` links the record to
that enterprise whatever the model says; ``non-match`` removes the pair from consideration, so
the next best candidate (if any) is used. Blank decisions are ignored.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.review.decisions import CANDIDATE, DECISION, KEY

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
    frame = rows.with_columns(pl.lit("", dtype=pl.String).alias(DECISION)).select(REVIEW_COLUMNS)
    write_with_atomic(path, lambda p: frame.write_csv(p))
