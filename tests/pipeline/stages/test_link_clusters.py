"""Clusters from shared identifiers and scored pairs, with the one-identifier-per-source
constraint (pipeline/stages/link_clusters.py): literal cases."""

from __future__ import annotations

import polars as pl

from pipeline.entities import UID
from pipeline.stages.link_clusters import cluster_records, identifier_edges

SCHEMA = {UID: pl.String, "_source": pl.String, "id_nhs": pl.String, "id_chi": pl.String}


def _records(*rows: tuple[str, str, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA, orient="row")


def _pairs(*rows: tuple[str, str, float]) -> pl.DataFrame:
    schema = {"_uid_l": pl.String, "_uid_r": pl.String, "match_probability": pl.Float64}
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def _groups(labels: pl.DataFrame) -> list[list[str]]:
    grouped = labels.group_by("cluster").agg(pl.col(UID).sort())
    return sorted(grouped[UID].to_list())


def test_records_sharing_a_valid_identifier_are_one_person_whatever_the_scores() -> None:
    records = _records(
        ("h1", "h", "A", None), ("g1", "g", "A", None), ("h2", "h", "A", None),
        ("g2", "g", None, None), ("g3", "g", "B", None),
    )  # fmt: skip
    labels, counts = cluster_records(
        records, _pairs(("h1", "g2", 0.4)), threshold=0.9, identifiers=["id_nhs"]
    )
    assert _groups(labels) == [["g1", "h1", "h2"], ["g2"], ["g3"]]
    cluster_of = dict(zip(labels[UID], labels["cluster"], strict=True))
    assert cluster_of["h2"] == cluster_of["g1"] == 0  # numbered by its smallest uid, g1
    assert counts.identifier_links == 2 and counts.links_refused == 0
    edges = identifier_edges(records, ["id_nhs"])
    assert sorted(edges.rows()) == [("g1", "h1"), ("g1", "h2")]


def test_a_cluster_holding_two_identifiers_from_one_source_is_split_at_its_weakest_link() -> None:
    records = _records(
        ("h1", "h", "A", None), ("g1", "g", None, None), ("h2", "h", "B", None),
        ("g2", "g", None, None),
    )  # fmt: skip
    pairs = _pairs(("h1", "g1", 0.97), ("h2", "g1", 0.93), ("h2", "g2", 0.95))
    labels, counts = cluster_records(records, pairs, threshold=0.9, identifiers=["id_nhs"])
    assert _groups(labels) == [["g1", "h1"], ["g2", "h2"]]
    assert counts.links_refused == 1
    # the same pairs without the constraint chain both people into one cluster
    plain, _ = cluster_records(records, pairs, threshold=0.9)
    assert _groups(plain) == [["g1", "g2", "h1", "h2"]]


def test_shared_identifier_links_are_never_the_ones_refused() -> None:
    records = _records(("h1", "h", "A", None), ("g1", "g", "A", None), ("h2", "h", "B", None))
    pairs = _pairs(("h2", "g1", 0.999))  # stronger than any model link, weaker than an ID
    labels, counts = cluster_records(records, pairs, threshold=0.9, identifiers=["id_nhs"])
    assert _groups(labels) == [["g1", "h1"], ["h2"]]
    assert counts.links_refused == 1


def test_different_identifiers_from_different_sources_are_left_to_the_model() -> None:
    records = _records(("h1", "h", "A", None), ("g1", "g", "B", None))
    labels, counts = cluster_records(
        records, _pairs(("h1", "g1", 0.95)), threshold=0.9, identifiers=["id_nhs"]
    )
    assert _groups(labels) == [["g1", "h1"]]
    assert counts.links_refused == 0


def test_a_shared_identifier_wins_over_a_conflict_in_another_type_and_is_counted() -> None:
    records = _records(("h1", "h", "A", "X"), ("h2", "h", "A", "Y"), ("g1", "g", None, "X"))
    pairs = _pairs(("h2", "g1", 0.95))
    labels, counts = cluster_records(
        records, pairs, threshold=0.9, identifiers=["id_nhs", "id_chi"]
    )
    assert _groups(labels) == [["g1", "h1", "h2"]]  # g1 shares a CHI with h1
    assert counts.conflicting_groups == 1 and counts.links_refused == 0
    assert counts.identifier_links == 2


def test_pairs_below_the_threshold_do_not_link() -> None:
    records = _records(("a", "s", None, None), ("b", "s", None, None), ("c", "s", None, None))
    labels, _ = cluster_records(records, _pairs(("a", "b", 0.9), ("b", "c", 0.89)), threshold=0.9)
    assert _groups(labels) == [["a", "b"], ["c"]]
