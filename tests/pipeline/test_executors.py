from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.executor_settings import DaskSettings
from pipeline.executors import DaskExecutor, LocalExecutor, executor_for
from pipeline.runner import run_pipeline
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    HEADER,
    demo_config,
    demo_workspace,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)


def _square(x: int, y: int) -> int:
    return x * x + y


def test_local_executor_keeps_order() -> None:
    assert LocalExecutor().map(_square, [(3, 1), (1, 0), (2, 0)]) == [10, 1, 4]


def test_executor_choice_is_validated() -> None:
    with pytest.raises(ConfigError, match="--scheduler needs --executor dask"):
        executor_for("local", "tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="unknown executor"):
        executor_for("spark")  # type: ignore[arg-type]


def test_dask_local_cluster_gives_byte_identical_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = make_keystore(tmp_path, monkeypatch)
    for i in range(3):
        write_csv(tmp_path / f"in/hospital/{i}.csv", HEADER, people_rows(i * 10, 7))
    config = load_config(write_config(tmp_path, keystore))
    local = run_pipeline(config, services=fake_services())
    assert local.delivery_dir is not None
    local_bytes = {p.name: p.read_bytes() for p in local.delivery_dir.glob("*.parquet")}
    shutil.rmtree(tmp_path / "out")
    shutil.rmtree(config.state_dir)  # else the catalogue finds the files delivered
    executor = DaskExecutor(n_workers=2, processes=False)
    try:
        assert executor.map(_square, [(2, 1), (5, 0)]) == [5, 25]
        distributed = run_pipeline(config, executor=executor, services=fake_services())
    finally:
        executor.close()
    assert distributed.run_id == local.run_id
    assert distributed.delivery_dir is not None
    dask_bytes = {p.name: p.read_bytes() for p in distributed.delivery_dir.glob("*.parquet")}
    assert dask_bytes == local_bytes
    assert distributed.manifest["totals"] == local.manifest["totals"]


def test_dask_worker_processes_deliver_the_local_bytes_on_the_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes (the keys derived in each, from the environment they inherit),
    the real identifier rules and linker: every delivered file byte for byte as local."""
    root = demo_workspace(tmp_path, monkeypatch)
    keys = tmp_path / "keys"
    local = run_pipeline(load_config(demo_config(root, keys, ENVIRONMENT, "local")))
    executor = DaskExecutor(settings=DaskSettings(workers=2, processes=True))
    try:
        assert executor.settings()["processes"] is True
        config = load_config(demo_config(root, keys, ENVIRONMENT, "dask"))
        distributed = run_pipeline(config, executor=executor)
    finally:
        executor.close()
    assert local.delivery_dir is not None and distributed.delivery_dir is not None
    local_files = sorted(local.delivery_dir.glob("*.parquet"))
    assert [p.name for p in local_files] == ["gp.parquet", "hospital.parquet", "quarantine.parquet"]
    for path in local_files:
        assert (distributed.delivery_dir / path.name).read_bytes() == path.read_bytes()
    assert distributed.manifest["outputs"] == local.manifest["outputs"]
    assert distributed.manifest["linkage"] == local.manifest["linkage"]
    assert local.manifest["execution"] == {"executor": "local"}
    assert distributed.manifest["execution"]["workers"] == 2
