"""Choosing among a record's candidates: exclusive probabilities, statuses, the CRN rule and
the register-status weights, on hand-made candidate pairs with known weights."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipeline.business.decide import (
    EXCLUSIVE,
    MAX_STATUS_WEIGHT,
    decide,
    exclusive_probabilities,
    status_weights,
)
from pipeline.business.settings import MatchSettings
from pipeline.errors import ConfigError


def pairs(rows: list[tuple[int, str, float, bool]]) -> pl.DataFrame:
    """(uid, entref, match weight, crn conflict) -> candidate pairs as decide reads them."""
    weights = [w for _, _, w, _ in rows]
    return pl.DataFrame(
        {
            "uid": [r[0] for r in rows],
            "entref": [r[1] for r in rows],
            "match_probability": [1 / (1 + 2**-w) for w in weights],
            "match_weight": weights,
            "crn_conflict": [r[3] for r in rows],
        }
    )


def test_exclusive_probability_known_answers() -> None:
    # odds 2^w; each candidate's share of (1 + sum of odds), computed by hand
    got = exclusive_probabilities(pairs([(0, "a", 3.0, False), (0, "b", 1.0, False)]))
    assert got[EXCLUSIVE].to_list() == pytest.approx([8 / 11, 2 / 11])
    # a lone candidate keeps its own probability; huge weights do not overflow
    alone = exclusive_probabilities(pairs([(1, "a", 2.0, False), (2, "b", 2000.0, False)]))
    assert alone[EXCLUSIVE].to_list() == pytest.approx([0.8, 1.0])


def test_sisters_no_longer_tie_when_the_words_favour_one() -> None:
    settings = MatchSettings(match_threshold=0.9)
    # record 0: "X LTD" and "X HOLDINGS LTD" both far above the threshold, 5 bits apart
    # record 1: two candidates with the same weight; record 2: strong but its CRN is in no
    # register row and the candidate has another (not linked, a status of its own)
    # record 3: grey band; record 4: nothing close
    got, threshold = decide(
        pairs(
            [
                (0, "x", 20.0, False),
                (0, "x-holdings", 15.0, False),
                (1, "a", 20.0, False),
                (1, "b", 20.0, False),
                (2, "c", 20.0, True),
                (3, "d", 1.0, False),
                (4, "e", -8.0, False),
            ]
        ),
        settings,
    )
    assert threshold.threshold == 0.9 and threshold.setting == 0.9
    assert got["status"].to_list() == [
        "matched_probabilistic", "ambiguous", "crn_not_in_register", "review", "not_found",
    ]  # fmt: skip
    assert got["entref"].to_list() == ["x", None, None, None, None]
    assert got["match_probability"][0] == pytest.approx(2**20 / (1 + 2**20 + 2**15))
    assert got["match_probability"][1] == pytest.approx(0.5, abs=1e-6)
    # the CRN rule can be turned off: the model's evidence alone decides
    evidence, _ = decide(pairs([(2, "c", 20.0, True)]), MatchSettings(contradicting_crn="evidence"))
    assert evidence["status"].to_list() == ["matched_probabilistic"]


def test_contradicting_crn_setting_is_checked() -> None:
    with pytest.raises(ConfigError, match="contradicting_crn"):
        MatchSettings(contradicting_crn="ignore")  # type: ignore[arg-type]


def test_status_weights_known_answer() -> None:
    register = pl.Series(["active"] * 80 + ["dissolved"] * 20)
    linked = pl.Series(["active"] * 45 + ["dissolved"] * 5)
    got = status_weights(linked, register, min_links=30)
    # half a count added to each status: (45.5 / 51) / (80.5 / 101), (5.5 / 51) / (20.5 / 101)
    assert got["active"] == pytest.approx(math.log2((45.5 / 51) / (80.5 / 101)))
    assert got["dissolved"] == pytest.approx(math.log2((5.5 / 51) / (20.5 / 101)))
    assert status_weights(linked[:10], register, min_links=30) == {}
    rare = status_weights(
        pl.Series(["active"] * 1000), pl.Series(["active", *["x"] * 999]), min_links=1
    )
    assert rare["active"] == MAX_STATUS_WEIGHT and rare["x"] == -MAX_STATUS_WEIGHT
