"""Partitioned linkage on dask.distributed (linkage/distributed.py): the same files, byte for
byte, as the builtin map; tasks carry paths, never records; the model is broadcast once."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import polars as pl
import pytest

from linkage import Linker
from linkage.distributed import DaskPartitionMap
from linkage.errors import ClusterUnavailableError, ModelNotTrainedError, SettingsError
from linkage.partition_jobs import CompareTask, ScoreTask
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons

distributed = pytest.importorskip("distributed")

#: Below the size of the records: a graph carrying them would warn.
LOW_GRAPH_WARNING = {"distributed.admin.large-graph-warning-threshold": "20kB"}
PARTITIONS = 3


@pytest.fixture(scope="module")
def persons() -> tuple[pl.DataFrame, pl.DataFrame]:
    left, right, _ = generate_person_pair(1500, 1500, overlap=0.8, seed=11)
    return prepare_persons(left), prepare_persons(right)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes (spawned: they import linkage as a real cluster's would)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


def _link(persons: tuple[pl.DataFrame, pl.DataFrame], root: Path, map: Any) -> Linker:
    linker = Linker(person_settings(), *persons)
    linker.partition(root / "work", PARTITIONS, map=map)
    linker.train(max_pairs=200_000, seed=3)
    linker.predict_partitioned(root / "pairs", threshold=1e-4)
    return linker


class Recorder:
    """Wraps a client: keeps what is submitted and scattered."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.submitted: list[tuple[Any, ...]] = []
        self.scattered: list[Any] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.submitted.append(args)
        return self.client.submit(fn, *args, **kwargs)

    def scatter(self, data: Any, **kwargs: Any) -> Any:
        self.scattered.append(data)
        return self.client.scatter(data, **kwargs)

    def gather(self, futures: Any) -> Any:
        return self.client.gather(futures)


def test_dask_gives_the_local_files_byte_for_byte(
    persons: tuple[pl.DataFrame, pl.DataFrame], cluster: Any, tmp_path: Path
) -> None:
    local = _link(persons, tmp_path / "local", map)
    with distributed.Client(cluster) as client:
        recorder = Recorder(client)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with dask.config.set(LOW_GRAPH_WARNING):
                on_dask = _link(persons, tmp_path / "dask", DaskPartitionMap(recorder))
    assert not [w for w in caught if "large graph" in str(w.message)]
    assert on_dask.parameters.to_dict() == local.parameters.to_dict()
    expected = _files(tmp_path / "local" / "pairs")
    assert len(expected) == PARTITIONS
    assert _files(tmp_path / "dask" / "pairs") == expected
    # the comparison vectors in between: the same rows (their order follows DuckDB's threads)
    for name in _files(tmp_path / "local" / "work" / "gammas"):
        rows = [pl.read_parquet(tmp_path / r / "work" / "gammas" / name) for r in ("local", "dask")]
        assert rows[0].sort(pl.all()).equals(rows[1].sort(pl.all())), name
    # the settings, then the trained model: each scattered once, small JSON
    assert len(recorder.scattered) == 2
    assert all(isinstance(s, str) and len(s) < 20_000 for s in recorder.scattered)
    assert '"parameters"' in recorder.scattered[1]
    # every task: a partition's paths (and the shared future), never record data
    assert len(recorder.submitted) == 2 * PARTITIONS
    surnames = {s for s in persons[0]["surname"].drop_nulls().to_list() if len(s) > 4}
    for task, handle in recorder.submitted:
        assert isinstance(task, CompareTask | ScoreTask)
        assert isinstance(handle, distributed.Future)
        blob = pickle.dumps(task)
        assert len(blob) < 4_000
        assert not any(s.encode() in blob for s in surnames)
    # and the clusters built from those files
    dask_pairs, local_pairs = _pairs(tmp_path / "dask"), _pairs(tmp_path / "local")
    assert dask_pairs.height > 0
    order = ["source_dataset", "id"]
    clusters = on_dask.cluster(dask_pairs, 0.5).sort(order)
    assert clusters.equals(local.cluster(local_pairs, 0.5).sort(order))
    assert clusters["cluster_id"].n_unique() < clusters.height


def _pairs(root: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "pairs").glob("*.parquet")))


def test_records_in_the_graph_would_have_warned(
    persons: tuple[pl.DataFrame, pl.DataFrame], cluster: Any
) -> None:
    """The check above can fail: sending the records themselves trips the same warning."""
    with distributed.Client(cluster) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask.config.set(LOW_GRAPH_WARNING):
            client.submit(len, persons[0], pure=False).result()
    assert [w for w in caught if "large graph" in str(w.message)]


def test_an_existing_scheduler_by_address(
    persons: tuple[pl.DataFrame, pl.DataFrame], cluster: Any, tmp_path: Path
) -> None:
    with DaskPartitionMap.connect(cluster.scheduler_address) as dask_map:
        linker = _link(persons, tmp_path, dask_map)
    assert len(list((tmp_path / "pairs").glob("*.parquet"))) == PARTITIONS
    assert linker.parameters.to_dict()


def test_an_unreachable_scheduler_is_transient() -> None:
    unreachable = DaskPartitionMap.connect("tcp://127.0.0.1:9", timeout="1s")
    with pytest.raises(ClusterUnavailableError, match="cannot reach") as raised:
        unreachable.__enter__()
    again = pickle.loads(pickle.dumps(raised.value))
    assert type(again) is ClusterUnavailableError and str(again) == str(raised.value)


def test_shared_json_must_be_one_value(cluster: Any) -> None:
    with distributed.Client(cluster) as client:
        dask_map = DaskPartitionMap(client)
        with pytest.raises(SettingsError, match="one shared JSON"):
            dask_map(len, [1, 2], ["a", "b"])
        assert dask_map(len, [], []) == []


def _refusing_job(task: int, shared: str) -> int:
    if task == 1:
        raise ModelNotTrainedError(f"partition {task} has no model")
    return task


def test_a_job_error_reaches_the_caller_as_itself(cluster: Any) -> None:
    with distributed.Client(cluster) as client:
        dask_map = DaskPartitionMap(client)
        with pytest.raises(ModelNotTrainedError, match="partition 1 has no model"):
            dask_map(_refusing_job, [0, 1], ["{}", "{}"])
