"""The match threshold chosen from the model (``match_threshold="auto"``): the cut that
maximises the run's expected F1, checked against a brute-force search over every cut on small
generated candidate sets; the 0.5 floor; a given number; the settings that accept them."""

from __future__ import annotations

import logging
import math
import random

import polars as pl
import pytest

from pipeline.business.decide import decide, exclusive_probabilities
from pipeline.business.settings import MatchSettings
from pipeline.business.threshold import AUTO_FLOOR
from pipeline.errors import ConfigError
from tests.pipeline.business.test_decide import pairs


def random_pairs(seed: int, records: int) -> pl.DataFrame:
    """1-3 candidates per record, weights from clear non-matches to clear matches, a few
    records with a contradicting CRN."""
    rng = random.Random(seed)
    rows = []
    for uid in range(records):
        conflict = rng.random() < 0.1
        for k in range(rng.randint(1, 3)):
            rows.append((uid, f"e{uid}-{k}", rng.uniform(-6.0, 12.0), conflict))
    return pairs(rows)


def brute_force_best_cut(candidates: pl.DataFrame, certain: int) -> tuple[float, float]:
    """(cut, expected F1) maximising the expected F1, trying every record's best probability
    as the cut: links = certain + records at or above it; right = certain + their
    probabilities; true = certain + every candidate's exclusive probability."""
    scored = exclusive_probabilities(candidates)
    per_record = scored.group_by("uid").agg(
        pl.col("exclusive_probability").max().alias("best"),
        pl.col("exclusive_probability").sum().alias("total"),
        pl.col("crn_conflict").first().alias("conflict"),
    )
    true = certain + float(per_record["total"].sum())
    linkable = per_record.filter(~pl.col("conflict"))["best"].to_list()
    best_cut, best_f1 = 1.0, -1.0
    for cut in sorted(set(linkable), reverse=True):
        linked = [p for p in linkable if p >= cut]
        f1 = 2 * (certain + sum(linked)) / (certain + len(linked) + true)
        if f1 > best_f1:
            best_cut, best_f1 = cut, f1
    return best_cut, best_f1


@pytest.mark.parametrize(("seed", "certain"), [(1, 0), (2, 40), (3, 500), (4, 7)])
def test_auto_cut_maximises_expected_f1_like_a_brute_force_search(seed: int, certain: int) -> None:
    candidates = random_pairs(seed, 60)
    decided, choice = decide(
        candidates, MatchSettings(match_threshold="auto"), certain_links=certain
    )
    cut, f1 = brute_force_best_cut(candidates, certain)
    assert choice.setting == "auto" and choice.unguarded == pytest.approx(cut)
    assert choice.threshold == pytest.approx(max(cut, AUTO_FLOOR))
    if cut >= AUTO_FLOOR:
        assert choice.expected_f1 == pytest.approx(f1)
    linked = decided.filter(pl.col("status") == "matched_probabilistic")
    assert (linked["match_probability"] >= choice.threshold).all()
    unlinked = ~pl.col("status").is_in(["matched_probabilistic", "crn_not_in_register"])
    assert (decided.filter(unlinked)["match_probability"] < choice.threshold).all()


def odds_weight(p: float) -> float:
    """The match weight of a lone candidate whose probability is ``p``."""
    return math.log2(p / (1 - p))


def test_the_cut_is_above_the_floor_when_no_record_lies_between() -> None:
    # three sure records, one at p = 0.6 and one at 0.3: the 0.6 one raises the expected F1
    # (0.6 > F1 / 2), the 0.3 one would lower it; nothing lies between, so the cut is 0.6
    sure = [(uid, f"s{uid}", 30.0, False) for uid in range(3)]
    candidates = pairs(
        [*sure, (10, "w", odds_weight(0.6), False), (11, "v", odds_weight(0.3), False)]
    )
    decided, choice = decide(candidates, MatchSettings(match_threshold="auto"))
    cut, f1 = brute_force_best_cut(candidates, 0)
    assert cut == pytest.approx(0.6) and choice.threshold == pytest.approx(0.6)
    assert choice.expected_f1 == pytest.approx(f1)
    status = dict(decided.select("uid", "status").iter_rows())
    assert status[10] == "matched_probabilistic" and status[11] == "not_found"


def test_the_floor_keeps_more_likely_wrong_records_unlinked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # many sure links: the expected F1 is near 1, so records down to p ~ 0.5 would raise it;
    # a record at p = 0.45 (below the floor) and two candidates sharing one record stay
    # unlinked, the first in review (review threshold 0.4), the second ambiguous
    sure = [(uid, f"s{uid}", 30.0, False) for uid in range(50)]
    candidates = pairs(
        [
            *sure,
            (100, "w", odds_weight(0.45), False),
            (101, "a", 20.0, False),
            (101, "b", 20.0, False),
        ]
    )
    with caplog.at_level(logging.INFO, logger="pipeline.business.threshold"):
        decided, choice = decide(
            candidates, MatchSettings(match_threshold="auto", review_threshold=0.4)
        )
    assert choice.unguarded is not None and choice.unguarded < AUTO_FLOOR
    assert choice.threshold == AUTO_FLOOR
    status = dict(decided.select("uid", "status").iter_rows())
    assert status[100] == "review" and status[101] == "ambiguous"
    assert all(status[uid] == "matched_probabilistic" for uid in range(50))
    assert "match threshold 0.5000 (auto" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_given_number_is_used_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    candidates = pairs([(0, "a", 1.0, False), (1, "b", 4.0, False), (2, "c", -1.0, False)])
    # exclusive probabilities 2/3, 16/17, 1/3
    decided, choice = decide(candidates, MatchSettings(match_threshold=0.9), certain_links=3)
    assert (choice.setting, choice.threshold, choice.unguarded) == (0.9, 0.9, None)
    assert decided["status"].to_list() == ["review", "matched_probabilistic", "not_found"]
    # the model's expectations at 0.9: 3 certain + 16/17 right of 4 links; true 3 + 2/3+16/17+1/3
    right, true = 3 + 16 / 17, 3 + 2 / 3 + 16 / 17 + 1 / 3
    assert choice.expected_precision == pytest.approx(right / 4)
    assert choice.expected_recall == pytest.approx(right / true)
    assert choice.expected_true_links == pytest.approx(true)
    with caplog.at_level(logging.WARNING, logger="pipeline.business.threshold"):
        low, choice = decide(candidates, MatchSettings(match_threshold=0.3, review_threshold=0.2))
    assert low["status"].to_list() == ["matched_probabilistic"] * 3
    assert "below 0.5" in caplog.text


def test_a_cut_below_the_review_threshold_empties_the_review_band() -> None:
    sure = [(uid, f"s{uid}", 30.0, False) for uid in range(3)]
    weak = [(10, "w", odds_weight(0.6), False), (11, "v", odds_weight(0.3), False)]
    decided, choice = decide(
        pairs([*sure, *weak]), MatchSettings(match_threshold="auto", review_threshold=0.7)
    )
    assert choice.threshold == pytest.approx(0.6)
    assert decided["status"].to_list()[3:] == ["matched_probabilistic", "not_found"]


def test_settings_accept_auto_or_a_probability() -> None:
    assert MatchSettings().match_threshold == 0.9
    # with "auto" the review threshold stands on its own (the cut may fall below it)
    assert MatchSettings(match_threshold="auto", review_threshold=0.95).review_threshold == 0.95
    assert MatchSettings(match_threshold=0.7).match_threshold == 0.7
    for bad in ("sometimes", 1.5, -0.1, True):
        with pytest.raises(ConfigError, match="match_threshold must be 'auto'"):
            MatchSettings(match_threshold=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="review <= match"):
        MatchSettings(match_threshold=0.5, review_threshold=0.6)
    with pytest.raises(ConfigError, match="review_threshold"):
        MatchSettings(review_threshold=2.0)
