"""The shared decision file (pipeline/review/decisions.py), read without any command."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import DataError
from pipeline.review import read_decisions as exported
from pipeline.review.decisions import DECISIONS, MATCH, NON_MATCH, read_decisions


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
