"""Clustering options (linkage/cluster.py) and predict's outputs, on hand-made pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from linkage import LinkageSettings, Linker, block_on
from linkage import comparisons as cl
from linkage.cluster import best_links, constrained_minimum
from linkage.errors import InputDataError, SettingsError
from tests.linkage.test_linker import dedupe_settings, make_people

# Five records: a and b are one person, c and d another; e shares a's address and scores
# just above the threshold with b, but best with no one else.
RECORDS = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e"],
        "name": ["x", "x", "y", "y", "z"],
        "nhs": ["111", None, "222", "222", "999"],
    }
)
PAIRS = pl.DataFrame(
    {
        "id_l": ["a", "c", "b", "a", "b"],
        "id_r": ["b", "d", "e", "c", "c"],
        "match_probability": [0.99, 0.98, 0.6, 0.2, 0.7],
    }
)


@pytest.fixture
def linker() -> Linker:
    settings = LinkageSettings(
        link_type="dedupe_only",
        comparisons=[cl.ExactComparison("name")],
        blocking_rules=[block_on("name")],
    )
    return Linker(settings, RECORDS)


def _groups(clusters: pl.DataFrame) -> set[frozenset[str]]:
    grouped = clusters.group_by("cluster_id").agg(pl.col("id"))
    return {frozenset(ids) for ids in grouped["id"].to_list()}


def test_components_at_a_threshold(linker: Linker) -> None:
    clusters = linker.cluster(PAIRS, threshold=0.5)
    assert _groups(clusters) == {frozenset("abcde")}
    assert _groups(linker.cluster(PAIRS, threshold=0.9)) == {
        frozenset("ab"),
        frozenset("cd"),
        frozenset("e"),
    }


def test_best_link_keeps_each_records_best_pairs(linker: Linker) -> None:
    # b's best pair is a (0.99), c's is d: the 0.7 pair b-c is nobody's best and is dropped;
    # e's only pair (with b) is e's best, so e joins a and b
    clusters = linker.cluster(PAIRS, threshold=0.5, method="best_link")
    assert _groups(clusters) == {frozenset("abe"), frozenset("cd")}


def test_one_value_per_source_refuses_merges_with_two_identifiers(linker: Linker) -> None:
    # merged most probable first: a-b, c-d; then b-c would put 111 and 222 in one cluster,
    # and b-e 111 and 999: both refused
    clusters = linker.cluster(PAIRS, threshold=0.5, one_value_per_source=["nhs"])
    assert _groups(clusters) == {frozenset("ab"), frozenset("cd"), frozenset("e")}
    assert clusters.filter(pl.col("id") == "b")["cluster_id"].item() == "a"
    with pytest.raises(InputDataError, match="'missing'"):
        linker.cluster(PAIRS, threshold=0.5, one_value_per_source=["missing"])


def test_cluster_settings_are_checked(linker: Linker) -> None:
    with pytest.raises(SettingsError):
        linker.cluster(PAIRS, threshold=0.5, method="louvain")  # type: ignore[arg-type]
    with pytest.raises(SettingsError):
        linker.cluster(PAIRS, threshold=1.5)


def test_constraints_are_per_source_in_a_link() -> None:
    """In a link a cluster may hold one value from each side: 111 on the left and 222 on
    the right is one person with a changed identifier, two on one side is two people."""
    left = pl.DataFrame({"id": ["l1", "l2"], "name": ["x", "x"], "nhs": ["111", "333"]})
    right = pl.DataFrame({"id": ["r1"], "name": ["x"], "nhs": ["222"]})
    settings = LinkageSettings(
        link_type="link_only",
        comparisons=[cl.ExactComparison("name")],
        blocking_rules=[block_on("name")],
    )
    linker = Linker(settings, left, right)
    pairs = pl.DataFrame(
        {"id_l": ["l1", "l2"], "id_r": ["r1", "r1"], "match_probability": [0.9, 0.8]}
    )
    clusters = linker.cluster(pairs, threshold=0.5, one_value_per_source=["nhs"])
    by_id = dict(zip(clusters["id"].to_list(), clusters["cluster_id"].to_list(), strict=True))
    assert by_id == {"l1": "l:l1", "l2": "l:l2", "r1": "l:l1"}


def test_graph_helpers() -> None:
    a, b = np.array([0, 1, 2, 1]), np.array([1, 2, 3, 3])
    w = np.array([0.9, 0.5, 0.8, 0.7])
    # 1-2 and 1-3 are neither end's heaviest pair
    assert best_links(4, a, b, w).tolist() == [True, False, True, False]
    # 0-1 merged; 2-3 refused (values 1 and 0); 1-3 merged (0 and 0); 1-2 refused
    values = np.array([[0], [-1], [1], [0]])
    assert constrained_minimum(4, a, b, w, values).tolist() == [0, 0, 2, 0]


@pytest.fixture(scope="module")
def trained() -> Linker:
    linker = Linker(dedupe_settings(), make_people(800, seed=9)[0])
    linker.train(max_pairs=50_000, seed=2)
    return linker


def test_default_cluster_threshold_comes_from_the_model(trained: Linker) -> None:
    pairs = trained.predict()
    by_default = trained.cluster(pairs)
    at_auto = trained.cluster(pairs, threshold=trained.auto_threshold())
    assert by_default.equals(at_auto)


def test_predict_floors_by_default_and_streams_every_pair(trained: Linker, tmp_path: Path) -> None:
    every = trained.predict(threshold=None)
    floored = trained.predict()
    assert every.height == trained.blocking_report()["pairs"].sum()
    assert floored["match_probability"].min() >= 1e-4  # type: ignore[operator]
    assert floored.height == every.filter(pl.col("match_probability") >= 1e-4).height
    assert floored.height < every.height
    path = tmp_path / "pairs.parquet"
    assert trained.predict_to_parquet(path) == every.height
    written = pl.read_parquet(path)
    key = ["id_l", "id_r"]
    assert (
        written.sort(key)
        .select(key, "match_weight")
        .equals(every.sort(key).select(key, "match_weight"))
    )
    assert not list(tmp_path.glob(".*.tmp"))
    assert trained.predict_to_parquet(tmp_path / "auto.parquet", "auto") == (
        trained.predict("auto").height
    )
