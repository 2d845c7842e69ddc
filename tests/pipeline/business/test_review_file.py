"""The clerical review file: the same whatever order the candidate pairs arrive in (the
scoring engine returns them in no set order), and saying which candidates agreed through a
previous name when the register's are mapped."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.business.clerical_review import (
    MAX_REVIEW_CANDIDATES,
    PREVIOUS_NAME_COLUMN,
    review_rows,
    write_review_file,
)
from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.deterministic import ENTREF
from pipeline.business.fallback import Side
from pipeline.business.prepare import UID
from pipeline.business.previous_names import VIA_PREVIOUS_NAME
from pipeline.business.settings import MatchSettings

TIED = MAX_REVIEW_CANDIDATES + 2  # more equally likely candidates than the file lists


def _review(
    order: list[int], *, previous_names: tuple[str, ...] = (), via: list[bool] | None = None
) -> pl.DataFrame:
    entrefs = [f"E{i}" for i in order]
    pairs = pl.DataFrame(
        {
            UID: [0] * TIED,
            ENTREF: entrefs,
            "match_weight": [5.0] * TIED,
            "match_probability": [0.97] * TIED,
            "register_status": ["active"] * TIED,
            "crn_conflict": [False] * TIED,
            VIA_PREVIOUS_NAME: via or [False] * TIED,
        }
    )
    incoming = Side(
        pl.DataFrame({"incoming_id": ["K1"], "name": ["A LTD"], "postcode": ["AB1 2CD"]}),
        IncomingColumns(address=None),
        pl.DataFrame(),
    )
    register = Side(
        pl.DataFrame(
            {
                "__entref": [f"E{i}" for i in range(TIED)],
                "legal_name": [f"A{i} LTD" for i in range(TIED)],
                "postcode": ["AB1 2CD"] * TIED,
            }
        ),
        RegisterColumns(trading_name=None, address=None, previous_names=previous_names),
        pl.DataFrame(),
    )
    results = pl.DataFrame({UID: [0], "status": ["ambiguous"]})
    keys = pl.Series(["K1"])
    return review_rows(results, pairs, incoming, register, keys, MatchSettings())


def test_tied_candidates_are_listed_the_same_whatever_their_order() -> None:
    forward = _review(list(range(TIED)))
    assert forward[ENTREF].to_list() == [f"E{i}" for i in range(MAX_REVIEW_CANDIDATES)]
    assert forward.equals(_review(list(reversed(range(TIED)))))


def test_candidates_found_through_a_previous_name_are_marked(tmp_path: Path) -> None:
    via = [i == 1 for i in range(TIED)]
    rows = _review(list(range(TIED)), previous_names=("previous_name",), via=via)
    path = tmp_path / "review.csv"
    write_review_file(path, rows.rename({ENTREF: "candidate"}))
    written = pl.read_csv(path)
    assert written.columns[-2:] == [PREVIOUS_NAME_COLUMN, "decision"]
    assert written[PREVIOUS_NAME_COLUMN].to_list() == via[:MAX_REVIEW_CANDIDATES]


def test_without_previous_names_mapped_the_file_has_no_such_column(tmp_path: Path) -> None:
    rows = _review(list(range(TIED)))
    path = tmp_path / "review.csv"
    write_review_file(path, rows.rename({ENTREF: "candidate"}))
    assert PREVIOUS_NAME_COLUMN not in pl.read_csv(path).columns
