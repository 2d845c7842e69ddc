"""The prior that a record is about some register enterprise at all, for choosing among its
candidates (:func:`record_prior_bits`).

A pair's match weight carries the model's pair prior, lambda: the share of all record-register
pairs that match. Deciding for a record compares its candidates with "none of them": with a
share pi of the records about some enterprise, and N register rows, the probability that
candidate i is the record's enterprise is

    (pi / N) BF_i / ((1 - pi) + (pi / N) sum_j BF_j),

BF the pair's Bayes factor. :func:`~pipeline.business.decide.exclusive_probabilities` computes
o_i / (1 + sum_j o_j) with o = 2^w = lambda / (1 - lambda) BF, which is that formula only when
lambda / (1 - lambda) = pi / (N (1 - pi)); when most records are about a register enterprise
"none of them" is far less likely than the 1 stands for, and lambda, counted over the pairs of
the records an identifier already settled too, is not the share of the records left. So the
weights get log2(pi (1 - lambda) / (N lambda (1 - pi))) bits, with pi estimated over the
records left to decide by expectation maximisation on their own candidates: pi is the mean of
each record's probability of being about one of its candidates given pi.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.business.prepare import UID

#: pi is kept inside [MIN_SHARE, 1 - MIN_SHARE]: a record is never certainly in, or out of, the
#: register before its evidence is seen.
MIN_SHARE = 0.01
MAX_ITERATIONS = 500
TOLERANCE = 1e-9


def record_prior_bits(
    pairs: pl.DataFrame, *, records: int, pair_prior: float, register_rows: int
) -> tuple[float, float]:
    """(pi, bits): the share of the ``records`` (those left to decide, with a name) about some
    register enterprise, and the bits to add to their candidates' weights (see the module
    docstring). ``pairs``: ``uid, match_weight`` (weights include ``pair_prior``, the model's
    lambda; a record without pairs has no candidate worth counting); ``register_rows``: N.
    (0, 0) when there is nothing to estimate from."""
    if records <= 0 or pairs.height == 0 or register_rows <= 0 or not 0.0 < pair_prior < 1.0:
        return 0.0, 0.0
    # log2 of (1 / N) sum_j BF_j per record: the weights without lambda's prior odds
    base = math.log2((1.0 - pair_prior) / (register_rows * pair_prior))
    evidence = (
        pairs.group_by(UID).agg(_log2_sum_exp2(pl.col("match_weight")).alias("w"))["w"].to_numpy()
        + base
    )
    share = 0.5
    for _ in range(MAX_ITERATIONS):
        log_odds = (evidence + math.log2(share / (1.0 - share))).clip(-1000.0, 1000.0)
        in_register = 1.0 / (1.0 + 2.0**-log_odds)
        updated = min(max(float(in_register.sum()) / records, MIN_SHARE), 1.0 - MIN_SHARE)
        if abs(updated - share) <= TOLERANCE:
            share = updated
            break
        share = updated
    return share, math.log2(share / (1.0 - share)) + base


def _log2_sum_exp2(weights: pl.Expr) -> pl.Expr:
    """log2(sum 2^w), without overflow for large weights."""
    top = weights.max()
    return top + (2.0 ** (weights - top)).sum().log(2.0)
