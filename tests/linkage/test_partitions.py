"""Partitioned linkage (linkage/partitions.py, linkage/partition_jobs.py): the same model,
pairs, weights and clusters whatever the number of partitions and wherever the jobs run."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from linkage import BlockingRule, Linker, block_across, block_on
from linkage.errors import SettingsError
from linkage.partitions import PartitionedPairs
from linkage.tables import GAMMA_TABLE
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons
from tests.linkage.test_linker import dedupe_settings, make_people

KEY = ["id_l", "id_r"]


def _sorted(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.sort(KEY).select(KEY, "match_weight", "match_probability", "match_key")


@pytest.fixture(scope="module")
def persons() -> tuple[pl.DataFrame, pl.DataFrame]:
    left, right, _ = generate_person_pair(1500, 1500, overlap=0.8, seed=11)
    return prepare_persons(left), prepare_persons(right)


@pytest.fixture(scope="module")
def unpartitioned(persons: tuple[pl.DataFrame, pl.DataFrame]) -> Linker:
    linker = Linker(person_settings(), *persons)
    linker.train(max_pairs=200_000, seed=3)
    return linker


def _partitioned(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    work: Path,
    partitions: int,
    map: Callable[..., Iterable[Any]] = map,
) -> Linker:
    linker = Linker(person_settings(), *persons)
    linker.partition(work, partitions, map=map)
    linker.train(max_pairs=200_000, seed=3)
    return linker


def test_equality_keys_are_read_from_the_rule() -> None:
    assert block_on("surname", "dob").equality_keys() == (("surname", "surname"), ("dob", "dob"))
    assert block_across("a", "b").equality_keys() == (("a", "b"),)
    assert BlockingRule("r.x = l.y and l.z = r.z").equality_keys() == (("y", "x"), ("z", "z"))
    assert BlockingRule('l."odd ""name""" = r.k').equality_keys() == (('odd "name"', "k"),)
    for sql in (
        "left(l.pc, 2) = left(r.pc, 2)",
        "l.a = r.a OR l.b = r.b",
        "l.a = l.b",
        "l.a = r.a AND l.d < r.d",
    ):
        assert BlockingRule(sql).equality_keys() is None, sql


@pytest.mark.parametrize("partitions", [1, 4])
def test_partitions_give_the_same_model_and_pairs(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    unpartitioned: Linker,
    tmp_path: Path,
    partitions: int,
) -> None:
    linker = _partitioned(persons, tmp_path / "work", partitions)
    assert linker.parameters.to_dict() == unpartitioned.parameters.to_dict()
    assert linker.auto_threshold() == unpartitioned.auto_threshold()
    result = linker.predict_partitioned(tmp_path / "pairs", threshold=None)
    assert len(result.files) == partitions
    every = unpartitioned.predict(threshold=None)
    written = result.read()
    assert result.pairs == written.height == every.height
    assert written.select(KEY).is_duplicated().sum() == 0  # each pair in one partition only
    assert _sorted(written).equals(_sorted(every))
    # the coordinator keeps no pairs: its gamma table is a view over the partitions' files
    views = linker.backend.rows("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    assert (GAMMA_TABLE,) in views


def test_dedupe_with_a_rule_without_keys(tmp_path: Path) -> None:
    records, _ = make_people(500, seed=5)
    whole = Linker(dedupe_settings(), records)
    whole.train(max_pairs=50_000, seed=1)
    split = Linker(dedupe_settings(), records)
    split.partition(tmp_path / "work", 3)
    split.train(max_pairs=50_000, seed=1)
    assert split.parameters.to_dict() == whole.parameters.to_dict()
    result = split.predict_partitioned(tmp_path / "pairs", threshold=None)
    assert _sorted(result.read()).equals(_sorted(whole.predict(threshold=None)))


def test_jobs_run_in_other_processes_from_paths(
    persons: tuple[pl.DataFrame, pl.DataFrame], unpartitioned: Linker, tmp_path: Path
) -> None:
    sent: list[bytes] = []

    def recording_map(job: Callable[..., Any], tasks: list[Any], shared: list[str]) -> Any:
        sent.extend(pickle.dumps(t) for t in tasks)
        assert len(set(shared)) == 1  # one JSON for every task: a cluster may send it once
        # spawned, not forked: a fork of a process running DuckDB threads can deadlock
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(job, tasks, shared))

    linker = _partitioned(persons, tmp_path / "work", 3, recording_map)
    result = linker.predict_partitioned(tmp_path / "pairs", threshold=1e-4)
    assert _sorted(result.read()).equals(_sorted(unpartitioned.predict()))
    surnames = set(persons[0]["surname"].drop_nulls().to_list())
    for task in sent:  # paths and settings only, never a record value
        assert len(task) < 4_000
        assert not any(s.encode() in task for s in surnames if len(s) > 4)


def test_clusters_from_partitioned_pairs(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    unpartitioned: Linker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import linkage.cluster

    monkeypatch.setattr(linkage.cluster, "EDGE_BATCH", 7)  # many batches
    linker = _partitioned(persons, tmp_path / "work", 4)
    result = linker.predict_partitioned(tmp_path / "pairs")
    pairs = unpartitioned.predict()
    order = ["source_dataset", "id"]
    for method in ("components", "best_link"):
        streamed = linker.cluster(result, 0.5, method=method)  # type: ignore[arg-type]
        in_memory = unpartitioned.cluster(pairs, 0.5, method=method)  # type: ignore[arg-type]
        assert streamed.sort(order).equals(in_memory.sort(order))
        assert streamed["cluster_id"].n_unique() < streamed.height  # something was linked
    constrained = linker.cluster(result, 0.5, one_value_per_source=["postcode"])
    expected = unpartitioned.cluster(pairs, 0.5, one_value_per_source=["postcode"])
    assert constrained.sort(order).equals(expected.sort(order))


def test_partition_settings_are_checked(
    persons: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    linker = Linker(person_settings(), *persons)
    with pytest.raises(SettingsError, match="partitions"):
        linker.partition(tmp_path, 0)
    linker.partition(tmp_path / "work", 2)
    linker.train(max_pairs=50_000, seed=1)
    with pytest.raises(SettingsError, match="partitioned 2 ways"):
        linker.predict_partitioned(tmp_path / "pairs", partitions=3)
    auto = linker.predict_partitioned(tmp_path / "pairs", threshold="auto")
    assert auto.threshold == linker.auto_threshold()
    assert auto.read()["match_probability"].min() >= auto.threshold  # type: ignore[operator]
    again = linker.predict_partitioned(tmp_path / "pairs", threshold=0.99)
    assert isinstance(again, PartitionedPairs)
    assert sorted(p.name for p in (tmp_path / "pairs").glob("pairs-*")) == [
        f.name for f in again.files
    ]
    assert again.pairs < auto.pairs


def test_predict_partitioned_without_partition_first(
    persons: tuple[pl.DataFrame, pl.DataFrame], unpartitioned: Linker, tmp_path: Path
) -> None:
    linker = Linker(person_settings(), *persons)
    linker.train(max_pairs=200_000, seed=3)  # in memory
    result = linker.predict_partitioned(tmp_path / "out", partitions=2)
    assert (tmp_path / "out" / "work" / "records").is_dir()
    assert _sorted(result.read()).equals(_sorted(unpartitioned.predict()))
    # later questions read the partitions' files (the in-memory table is gone)
    # sums over partition files add in another order: equal up to rounding
    mine, theirs = linker.posterior_summary(), unpartitioned.posterior_summary()
    for field, value in dataclasses.asdict(theirs).items():
        if isinstance(value, float):
            assert getattr(mine, field) == pytest.approx(value, rel=1e-12), field
        else:
            assert getattr(mine, field) == value, field
