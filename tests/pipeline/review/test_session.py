"""A curator's review session (pipeline/review/session.py, layout.py): decisions saved at once
in the format --decisions reads, undo, resuming, and how a pair is laid out."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import DataError
from pipeline.review import DECISIONS_FILE, load_decisions, read_decisions, store_decisions
from pipeline.review.layout import FieldPair, diff_segments, field_pairs
from pipeline.review.persons import review_file
from pipeline.review.session import ReviewSession, decided_path
from tests.pipeline.review.review_support import (
    LINK_ROWS,
    PERSON_ROWS,
    link_review_file,
    person_review_file,
    register_review_file,
)


def test_each_decision_is_saved_at_once_in_the_decisions_format(tmp_path: Path) -> None:
    path = person_review_file(tmp_path)
    session = ReviewSession.open(path)
    assert session.decided_file == path.parent / "decided" / path.name
    session.decide(0, "match")
    assert read_decisions(session.decided_file).rows() == [
        ("h|in.csv|0", "g|gp.parquet|0", "match")
    ]
    session.decide(2, "non-match")
    session.decide(3, "unsure")
    saved = pl.read_csv(session.decided_file, infer_schema=False)
    # every column of the review file is kept, in order, and the values are unchanged
    assert saved.columns == [*pl.read_csv(path, infer_schema=False).columns, "unsure"]
    assert saved["surname_l"].to_list() == [r["surname_l"] for r in PERSON_ROWS]
    assert saved["decision"].fill_null("").to_list() == ["match", "", "non-match", ""]
    assert saved["unsure"].fill_null("").to_list() == ["", "", "", "yes"]
    assert not list(session.decided_file.parent.glob(".tmp-*"))
    # what the next run does with it: exactly as a hand-edited review file
    store = tmp_path / DECISIONS_FILE
    assert store_decisions(store, [session.decided_file]) == 2
    stored = load_decisions(store)
    assert stored is not None and sorted(stored["decision"].to_list()) == ["match", "non_match"]


def test_undo_takes_back_decisions_in_reverse_order(tmp_path: Path) -> None:
    session = ReviewSession.open(person_review_file(tmp_path))
    session.decide(1, "match")
    session.decide(1, "non-match")
    session.decide(2, "unsure")
    assert session.undo() == 2
    assert session.states == ["", "non-match", "", ""]
    assert session.undo() == 1
    assert session.states == ["", "match", "", ""]
    assert session.undo() == 1
    assert session.undo() is None
    assert read_decisions(session.decided_file).height == 0


def test_reopening_resumes_from_the_decided_file(tmp_path: Path) -> None:
    path = person_review_file(tmp_path)
    first = ReviewSession.open(path)
    first.decide(0, "non-match")
    first.decide(3, "unsure")
    again = ReviewSession.open(path)
    assert again.states == ["non-match", "", "", "unsure"]
    assert again.progress() == {"pairs": 4, "decided": 1, "unsure": 1}


def test_decisions_typed_into_the_review_file_are_picked_up(tmp_path: Path) -> None:
    path = person_review_file(tmp_path)
    frame = pl.read_csv(path, infer_schema=False)
    frame.with_columns(pl.Series("decision", ["", "Match", "", ""])).write_csv(path)
    assert ReviewSession.open(path).states == ["", "match", "", ""]


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    session = ReviewSession.open(person_review_file(tmp_path))
    with pytest.raises(ValueError):
        session.decide(0, "maybe")
    with pytest.raises(IndexError):
        session.decide(4, "match")
    assert not session.decided_file.exists()
    not_review = tmp_path / "other.csv"
    pl.DataFrame({"a": [1]}).write_csv(not_review)
    with pytest.raises(DataError, match="not a review file"):
        ReviewSession.open(not_review)


def test_pipeline_fields_face_each_other_with_differences_marked(tmp_path: Path) -> None:
    session = ReviewSession.open(person_review_file(tmp_path))
    view = session.view()
    assert view["sides"] == ["record (key)", "candidate"]
    first = view["pairs"][0]
    fields = {f["label"]: f for f in first["fields"]}
    assert list(fields) == ["source", "surname", "date_of_birth"]
    assert fields["surname"]["differs"] and not fields["date_of_birth"]["differs"]
    # SOUTHWORTH / SOUTHWARTH: only the differing letter is marked
    assert fields["surname"]["left"] == [["SOUTHW", False], ["O", True], ["RTH", False]]
    assert fields["surname"]["right"] == [["SOUTHW", False], ["A", True], ["RTH", False]]
    assert first["levels"][0] == {
        "comparison": "surname",
        "level": "surname jaro-winkler >= 0.92",
        "weight": "5.1",
    }


def test_values_with_little_in_common_are_marked_whole() -> None:
    assert diff_segments("BIRCH", "ASH") == ([["BIRCH", True]], [["ASH", True]])
    assert diff_segments("Khan", "KHAN") == ([["Khan", False]], [["KHAN", False]])


def test_register_review_pairs_incoming_with_register_columns(tmp_path: Path) -> None:
    path = register_review_file(tmp_path)
    pairs = field_pairs(pl.read_csv(path).columns)
    assert pairs == [
        FieldPair("name", "incoming_name", "register_name"),
        FieldPair("trading name", "incoming_name", "register_trading_name"),
        FieldPair("postcode", "incoming_postcode", "register_postcode"),
        FieldPair("address", "incoming_address", "register_address"),
        FieldPair("status", None, "register_status"),  # the register's side only
        FieldPair("crn_differs", "crn_differs", None),
    ]
    session = ReviewSession.open(path)
    assert session.view()["sides"] == ["incoming record", "register enterprise"]
    assert session.view()["pairs"][0]["has_waterfall"] is False
    assert session.waterfall(0).height == 0
    session.decide(1, "non-match")
    assert decided_path(path) == session.decided_file
    assert read_decisions(session.decided_file).rows() == [("s1", "tokB", "non_match")]


def test_waterfall_is_rebuilt_from_the_weights_and_ends_at_the_probability(
    tmp_path: Path,
) -> None:
    session = ReviewSession.open(person_review_file(tmp_path))
    steps = session.waterfall(0)
    assert steps["component"].to_list() == ["prior", "surname", "date_of_birth"]
    assert steps["match_weight"].to_list()[1:] == [5.1, 11.5]
    assert steps["cumulative_probability"][-1] == pytest.approx(0.8789)
    assert steps["cumulative_weight"][-1] == pytest.approx(math.log2(0.8789 / 0.1211))


def test_the_newest_run_review_file_is_found(tmp_path: Path) -> None:
    path = person_review_file(tmp_path)
    assert review_file(tmp_path) == path
    assert review_file(tmp_path, "run-0123456789abcdef") == path
    with pytest.raises(DataError, match="no review file for run run-x"):
        review_file(tmp_path, "run-x")
    with pytest.raises(DataError, match="run pprl run CONFIG first"):
        review_file(tmp_path / "elsewhere")


def test_a_link_jobs_review_file_with_records_shows_both_sides(tmp_path: Path) -> None:
    path = link_review_file(tmp_path, records=True)
    session = ReviewSession.open(path)
    assert session.has_records()
    view = session.view()
    assert view["has_records"] and view["review_file"] == "review.csv"
    first = view["pairs"][0]
    fields = {f["label"]: f for f in first["fields"]}
    assert list(fields) == ["first_name", "dob"]  # match_weight is a score, not a field
    assert fields["first_name"]["differs"] and not fields["dob"]["differs"]
    assert fields["first_name"]["left"] == [["MARG", False], ["A", True], ["RET", False]]
    assert [level["comparison"] for level in first["levels"]] == ["first_name", "dob"]
    assert first["has_waterfall"] and first["key"] == LINK_ROWS[0]["key"]
    steps = session.waterfall(1)
    assert steps["component"].to_list() == [
        "prior",
        "first_name",
        "dob",
        "first_name term frequency",
    ]
    assert steps["cumulative_weight"][-1] == pytest.approx(-1.31)
    session.decide(1, "non-match")
    assert session.decided_file == path.parent / "decided" / "review.csv"
    assert read_decisions(session.decided_file).rows() == [
        (LINK_ROWS[1]["key"], LINK_ROWS[1]["candidate"], "non_match")
    ]


def test_a_link_jobs_review_file_without_records_shows_levels_and_weights(
    tmp_path: Path,
) -> None:
    session = ReviewSession.open(link_review_file(tmp_path, records=False))
    assert not session.has_records()
    view = session.view()
    assert not view["has_records"]
    assert all(pair["fields"] == [] for pair in view["pairs"])
    assert view["pairs"][0]["levels"][0]["level"] == "jaro-winkler >= 0.92"
    assert session.waterfall(0)["cumulative_weight"][-1] == pytest.approx(-0.94)
    session.decide(0, "match")
    assert read_decisions(session.decided_file)["decision"].to_list() == ["match"]


def test_a_rewritten_review_file_keeps_its_decisions_where_the_decided_file_is_silent(
    tmp_path: Path,
) -> None:
    """A link job rerun with --decisions rewrites review.csv with the decided pairs filled in
    and new pairs added; the decided file from before still has the last word on its rows."""
    path = person_review_file(tmp_path)
    first = ReviewSession.open(path)
    first.decide(0, "non-match")
    first.decide(1, "match")
    first.decide(1, "")  # taken back: the decided file says undecided
    first.decide(3, "unsure")
    rewritten = pl.read_csv(path, infer_schema=False).with_columns(
        pl.Series("decision", ["match", "match", "", ""])
    )
    new_pair = rewritten.head(1).with_columns(
        pl.lit("h|in.csv|9").alias("key"), pl.lit("non-match").alias("decision")
    )
    pl.concat([rewritten, new_pair]).write_csv(path)
    again = ReviewSession.open(path)
    assert again.states == ["non-match", "", "", "unsure", "non-match"]
    again.decide(2, "match")
    assert sorted(read_decisions(again.decided_file).rows()) == [
        ("h|in.csv|0", "g|gp.parquet|0", "non_match"),
        ("h|in.csv|2", "g|gp.parquet|2", "match"),
        ("h|in.csv|9", "g|gp.parquet|0", "non_match"),
    ]
