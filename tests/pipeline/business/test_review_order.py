"""The clerical review file does not depend on the order candidate pairs arrive in (the
scoring engine returns them in no set order)."""

from __future__ import annotations

import polars as pl

from pipeline.business.clerical_review import MAX_REVIEW_CANDIDATES, review_rows
from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.deterministic import ENTREF
from pipeline.business.fallback import Side
from pipeline.business.prepare import UID
from pipeline.business.settings import MatchSettings

TIED = MAX_REVIEW_CANDIDATES + 2  # more equally likely candidates than the file lists


def _review(order: list[int]) -> pl.DataFrame:
    entrefs = [f"E{i}" for i in order]
    pairs = pl.DataFrame(
        {
            UID: [0] * TIED,
            ENTREF: entrefs,
            "match_weight": [5.0] * TIED,
            "match_probability": [0.97] * TIED,
            "register_status": ["active"] * TIED,
            "crn_conflict": [False] * TIED,
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
        RegisterColumns(trading_name=None, address=None),
        pl.DataFrame(),
    )
    results = pl.DataFrame({UID: [0], "status": ["ambiguous"]})
    keys = pl.Series(["K1"])
    return review_rows(results, pairs, incoming, register, keys, MatchSettings())


def test_tied_candidates_are_listed_the_same_whatever_their_order() -> None:
    forward = _review(list(range(TIED)))
    assert forward[ENTREF].to_list() == [f"E{i}" for i in range(MAX_REVIEW_CANDIDATES)]
    assert forward.equals(_review(list(reversed(range(TIED)))))
