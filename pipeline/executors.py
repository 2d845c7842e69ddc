"""Where per-file and per-chunk tasks run: in this process, or on a dask.distributed cluster.

Both executors return results in the order of their inputs, so the runner's outputs do not
depend on which one ran them. The dask executor starts a ``LocalCluster`` shaped by
:class:`~pipeline.executor_settings.DaskSettings` (2 single-threaded workers in this process by
default) unless given a scheduler address; tasks carry configs and part paths, not keys or
records, and workers derive keys themselves. Each executor describes itself
(:meth:`Executor.settings`) for the run's manifest: counts and settings, never an address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

from linkage.partitions import PartitionMap
from pipeline.errors import ConfigError, TransientError
from pipeline.executor_settings import DaskSettings, ExecutorKind
from pipeline.machine_memory import memory_bytes

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Executor(Protocol):
    """Runs ``fn(*args)`` for each argument tuple and returns the results in order; and
    offers the linkage engine a map for its partition jobs (None: run them here)."""

    name: str

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]) -> list[T]: ...

    def partition_map(self) -> PartitionMap | None: ...

    def settings(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Runs tasks one after another in this process."""

    name = "local"

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]) -> list[T]:
        """Apply ``fn`` to each argument tuple."""
        return [fn(*args) for args in tasks]

    def partition_map(self) -> PartitionMap | None:
        """None: partition jobs run in this process, one after another."""
        return None

    def settings(self) -> dict[str, Any]:
        """What the manifest records: the executor's name."""
        return {"executor": self.name}

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Runs tasks on dask.distributed: a given scheduler, or a LocalCluster started here."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int | None = None,
        processes: bool | None = None,
        settings: DaskSettings | None = None,
        connect_timeout: str = "10s",
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                "--executor dask needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        given = DaskSettings(scheduler=scheduler, workers=n_workers, processes=processes)
        self.dask = (settings or DaskSettings()).overridden_by(given)
        self._cluster: Any = None
        try:
            if self.dask.scheduler:
                self._client = Client(self.dask.scheduler, timeout=connect_timeout)
            else:
                options = self.dask.cluster_options()
                _warn_about_memory(options)
                self._cluster = LocalCluster(**options, dashboard_address=None)
                self._client = Client(self._cluster)
        except OSError as exc:
            reason = type(exc).__name__
            raise TransientError(f"cannot reach the dask scheduler ({reason})") from None
        described = self.settings()
        logger.info(
            "dask executor ready: %s",
            ", ".join(f"{k} {v}" for k, v in described.items() if k != "executor"),
            extra={"dask": described},
        )

    def settings(self) -> dict[str, Any]:
        """The cluster's shape: the LocalCluster's settings, or for an existing cluster the
        workers and threads its scheduler reports (never its address)."""
        if self._cluster is None:
            workers = self._client.scheduler_info().get("workers", {})
            threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
            return {
                "executor": self.name,
                "cluster": "existing",
                "workers": len(workers),
                "threads": threads,
            }
        options = self.dask.cluster_options()
        return {
            "executor": self.name,
            "cluster": "local",
            "workers": options["n_workers"],
            "threads_per_worker": options["threads_per_worker"],
            "processes": options["processes"],
            "memory_limit_bytes": options.get("memory_limit") or None,
        }

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` the tasks go through."""
        return self._client

    def partition_map(self) -> PartitionMap:
        """The linkage engine's partition jobs on this cluster's workers (by path)."""
        from linkage.distributed import DaskPartitionMap

        return DaskPartitionMap(self._client)

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]) -> list[T]:
        """Submit one task per argument tuple; gather results in input order."""
        futures = [self._client.submit(fn, *args, pure=False) for args in tasks]
        return list(self._client.gather(futures))

    def close(self) -> None:
        """Shut down the client and any cluster this executor started."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _warn_about_memory(options: dict[str, Any]) -> None:
    """Log worker memory limits that add up to more than the machine (or its container,
    :func:`pipeline.machine_memory.memory_bytes`) has."""
    limit = options.get("memory_limit") or 0
    total, machine = limit * options["n_workers"], memory_bytes()
    if machine is not None and total > machine:
        logger.warning(
            "the workers' memory limits add up to %.1f GiB, more than this machine's "
            "(or its container's) %.1f GiB",
            total / 2**30,
            machine / 2**30,
            extra={"workers_memory_bytes": total, "machine_memory_bytes": machine},
        )


class executor_for:
    """Context manager that builds the named executor and closes it afterwards; ``dask``
    shapes the dask executor's cluster (and is refused for the local executor)."""

    def __init__(
        self,
        kind: ExecutorKind = "local",
        scheduler: str | None = None,
        *,
        dask: DaskSettings | None = None,
    ) -> None:
        if kind not in ("local", "dask"):
            raise ConfigError(f"unknown executor {kind!r}; choose local or dask")
        if kind != "dask" and scheduler:
            raise ConfigError("--scheduler needs --executor dask")
        if kind != "dask" and dask is not None and dask != DaskSettings():
            raise ConfigError("dask cluster settings need --executor dask")
        self.kind = kind
        self.dask = (dask or DaskSettings()).overridden_by(DaskSettings(scheduler=scheduler))
        self._executor: Executor | None = None

    def __enter__(self) -> Executor:
        if self.kind == "local":
            self._executor = LocalExecutor()
        else:
            self._executor = DaskExecutor(settings=self.dask)
        return self._executor

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.close()
