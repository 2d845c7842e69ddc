"""Curators' decisions fed back into a link job: ``pprl link CONFIG --decisions FILE``.

The file is the decision format of :mod:`pipeline.review.decisions` (``key``, ``candidate``,
``decision``): the decided file ``pprl review --link-review`` saves beside ``review.csv``, or
``review.csv`` filled in by hand. For a link ``key`` is the left input's id and ``candidate``
the right input's, as in ``review.csv``; for a deduplication the order does not matter.

A decision applies to a pair among the job's scored candidate pairs (those its blocking rules
made, above linkage's probability floor of 1e-4) before one-to-one matching and clustering:
``match`` makes the pair a match whatever its score, and one-to-one matching keeps it (other
pairs of its two records give way); ``non-match`` removes the pair from the pairs, the matches
and the review (its records may still meet in a cluster through others). A decision on any
other pair is counted, logged as a warning and ignored. Pairs keep the model's probability;
the ``clerical_decision`` column says which a curator forced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipeline.review.decisions import CANDIDATE, DECISION, KEY, MATCH, NON_MATCH, read_decisions

logger = logging.getLogger(__name__)

#: The column a pair's clerical decision is carried in (``match``, ``non_match`` or null).
CLERICAL = "clerical_decision"
_A, _B = "__pair_a", "__pair_b"  # an unordered pair's ids, smaller first


def read_link_decisions(path: Path, *, dedupe: bool) -> pl.DataFrame:
    """``id_l``, ``id_r``, ``clerical_decision`` from a decision file; every bad row is
    reported at once, by row number (:func:`pipeline.review.decisions.read_decisions`)."""
    return read_decisions(path, unordered=dedupe).select(
        pl.col(KEY).alias("id_l"), pl.col(CANDIDATE).alias("id_r"), pl.col(DECISION).alias(CLERICAL)
    )


def mark_decisions(
    scored: pl.DataFrame, decisions: pl.DataFrame | None, *, dedupe: bool
) -> tuple[pl.DataFrame, dict[str, int] | None]:
    """``scored`` with a ``clerical_decision`` column (null where no curator decided), and the
    counts of the decisions (None without a decision file)."""
    if decisions is None:
        return scored.with_columns(pl.lit(None, dtype=pl.String).alias(CLERICAL)), None
    keyed = _keyed(scored, dedupe)
    wanted = _keyed(decisions, dedupe).select(_A, _B, CLERICAL)
    marked = keyed.join(wanted, on=[_A, _B], how="left").drop(_A, _B)
    applied = wanted.join(keyed.select(_A, _B), on=[_A, _B], how="semi")
    counts = {
        "read": decisions.height,
        "match": decisions.filter(pl.col(CLERICAL) == MATCH).height,
        "non_match": decisions.filter(pl.col(CLERICAL) == NON_MATCH).height,
        "applied": applied.height,
        "not_candidates": decisions.height - applied.height,
    }
    if counts["not_candidates"]:
        logger.warning(
            "%d clerical decision(s) name a pair that is not among this job's candidate pairs:"
            " ignored",
            counts["not_candidates"],
        )
    return marked, counts


def _keyed(pairs: pl.DataFrame, dedupe: bool) -> pl.DataFrame:
    """``pairs`` with the join key of each pair: as oriented for a link, unordered for a
    deduplication."""
    left, right = pl.col("id_l"), pl.col("id_r")
    if not dedupe:
        return pairs.with_columns(left.alias(_A), right.alias(_B))
    swap = right < left
    return pairs.with_columns(
        pl.when(swap).then(right).otherwise(left).alias(_A),
        pl.when(swap).then(left).otherwise(right).alias(_B),
    )


def kept_pairs(marked: pl.DataFrame, review: float) -> pl.DataFrame:
    """The pairs a job keeps: at or above the ``review`` threshold or decided ``match``,
    and not decided ``non-match``."""
    decided = pl.col(CLERICAL)
    return marked.filter(
        ((pl.col("match_probability") >= review) | (decided == MATCH))
        & decided.ne_missing(NON_MATCH)
    )


def one_to_one_after_decisions(
    kept: pl.DataFrame, one_to_one: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """``one_to_one`` applied to the pairs no curator decided, after dropping those that
    share a record with a pair decided ``match``; the decided pairs are all kept."""
    forced = kept.filter(pl.col(CLERICAL) == MATCH)
    rest = (
        kept.filter(pl.col(CLERICAL).is_null())
        .join(forced.select("id_l"), on="id_l", how="anti")
        .join(forced.select("id_r"), on="id_r", how="anti")
    )
    chosen = pl.concat([forced, one_to_one(rest)], how="vertical_relaxed")
    return chosen.sort(
        "match_weight", "id_l", "id_r", descending=[True, False, False], maintain_order=True
    )


def with_decisions_applied(classified: pl.DataFrame) -> pl.DataFrame:
    """``classified`` (with the thresholds' ``decision``) where pairs decided ``match`` are
    matches whatever their score."""
    return classified.with_columns(
        pl.when(pl.col(CLERICAL) == MATCH)
        .then(pl.lit("match"))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )


def forced_certain(pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with probability 1 where a curator decided ``match``: what clustering and
    the labelled evaluation see, so the pair links at any threshold."""
    return pairs.with_columns(
        pl.when(pl.col(CLERICAL) == MATCH)
        .then(pl.lit(1.0))
        .otherwise(pl.col("match_probability"))
        .alias("match_probability")
    )
