"""`linkage.partitions`: the link stage scores its pairs partition by partition (on dask
workers under the dask executor) and delivers what the in-memory engine delivers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from linkage import Linker
from pipeline.config import load_config
from pipeline.executors import DaskExecutor
from pipeline.runner import run_pipeline
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    demo_config,
    demo_workspace,
    without_chart_rendering,
)


def _config(root: Path, keystore: Path, name: str, partitions: int | None) -> Path:
    path = demo_config(root, keystore, ENVIRONMENT, name)
    doc = yaml.safe_load(path.read_text())
    doc["linkage"]["partitions"] = partitions
    path.write_text(yaml.safe_dump(doc))
    return path


def _delivered(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a recipient receives: every delivered file's checksum and the counts."""
    return {"outputs": manifest["outputs"], "totals": manifest["totals"]}


def test_partitions_deliver_what_the_in_memory_engine_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    without_chart_rendering(monkeypatch)  # the reports are not compared
    keys = tmp_path / "keys"
    whole = run_pipeline(load_config(_config(root, keys, "whole", None)))
    partitioned: list[int] = []
    partition = Linker.partition

    def counted(self: Linker, work_dir: Any, partitions: int, **kwargs: Any) -> None:
        partitioned.append(partitions)
        partition(self, work_dir, partitions, **kwargs)

    monkeypatch.setattr(Linker, "partition", counted)
    parted = run_pipeline(load_config(_config(root, keys, "parted", 3)))
    assert partitioned == [3]
    assert whole.manifest["linkage"]["pairs_scored"] > 0
    assert _delivered(parted.manifest) == _delivered(whole.manifest)
    assert parted.manifest["linkage"] == whole.manifest["linkage"]
    # the stage's files (standardised records, partitions, comparison vectors, scored
    # pairs) do not outlive it
    work = root / "work-parted"
    assert work.is_dir() and not [p for p in work.rglob("scratch") if p.is_dir()]


def test_partitions_are_scored_on_dask_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    keys = tmp_path / "keys"
    local = run_pipeline(load_config(_config(root, keys, "local", 2)))
    submitted: list[str] = []
    executor = DaskExecutor(n_workers=2, processes=False)
    original = executor.client.submit

    def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        submitted.append(getattr(fn, "__qualname__", type(fn).__name__))
        return original(fn, *args, **kwargs)

    monkeypatch.setattr(executor.client, "submit", counted)
    try:
        distributed = run_pipeline(load_config(_config(root, keys, "dask", 2)), executor=executor)
    finally:
        executor.close()
    assert _delivered(distributed.manifest) == _delivered(local.manifest)
    # the partitions' jobs ran on the workers, beside the stages' own tasks
    assert {"compare_partition", "score_partition"} <= set(submitted)
    assert json.dumps(distributed.manifest["linkage"]) == json.dumps(local.manifest["linkage"])
