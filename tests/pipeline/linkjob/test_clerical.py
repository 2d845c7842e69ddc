"""Curators' decisions applied to a link job's scored pairs (pipeline/linkjob/clerical.py), on
small literal frames: which pairs a decision names, what is kept, one-to-one, clustering."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from linkage.cluster import one_to_one
from pipeline.errors import DataError
from pipeline.linkjob.clerical import (
    CLERICAL,
    forced_certain,
    kept_pairs,
    mark_decisions,
    one_to_one_after_decisions,
    read_link_decisions,
    with_decisions_applied,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

SCORED = pl.DataFrame(
    {
        "id_l": ["L1", "L1", "L2", "L3", "L4"],
        "id_r": ["R1", "R2", "R1", "R3", "R4"],
        "match_weight": [9.0, -2.0, 3.0, 1.0, -8.0],
        "match_probability": [0.99, 0.2, 0.9, 0.6, 0.004],
    }
)


def decisions(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["id_l", "id_r", CLERICAL], orient="row")


def test_a_links_decisions_name_left_then_right_ids() -> None:
    given = decisions(("L1", "R2", "match"), ("R3", "L3", "non_match"), ("L9", "R9", "match"))
    marked, counts = mark_decisions(SCORED, given, dedupe=False)
    assert marked.columns == [*SCORED.columns, CLERICAL]
    assert marked[CLERICAL].to_list() == [None, "match", None, None, None]
    # the second names the right id first: not a candidate pair of a link
    assert counts == {"read": 3, "match": 2, "non_match": 1, "applied": 1, "not_candidates": 2}


def test_a_deduplications_decisions_apply_whichever_way_round() -> None:
    given = decisions(("R3", "L3", "non_match"), ("L1", "R1", "match"))
    marked, counts = mark_decisions(SCORED, given, dedupe=True)
    assert marked[CLERICAL].to_list() == ["match", None, None, "non_match", None]
    assert counts is not None and counts["applied"] == 2 and counts["not_candidates"] == 0


def test_without_a_decision_file_nothing_changes() -> None:
    marked, counts = mark_decisions(SCORED, None, dedupe=False)
    assert counts is None and marked[CLERICAL].null_count() == SCORED.height
    assert kept_pairs(marked, 0.5)["id_l"].to_list() == ["L1", "L2", "L3"]


def test_match_keeps_a_pair_below_the_threshold_and_non_match_drops_one_above() -> None:
    given = decisions(("L4", "R4", "match"), ("L2", "R1", "non_match"))
    marked, _ = mark_decisions(SCORED, given, dedupe=False)
    kept = kept_pairs(marked, 0.5)
    assert kept.select("id_l", "id_r").rows() == [("L1", "R1"), ("L3", "R3"), ("L4", "R4")]
    classified = with_decisions_applied(
        kept.with_columns(
            pl.when(pl.col("match_probability") >= 0.95)
            .then(pl.lit("match"))
            .otherwise(pl.lit("review"))
            .alias("decision")
        )
    )
    assert classified["decision"].to_list() == ["match", "review", "match"]
    certain = forced_certain(classified)
    # the forced pair links at any threshold; the others keep the model's probability
    assert certain["match_probability"].to_list() == [0.99, 0.6, 1.0]
    assert classified["match_probability"].to_list() == [0.99, 0.6, 0.004]


def test_one_to_one_gives_way_to_a_curators_match() -> None:
    marked, _ = mark_decisions(SCORED, decisions(("L1", "R2", "match")), dedupe=False)
    kept = kept_pairs(marked, 0.1)
    assert one_to_one(kept.drop(CLERICAL)).select("id_l", "id_r").rows() == [
        ("L1", "R1"),
        ("L3", "R3"),
    ]
    chosen = one_to_one_after_decisions(kept, one_to_one)
    # L1 goes with R2 as decided; R1, no longer taken by L1, goes to L2
    assert chosen.select("id_l", "id_r").rows() == [("L2", "R1"), ("L3", "R3"), ("L1", "R2")]


def test_bad_decision_files_name_the_file_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "decided.csv"
    path.write_text("key,candidate,decision\nL1,R1,yes\nL2,,match\nL3,R3,match\nL3,R3,non-match\n")
    with pytest.raises(DataError) as raised:
        read_link_decisions(path, dedupe=False)
    assert str(raised.value) == (
        "decided.csv: row 1: decision must be 'match' or 'non-match'; row 2: key or candidate "
        "is empty; row 3: conflicting decisions for the same pair"
    )
    path.write_text("key,candidate,decision\nL3,R3,Match\nR3,L3,non-match\n")
    assert read_link_decisions(path, dedupe=False).height == 2
    with pytest.raises(DataError, match="row 1: conflicting decisions"):
        read_link_decisions(path, dedupe=True)
