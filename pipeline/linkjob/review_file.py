"""A link job's ``review.csv``: the clerical-review file ``pprl review --link-review`` shows.

One row per pair: ``key`` (the left input's id; the first record's in a deduplication),
``candidate`` (the right input's id), ``match_weight``, ``match_probability``, then, only when
the job was asked for record values (``pprl link --review-records``), both records' compared
fields side by side as ``<field>_l`` / ``<field>_r`` (the standardised values the model
compared), then each comparison's ``level_<name>`` and ``weight_<name>``, and ``decision``:
the shape of the batch pipeline's review file (:mod:`pipeline.review.persons`), so the same
page shows both and the same reader (:mod:`pipeline.review.decisions`) reads them back.

The rows are the grey band's undecided pairs, then (with ``--decisions``) every candidate pair
a curator decided, its ``decision`` filled in: the file, and the decided file the browser
saves beside it, then carry every decision on to the next run.
"""

from __future__ import annotations

import polars as pl

from linkage import Linker
from pipeline.linkconfig import ID
from pipeline.linkjob.clerical import CLERICAL
from pipeline.review.decisions import CANDIDATE, DECISION, KEY, MATCH, NON_MATCH

_SPELLED = {MATCH: "match", NON_MATCH: "non-match"}  # as the review page writes them


def review_rows(
    linker: Linker, pairs: pl.DataFrame, frames: list[pl.DataFrame], *, records: bool
) -> pl.DataFrame:
    """The rows of ``review.csv`` for ``pairs`` (scored pairs with their gamma and
    term-frequency columns and ``clerical_decision``), heaviest first; ``frames`` are the
    standardised inputs, read only when ``records``."""
    rows = pairs.select(
        pl.col("id_l").alias(KEY),
        pl.col("id_r").alias(CANDIDATE),
        pl.col("match_weight").cast(pl.Float64),
        "match_probability",
        pl.col(CLERICAL).replace_strict(_SPELLED, default="").fill_null("").alias(DECISION),
    )
    if records:
        rows = _with_records(rows, frames, compared_fields(linker, frames))
    if pairs.height:
        why = linker.explain_wide(pairs).rename({"id_l": KEY, "id_r": CANDIDATE})
        rows = rows.join(why, on=[KEY, CANDIDATE], how="left", maintain_order="left")
    order = [c for c in rows.columns if c != DECISION]
    return rows.select(*order, DECISION).sort(
        "match_weight", KEY, CANDIDATE, descending=[True, False, False]
    )


def compared_fields(linker: Linker, frames: list[pl.DataFrame]) -> list[str]:
    """The input columns the model's comparisons read, in comparison order, that every
    input holds."""
    wanted = dict.fromkeys(c for comparison in linker.comparisons for c in comparison.columns())
    return [c for c in wanted if c != ID and all(c in f.columns for f in frames)]


def _with_records(
    rows: pl.DataFrame, frames: list[pl.DataFrame], fields: list[str]
) -> pl.DataFrame:
    """``rows`` with each field of both records, ``<field>_l`` beside ``<field>_r``."""
    left, right = frames[0], frames[-1]  # a deduplication compares its one input with itself
    base = rows.columns
    rows = rows.join(
        left.select(pl.col(ID).alias(KEY), *(_text(f, "l") for f in fields)),
        on=KEY,
        how="left",
        maintain_order="left",
    ).join(
        right.select(pl.col(ID).alias(CANDIDATE), *(_text(f, "r") for f in fields)),
        on=CANDIDATE,
        how="left",
        maintain_order="left",
    )
    return rows.select(*base, *(f"{f}_{s}" for f in fields for s in "lr"))


def _text(field: str, side: str) -> pl.Expr:
    return pl.col(field).cast(pl.String).alias(f"{field}_{side}")
