"""The shared decision file (pipeline/review/decisions.py), read without any command."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import DataError
from pipeline.review import read_decisions as exported
from pipeline.review.decisions import DECISIONS, MATCH, NON_MATCH, read_decisions

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "review.csv"
    path.write_text(text)
    return path


def test_spellings_blanks_and_repeats(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "key,candidate,decision,register_name\n"
        "a,x, Match ,Acme\nb,y,NON-MATCH,Bolt\nc,z,,Cog\nb,y,no-match,Bolt\nd,w,nonmatch,Dyn\n",
    )
    frame = read_decisions(path)
    assert frame.columns == ["key", "candidate", "decision"]
    assert frame.rows() == [("a", "x", MATCH), ("b", "y", NON_MATCH), ("d", "w", NON_MATCH)]
    assert set(DECISIONS.values()) == {MATCH, NON_MATCH}
    assert exported is read_decisions


def test_every_bad_row_is_reported_by_number_never_by_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "key,candidate,decision\nsecret1,x,maybe\n,y,match\nsecret2,z,match\nsecret2,z,non-match\n",
    )
    with pytest.raises(DataError) as raised:
        read_decisions(path)
    message = str(raised.value)
    assert "row 1: decision must be" in message
    assert "row 2: key or candidate is empty" in message
    assert "row 3: conflicting decisions" in message
    assert "secret" not in message and "maybe" not in message


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"review\.csv: missing column\(s\) candidate, decision"):
        read_decisions(write(tmp_path, "key,other\na,b\n"))


def test_unordered_pairs_are_one_pair_whichever_way_round(tmp_path: Path) -> None:
    path = write(tmp_path, "key,candidate,decision\nb,a,match\na,b,match\nd,c,non-match\n")
    assert read_decisions(path, unordered=True).rows() == [
        ("a", "b", MATCH),
        ("c", "d", NON_MATCH),
    ]
    # ordered (a link: key from the left input, candidate from the right) they are two pairs
    assert read_decisions(path).height == 3


def test_unordered_conflicts_and_empty_ids_are_still_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "key,candidate,decision\nb,a,match\na,b,non-match\n,z,match\n")
    with pytest.raises(DataError) as raised:
        read_decisions(path, unordered=True)
    assert str(raised.value) == (
        "review.csv: row 3: key or candidate is empty; row 1: conflicting decisions for the "
        "same pair"
    )
    assert read_decisions(write(tmp_path, "key,candidate,decision\nb,a,match\na,b,non-match\n"))[
        "decision"
    ].to_list() == [MATCH, NON_MATCH]
