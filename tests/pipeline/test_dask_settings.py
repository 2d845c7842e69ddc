"""The dask executor's cluster settings: from ``pprl run``'s options or the config's
``execution`` section to the LocalCluster, into the manifest, and refused when they cannot apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.executor_settings import DaskSettings, ExecutionSettings, resolve_execution
from pipeline.executors import DaskExecutor
from pipeline.manifest import config_digest
from pipeline.run_report import execution_text
from tests.pipeline.runner_support import (
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

GIB = 2**30


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keystore (``keys``) and one small hospital file; returns the folder."""
    assert make_keystore(tmp_path, monkeypatch) == tmp_path / "keys"
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 6))
    return tmp_path


@pytest.fixture
def clusters(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every LocalCluster started (each still started for real)."""
    import distributed

    started: list[dict[str, Any]] = []
    real = distributed.LocalCluster

    def recording(**kwargs: Any) -> Any:
        started.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", recording)
    return started


def _manifest(root: Path) -> dict[str, Any]:
    (path,) = (root / "out").glob("run-*/manifest.json")
    return dict(json.loads(path.read_text()))


def test_settings_reach_the_local_cluster_and_its_workers() -> None:
    settings = DaskSettings(workers=2, threads_per_worker=2, processes=True, memory_limit="1GiB")
    executor = DaskExecutor(settings=settings)
    try:
        workers = executor.client.scheduler_info()["workers"].values()
        described = executor.settings()
    finally:
        executor.close()
    assert [(w["nthreads"], w["memory_limit"]) for w in workers] == [(2, GIB)] * 2
    assert described == {
        "executor": "dask",
        "cluster": "local",
        "workers": 2,
        "threads_per_worker": 2,
        "processes": True,
        "memory_limit_bytes": GIB,
    }


def test_thread_workers_get_no_memory_limit() -> None:
    """They share this process: its own memory must not pause them (a limit is refused)."""
    executor = DaskExecutor(settings=DaskSettings(workers=2))
    try:
        workers = executor.client.scheduler_info()["workers"].values()
    finally:
        executor.close()
    assert [w["memory_limit"] for w in workers] == [0, 0]
    with pytest.raises(ValueError, match="memory_limit needs processes"):
        DaskSettings(workers=2, memory_limit="4GiB")


def test_cli_options_reach_the_cluster_and_the_manifest(
    workspace: Path, clusters: list[dict[str, Any]]
) -> None:
    keystore = workspace / "keys"
    config = write_config(workspace, keystore)
    options = ["--executor", "dask", "--workers", "3", "--threads-per-worker", "2"]
    options += ["--no-processes"]
    result = CliRunner().invoke(cli, ["run", str(config), *options])
    assert result.exit_code == 0, result.output
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster["n_workers"] == 3 and cluster["threads_per_worker"] == 2
    assert cluster["processes"] is False and cluster["memory_limit"] == 0
    assert _manifest(workspace)["execution"] == {
        "executor": "dask",
        "cluster": "local",
        "workers": 3,
        "threads_per_worker": 2,
        "processes": False,
        "memory_limit_bytes": None,
    }
    assert "workers 3, threads_per_worker 2, processes False" in result.output  # logged


def test_memory_limits_beyond_the_machine_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    from pipeline.executors import _warn_about_memory
    from pipeline.machine_memory import memory_bytes

    machine = memory_bytes()
    assert machine is not None
    per_worker = machine // 2
    _warn_about_memory({"n_workers": 2, "processes": True, "memory_limit": per_worker})
    assert "more than this machine's" not in caplog.text
    _warn_about_memory({"n_workers": 2, "processes": True, "memory_limit": per_worker + 1})
    assert "more than this machine's" in caplog.text


def test_the_config_chooses_the_executor_and_options_override_it(
    workspace: Path, clusters: list[dict[str, Any]]
) -> None:
    execution = {"executor": "dask", "dask": {"workers": 3, "threads_per_worker": 2}}
    config = write_config(workspace, workspace / "keys", execution=execution)
    result = CliRunner().invoke(cli, ["run", str(config), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert [(c["n_workers"], c["threads_per_worker"]) for c in clusters] == [(1, 2)]
    assert _manifest(workspace)["execution"]["workers"] == 1


def test_execution_settings_do_not_change_the_config_digest(workspace: Path) -> None:
    keystore = workspace / "keys"
    plain = config_digest(load_config(write_config(workspace, keystore)))
    execution = {"executor": "dask", "dask": {"workers": 4, "processes": True}}
    with_dask = load_config(write_config(workspace, keystore, execution=execution))
    assert with_dask.execution.dask.workers == 4
    assert config_digest(with_dask) == plain  # same run ID: a resumed run finds its checkpoints


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--workers", "2"], "--workers needs --executor dask"),
        (["--memory-limit", "4GiB", "--no-processes"], "--processes/--no-processes, --memory"),
        (["--executor", "dask", "--memory-limit", "4GiB"], "memory_limit needs processes"),
        (["--executor", "dask", "--processes", "--memory-limit", "plenty"], "memory_limit must"),
        (["--executor", "dask", "--processes", "--memory-limit", "1MiB"], "at least 256MiB"),
        (["--executor", "dask", "--threads-per-worker", "0"], "--threads-per-worker"),
        (
            ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
            "do not apply to an existing cluster",
        ),
    ],
)
def test_bad_dask_options_exit_2_before_any_work(
    workspace: Path, clusters: list[dict[str, Any]], options: list[str], message: str
) -> None:
    config = write_config(workspace, workspace / "keys")
    result = CliRunner().invoke(cli, ["run", str(config), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert clusters == [] and not (workspace / "out").exists()
    dry = CliRunner().invoke(cli, ["run", str(config), "--dry-run", *options])
    assert dry.exit_code == 2 and message in dry.output  # --dry-run checks them too


def test_bad_execution_settings_in_the_config_exit_2(workspace: Path) -> None:
    execution = {
        "executor": "spark",
        "dask": {"workers": 0, "memory_limit": "big", "processes": True},
    }
    config = write_config(workspace, workspace / "keys", execution=execution)
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 2
    for field in ("execution.executor", "execution.dask.workers", "execution.dask.memory_limit"):
        assert field in result.output


def test_a_scheduler_on_the_command_line_replaces_the_configs_local_cluster(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configured = ExecutionSettings(executor="dask", dask=DaskSettings(workers=4))
    kind, dask = resolve_execution(configured, None, scheduler="tcp://10.0.0.1:8786")
    assert (kind, dask) == ("dask", DaskSettings(scheduler="tcp://10.0.0.1:8786"))
    assert "not used with an existing cluster" in caplog.text
    with pytest.raises(ConfigError, match="--scheduler needs --executor dask"):
        resolve_execution(ExecutionSettings(), "local", scheduler="tcp://10.0.0.1:8786")
    with pytest.raises(ValueError, match="memory_limit: settings of the LocalCluster"):
        DaskSettings(scheduler="tcp://10.0.0.1:8786", memory_limit="4GiB")


def test_the_run_report_names_the_executor() -> None:
    local = {"executor": "local"}
    cluster = {"executor": "dask", "cluster": "local", "workers": 4, "threads_per_worker": 1}
    cluster |= {"processes": True, "memory_limit_bytes": 4 * GIB}
    existing = {"executor": "dask", "cluster": "existing", "workers": 8, "threads": 16}
    assert execution_text(local) == "local"
    assert (
        execution_text(cluster) == "dask LocalCluster: 4 workers x 1 threads, processes, 4 GiB each"
    )
    assert execution_text(existing) == "dask cluster: 8 workers, 16 threads"


def test_options_contradicting_the_config_exit_2(workspace: Path) -> None:
    execution = {"executor": "dask", "dask": {"processes": True, "memory_limit": "1GiB"}}
    config = write_config(workspace, workspace / "keys", execution=execution)
    result = CliRunner().invoke(cli, ["run", str(config), "--no-processes"])
    assert result.exit_code == 2 and "memory_limit needs processes" in result.output
