"""Incremental linking against the keyed registry, compared with re-linking the whole history.

:mod:`benchmarks.incremental_agreement` on a small dataset: the same synthetic inputs, split
into batches that arrive in three runs, go through two projects with one keystore, one linking
each batch with the registry records sharing a key with it (the default), the other with every
record of the registry (``whole_history``). Delivered ``person_id`` pseudonyms are compared
record by record.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from benchmarks.incremental_agreement import (
    MASTER_KEY_ENV,
    Delivery,
    compare,
    prepare,
    run_route,
)
from tests.pipeline.runner_support import without_chart_rendering

# Measured on this dataset (seed 5, n 2500): all 2,553 records of the later runs get the same
# person_id either way. The bound leaves room for a model trained on less history to
# decide a borderline pair otherwise; the test reports the measured share when it fails.
AGREEMENT_BOUND = 0.995


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any]]:
    root = tmp_path_factory.mktemp("incremental")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MASTER_KEY_ENV, prepare(root, 2500))
        without_chart_rendering(patch)  # the reports are not compared
        incremental = run_route(root, "incremental", whole_history=False)
        whole = run_route(root, "whole", whole_history=True)
    return incremental, whole


def test_a_later_batch_reads_only_part_of_the_history(routes: tuple[list[Any], list[Any]]) -> None:
    incremental, whole = routes
    for later, again in zip(incremental[1:], whole[1:], strict=True):
        mine, theirs = later.manifest["linkage"], again.manifest["linkage"]
        assert mine["entities"]["earlier_records"] == theirs["entities"]["earlier_records"] > 0
        read = mine["entities"]["earlier_records_read"]
        assert 0 < read < mine["entities"]["earlier_records"]
        assert theirs["entities"]["earlier_records_read"] == theirs["entities"]["earlier_records"]


def test_person_ids_agree_with_relinking_the_whole_history(
    routes: tuple[list[Any], list[Any]],
) -> None:
    incremental, whole = routes
    first, first_whole = incremental[0].person_id, whole[0].person_id
    assert first.keys() == first_whole.keys()
    assert all(first[s].equals(first_whole[s]) for s in first)  # no history: one route
    runs = compare(incremental, whole)
    assert runs[0]["different_person_id"] == 0
    later = runs[1:]
    same = sum(r["same_person_id"] for r in later)
    total = sum(r["records"] for r in later)
    assert total > 1000
    assert same / total >= AGREEMENT_BOUND, f"{same} of {total} records agree"
    assert sum(r["records_joining_earlier_entities"] for r in later) > 100  # history matters
    # a person_id differs only where the two routes linked that record differently
    assert all(r["unexplained"] == 0 for r in runs)


def test_the_comparison_puts_each_difference_down_to_what_was_decided() -> None:
    """compare() on hand-made deliveries: a split cluster, a record that joined an earlier
    person in one route only, and a renamed entity whose records group alike."""
    manifest = {
        "linkage": {
            "entities": {
                "earlier_records": 1,
                "earlier_records_read": 1,
                "records_joining_earlier_entities": 1,
            }
        }
    }

    def runs(*batches: list[str]) -> list[Delivery]:
        return [Delivery(manifest, {"s": pl.Series(b)}, 0.0) for b in batches]

    mine = runs(["p"], ["q", "q", "r", "s", "t"])
    theirs = runs(["p"], ["q", "u", "p", "s", "v"])
    later = compare(mine, theirs)[1]
    assert later["different_person_id"] == 3
    assert later["grouped_differently"] == 1  # the 2nd: with the 1st in one route only
    assert later["history_differently"] == 1  # the 3rd: joined earlier "p" in one route
    assert later["unexplained"] == 1  # the 5th: alone in both, another id
