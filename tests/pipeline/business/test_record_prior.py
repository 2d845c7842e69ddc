"""The record prior: the share of the records left to decide that are about some register
enterprise, estimated from their candidates, and the bits that make the exclusive probability
the per-record posterior (:mod:`pipeline.business.record_prior`)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipeline.business.decide import EXCLUSIVE, exclusive_probabilities
from pipeline.business.record_prior import MIN_SHARE, record_prior_bits

LAMBDA, ROWS = 1e-4, 2_000  # the model's pair prior and the register's rows


def _pairs(rows: list[tuple[int, float]]) -> pl.DataFrame:
    return pl.DataFrame({"uid": [u for u, _ in rows], "match_weight": [w for _, w in rows]})


def _base() -> float:
    return math.log2((1 - LAMBDA) / (ROWS * LAMBDA))


def test_the_share_is_the_records_their_candidates_make_certain() -> None:
    # three records with an overwhelming candidate, one with none: pi = 3 / 4
    pairs = _pairs([(0, 60.0), (1, 55.0), (1, 40.0), (2, 70.0)])
    share, bits = record_prior_bits(pairs, records=4, pair_prior=LAMBDA, register_rows=ROWS)
    assert share == pytest.approx(0.75, abs=1e-6)
    assert bits == pytest.approx(math.log2(0.75 / 0.25) + _base(), abs=1e-5)


def test_uncertain_records_count_by_their_posterior() -> None:
    # of four records one is certain, one has weak evidence, two have no candidate: pi solves
    # pi = (1 + p(pi)) / 4, the weak record's posterior p having log2 odds = its evidence +
    # log2(pi / (1 - pi))
    evidence = -1.0
    weight = evidence - _base()  # its weight, lambda's prior included
    share, _ = record_prior_bits(
        _pairs([(0, 80.0), (1, weight)]), records=4, pair_prior=LAMBDA, register_rows=ROWS
    )
    posterior = 1 / (1 + 2 ** -(evidence + math.log2(share / (1 - share))))
    assert share == pytest.approx((1 + posterior) / 4, abs=1e-6)
    assert 0.25 < share < 0.5


def test_shifted_weights_give_the_per_record_posterior() -> None:
    pairs = _pairs([(0, 30.0), (1, 3.0), (1, 1.5), (2, -2.0), (3, 25.0)])
    share, bits = record_prior_bits(pairs, records=6, pair_prior=LAMBDA, register_rows=ROWS)
    shifted = exclusive_probabilities(pairs.with_columns(pl.col("match_weight") + bits))
    record = pairs.filter(pl.col("uid") == 1)["match_weight"].to_list()
    factors = [2**w * (1 - LAMBDA) / LAMBDA for w in record]  # Bayes factors
    prior = share / ROWS
    expected = [prior * f / ((1 - share) + prior * sum(factors)) for f in factors]
    got = shifted.filter(pl.col("uid") == 1)[EXCLUSIVE].to_list()
    assert got == pytest.approx(expected, rel=1e-9)


def test_the_share_stays_inside_its_bounds_and_nothing_gives_nothing() -> None:
    certain = _pairs([(0, 90.0), (1, 90.0)])
    share, _ = record_prior_bits(certain, records=2, pair_prior=LAMBDA, register_rows=ROWS)
    assert share == pytest.approx(1 - MIN_SHARE)
    hopeless = _pairs([(0, -200.0)])
    share, _ = record_prior_bits(hopeless, records=50, pair_prior=LAMBDA, register_rows=ROWS)
    assert share == pytest.approx(MIN_SHARE)
    empty = _pairs([]).cast({"uid": pl.Int64, "match_weight": pl.Float64})
    assert record_prior_bits(empty, records=5, pair_prior=LAMBDA, register_rows=ROWS) == (0, 0)
    assert record_prior_bits(certain, records=2, pair_prior=0.0, register_rows=ROWS) == (0, 0)
