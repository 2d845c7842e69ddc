"""SUDA special uniques: published worked examples and a brute-force definition."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.disclosure import TableSpecError, suda_scores

VECTORS = Path(__file__).parents[2] / "vectors" / "disclosure" / "suda_examples.json"
CASES = json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_suda_scores_match_published_examples(case: dict[str, object]) -> None:
    columns = case["columns"]
    assert isinstance(columns, dict)
    scores = suda_scores(pl.DataFrame(columns), list(columns))["suda_score"].to_list()
    assert [scores[r - 1] for r in case["records"]] == case["score"]  # type: ignore[attr-defined]


def _brute(rows: list[tuple[object, ...]], max_size: int) -> list[float]:
    m = len(rows[0])
    out = []
    for i, row in enumerate(rows):

        def unique(subset: tuple[int, ...], me: tuple[object, ...] = row, at: int = i) -> bool:
            return all(
                any(other[j] != me[j] for j in subset) for o, other in enumerate(rows) if o != at
            )

        total = 0.0
        for size in range(1, max_size + 1):
            for subset in itertools.combinations(range(m), size):
                smaller = itertools.combinations(subset, size - 1)
                if unique(subset) and not (size > 1 and any(unique(s) for s in smaller)):
                    total += math.factorial(m - size)
        out.append(total)
    return out


@given(
    st.lists(
        st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"), st.sampled_from([1, 2, None])),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 3),
)
def test_suda_scores_follow_the_definition(rows: list[tuple[object, ...]], top: int) -> None:
    df = pl.DataFrame(rows, schema=["p", "q", "r"], orient="row")
    scores = suda_scores(df, ["p", "q", "r"], max_size=top)
    assert scores["suda_score"].to_list() == _brute(rows, top)
    has_msu = scores["msu_min"].is_not_null().to_list()
    assert has_msu == [s > 0 for s in scores["suda_score"].to_list()]


def test_suda_arguments_are_checked() -> None:
    df = pl.DataFrame({"a": [1, 2]})
    with pytest.raises(TableSpecError, match="max_size must be between 1 and 1"):
        suda_scores(df, ["a"], max_size=2)
    with pytest.raises(TableSpecError, match="columns not in the data"):
        suda_scores(df, ["b"])
