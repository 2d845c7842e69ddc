"""From scored candidate pairs to one decision per record: which enterprise, if any.

A record is about at most one enterprise, so its candidates compete: with odds o_i = 2^w_i
(w_i the pair's match weight, prior included), the probability that candidate i is the record's
enterprise is o_i / (1 + sum_j o_j), the 1 standing for "none of them"
(:func:`exclusive_probabilities`). "X LTD" and "X HOLDINGS LTD" at one address both scoring
above the match threshold is then no longer a tie when the record's own words favour one of
them by a few bits; two near-equal candidates share the probability and neither is linked.

Before that, a candidate's weight gets the register status's weight (:func:`status_weights`):
how much more or less often records are about enterprises of that status (dissolved, not yet
incorporated) than the register holds them, learnt from the identifier-confirmed pairs, so
that among near-equal candidates the active company is preferred.

Statuses (:func:`decide`): ``crn_not_in_register`` when the record's valid CRN is in no
register row and the best candidate has another valid CRN, not a slip of it (a company with
its own number that the register does not hold is not linked to another company by name:
:mod:`pipeline.business.crn_rule`; with ``MatchSettings.contradicting_crn="evidence"`` the
model's CRN disagreement weight alone decides); else ``matched_probabilistic`` when the best
candidate's probability reaches the match threshold (a number, or with ``"auto"`` chosen from
the model: :mod:`pipeline.business.threshold`); ``ambiguous`` when two or more candidates
reach the threshold on their own but share it; ``review`` from the review threshold; else
``not_found``.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.business.crn_rule import CRN_NOT_IN_REGISTER
from pipeline.business.deterministic import ENTREF
from pipeline.business.prepare import UID
from pipeline.business.previous_names import VIA_PREVIOUS_NAME
from pipeline.business.settings import MatchSettings
from pipeline.business.threshold import ThresholdChoice, choose_threshold

#: A status weight never moves a candidate by more than this many bits.
MAX_STATUS_WEIGHT = 4.0
EXCLUSIVE = "exclusive_probability"


def status_weights(
    linked_statuses: pl.Series, register_statuses: pl.Series, *, min_links: int
) -> dict[str, float]:
    """log2 of (share of links to each status) / (share of register rows with it), half a
    count added to each; empty when fewer than ``min_links`` links are known."""
    if linked_statuses.len() < min_links or register_statuses.len() == 0:
        return {}
    statuses = sorted(set(register_statuses.drop_nulls().unique().to_list()))
    k = len(statuses)
    linked = dict(linked_statuses.value_counts().rows())
    held = dict(register_statuses.value_counts().rows())
    weights = {}
    for status in statuses:
        share_linked = (linked.get(status, 0) + 0.5) / (linked_statuses.len() + 0.5 * k)
        share_held = (held.get(status, 0) + 0.5) / (register_statuses.len() + 0.5 * k)
        weight = math.log2(share_linked / share_held)
        weights[status] = max(-MAX_STATUS_WEIGHT, min(MAX_STATUS_WEIGHT, weight))
    return weights


def exclusive_probabilities(pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` (``uid``, ``match_weight``) with :data:`EXCLUSIVE`: each candidate's
    probability of being the record's one enterprise, o_i / (1 + sum_j o_j) with o = 2^w."""
    top = pl.col("match_weight").max().over(UID)
    scaled = (2.0 ** (pl.col("match_weight") - top)).alias("__scaled")
    return (
        pairs.with_columns(scaled, top.alias("__top"))
        .with_columns(
            (
                pl.col("__scaled")
                / (2.0 ** (-pl.col("__top")) + pl.col("__scaled").sum().over(UID))
            ).alias(EXCLUSIVE)
        )
        .drop("__scaled", "__top")
    )


def decide(
    pairs: pl.DataFrame, settings: MatchSettings, *, certain_links: int = 0
) -> tuple[pl.DataFrame, ThresholdChoice]:
    """``uid, status, entref, match_probability`` for every record with a candidate, and the
    match threshold used (:mod:`pipeline.business.threshold`; ``certain_links``: records an
    identifier or a curator linked, for the model's expected F1).

    ``pairs``: ``uid, entref, match_probability, match_weight`` and ``crn_conflict`` (the
    record's valid CRN is in no register row and the candidate has another, not a slip), one
    row per record and enterprise, weights already adjusted. ``match_probability`` in the
    result is the best candidate's exclusive probability. With a
    :data:`~pipeline.business.previous_names.VIA_PREVIOUS_NAME` column in ``pairs``, the
    result says so of the best candidate too.
    """
    via = [VIA_PREVIOUS_NAME] if VIA_PREVIOUS_NAME in pairs.columns else []
    ranked = exclusive_probabilities(pairs).sort(
        [UID, "match_weight", ENTREF], descending=[True, True, False]
    )
    best = ranked.group_by(UID, maintain_order=True).agg(
        pl.col(ENTREF).first(),
        pl.col(EXCLUSIVE).first().alias("match_probability"),
        pl.col(EXCLUSIVE).sum().alias("total"),
        pl.col("crn_conflict").first().fill_null(False).alias("conflict"),
        pl.col("match_probability").alias("pair_probabilities"),
        *(pl.col(c).first() for c in via),
    )
    conflict = pl.col("conflict") & (settings.contradicting_crn == "review")
    choice = choose_threshold(
        best.with_columns((~conflict).alias("linkable")),
        settings.match_threshold,
        certain_links=certain_links,
    )
    t = choice.threshold
    strong = pl.col("pair_probabilities").list.eval(pl.element() >= t).list.sum()
    p = pl.col("match_probability")
    status = (
        pl.when(conflict)
        .then(pl.lit(CRN_NOT_IN_REGISTER))
        .when(p >= t)
        .then(pl.lit("matched_probabilistic"))
        .when(pl.col("strong") >= 2)
        .then(pl.lit("ambiguous"))
        .when((p >= settings.review_threshold) | (pl.col("strong") >= 1))
        .then(pl.lit("review"))
        .otherwise(pl.lit("not_found"))
    )
    matched = pl.col("status") == "matched_probabilistic"
    decided = (
        best.with_columns(strong.alias("strong"))
        .with_columns(status.alias("status"))
        .with_columns(pl.when(matched).then(pl.col(ENTREF)).alias(ENTREF))
        .select(UID, "status", ENTREF, "match_probability", *via)
        .sort(UID)
    )
    return decided, choice
