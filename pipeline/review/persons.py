"""Clerical review of the batch pipeline's grey band, and curators' decisions fed back.

Each run writes the pairs it scored between the review and match thresholds, with at least one
record from its own batch, to ``<work>/review/<run_id>.csv``: both records' link fields side
by side, each comparison's level and weight (why the pair scored as it did), and an empty
``decision`` column for ``match`` or ``non-match``. The file shows names,
dates of birth and identifiers: it is a curator's working file outside the research
environment, kept in the work folder and never delivered.

``pprl run CONFIG --decisions FILE`` stores the filled-in decisions (``key``, ``candidate``,
``decision``, the format of :mod:`pipeline.review.decisions`) in ``<work>/decisions.parquet``.
Every later run links its batch together with earlier records, and applies every stored
decision to the scored pairs before clustering: ``match`` links the two records whatever the
model says, ``non-match`` removes the pair (the records may still meet through others). A
later decision on the same pair replaces an earlier one. Records delivered before keep the
``person_id`` they were delivered with; decisions shape the entities of new records.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.entities import UID
from pipeline.errors import DataError
from pipeline.review.decisions import CANDIDATE, DECISION, KEY, MATCH, read_decisions

REVIEW_DIR = "review"
DECISIONS_FILE = "decisions.parquet"
PAIR_L, PAIR_R, PROBABILITY = "_uid_l", "_uid_r", "match_probability"
_A, _B = "record_a", "record_b"  # a stored decision's pair, in sorted order


def _unordered(left: pl.Expr, right: pl.Expr) -> list[pl.Expr]:
    return [pl.min_horizontal(left, right).alias(_A), pl.max_horizontal(left, right).alias(_B)]


def load_decisions(path: Path) -> pl.DataFrame | None:
    """Stored decisions (``record_a``, ``record_b``, ``decision``), or None."""
    return pl.read_parquet(path) if path.exists() else None


def store_decisions(path: Path, files: list[Path]) -> int:
    """Add the decisions of edited review files to the store; returns how many were read.

    Files are read in the order given; for a pair decided twice the last decision wins.
    """
    parts = [] if (old := load_decisions(path)) is None else [old]
    read = 0
    for file in files:
        frame = read_decisions(file)
        read += frame.height
        parts.append(frame.select(*_unordered(pl.col(KEY), pl.col(CANDIDATE)), DECISION))
    if read == 0:
        return 0
    merged = pl.concat(parts).unique([_A, _B], keep="last", maintain_order=True).sort(_A, _B)
    write_with_atomic(path, merged.write_parquet)
    return read


def apply_decisions(
    pairs: pl.DataFrame,
    decisions: pl.DataFrame | None,
    records: pl.Series,
    left_uids: pl.Series | None,
) -> pl.DataFrame:
    """``pairs`` (``id_l``, ``id_r``, ``match_probability``, ...) with decisions applied.

    ``match`` pairs get probability 1 (and are added when the blocking or the threshold left
    them out); ``non-match`` pairs are dropped. Decisions naming a record not in ``records``
    (the ids being linked) are ignored; ``left_uids`` orients added pairs for a two-sided link
    (None for a dedupe).
    """
    if decisions is None or decisions.height == 0:
        return pairs
    known = records.implode()
    decisions = decisions.filter(pl.col(_A).is_in(known) & pl.col(_B).is_in(known))
    keyed = pairs.with_columns(*_unordered(pl.col("id_l"), pl.col("id_r")))
    keyed = keyed.join(decisions, on=[_A, _B], how="left")
    kept = keyed.filter(pl.col(DECISION).is_null() | (pl.col(DECISION) == MATCH))
    kept = kept.with_columns(
        pl.when(pl.col(DECISION) == MATCH)
        .then(1.0)
        .otherwise(pl.col(PROBABILITY))
        .alias(PROBABILITY)
    )
    missing = decisions.filter(pl.col(DECISION) == MATCH).join(
        keyed.select(_A, _B), on=[_A, _B], how="anti"
    )
    if left_uids is not None:
        a_left = pl.col(_A).is_in(left_uids.implode())
        added = missing.filter(a_left | pl.col(_B).is_in(left_uids.implode())).select(
            pl.when(a_left).then(pl.col(_A)).otherwise(pl.col(_B)).alias("id_l"),
            pl.when(a_left).then(pl.col(_B)).otherwise(pl.col(_A)).alias("id_r"),
        )
    else:
        added = missing.select(pl.col(_A).alias("id_l"), pl.col(_B).alias("id_r"))
    added = added.with_columns(pl.lit(1.0).alias(PROBABILITY))
    out = kept.drop(_A, _B, DECISION)
    return pl.concat(
        [out, added.cast({c: out.schema[c] for c in added.columns})], how="diagonal_relaxed"
    )


def review_rows(
    pairs: pl.DataFrame,
    records: pl.DataFrame,
    batch: pl.Series,
    *,
    review: float,
    match: float,
    decisions: pl.DataFrame | None,
) -> pl.DataFrame:
    """The review file's rows: grey-band pairs touching ``batch`` (record ids), undecided,
    with ``records``' columns (``_source``, roles, ``id_*``) of both sides, then any
    ``level_*``/``weight_*`` explanation columns of ``pairs``."""
    band = pairs.filter(
        (pl.col(PROBABILITY) >= review)
        & (pl.col(PROBABILITY) < match)
        & (pl.col(PAIR_L).is_in(batch.implode()) | pl.col(PAIR_R).is_in(batch.implode()))
    )
    if decisions is not None and decisions.height:
        band = (
            band.with_columns(*_unordered(pl.col(PAIR_L), pl.col(PAIR_R)))
            .join(decisions.select(_A, _B), on=[_A, _B], how="anti")
            .drop(_A, _B)
        )
    fields = [c for c in records.columns if c != UID]
    side = {
        n: records.select(pl.col(UID).alias(n), *(pl.col(c).alias(f"{c}_{n[-1]}") for c in fields))
        for n in (PAIR_L, PAIR_R)
    }
    joined = band.join(side[PAIR_L], on=PAIR_L, how="left").join(
        side[PAIR_R], on=PAIR_R, how="left"
    )
    columns = [f"{c}_{s}" for c in fields for s in ("l", "r")]
    why = [c for c in pairs.columns if c.startswith(("level_", "weight_"))]
    return joined.sort(PROBABILITY, PAIR_L, PAIR_R, descending=[True, False, False]).select(
        pl.col(PAIR_L).alias(KEY),
        pl.col(PAIR_R).alias(CANDIDATE),
        pl.col(PROBABILITY).round(4),
        *(pl.col(c).cast(pl.String) for c in columns),
        *(pl.col(c).round(2) if c.startswith("weight_") else pl.col(c) for c in why),
        pl.lit("", dtype=pl.String).alias(DECISION),
    )


def write_review(path: Path, rows: pl.DataFrame) -> None:
    write_with_atomic(path, rows.write_csv)


def review_file(work_dir: Path, run_id: str | None = None) -> Path:
    """The review file of run ``run_id`` in ``work_dir``, or the newest run's."""
    folder = work_dir / REVIEW_DIR
    if run_id is not None:
        path = folder / f"{run_id}.csv"
        if not path.is_file():
            raise DataError(f"no review file for run {run_id} in {folder}")
        return path
    files = sorted(folder.glob("run-*.csv"), key=lambda p: (p.stat().st_mtime, p.name))
    if not files:
        raise DataError(f"no review file in {folder}: run pprl run CONFIG first")
    return files[-1]
