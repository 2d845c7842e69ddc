"""Where per-file and per-chunk tasks run: in this process, or on a dask.distributed cluster.

Both executors return results in the order of their inputs, so the runner's outputs do not
depend on which one ran them. The dask executor starts a ``LocalCluster`` (2 workers, threads by
default) unless given a scheduler address; tasks carry configs, not keys, and workers derive
keys themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

from linkage.partitions import PartitionMap
from pipeline.errors import ConfigError, TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")
ExecutorKind = Literal["local", "dask"]


class Executor(Protocol):
    """Runs ``fn(*args)`` for each argument tuple and returns the results in order; and
    offers the linkage engine a map for its partition jobs (None: run them here)."""

    name: str

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]) -> list[T]: ...

    def partition_map(self) -> PartitionMap | None: ...

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

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Runs tasks on dask.distributed: a given scheduler, or a LocalCluster started here."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int = 2,
        processes: bool = False,
        connect_timeout: str = "10s",
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                "--executor dask needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        self._cluster: Any = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout=connect_timeout)
            else:
                self._cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
        except OSError as exc:
            reason = type(exc).__name__
            raise TransientError(f"cannot reach the dask scheduler ({reason})") from None
        logger.info("dask executor ready", extra={"workers": n_workers, "remote": bool(scheduler)})

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


class executor_for:
    """Context manager that builds the named executor and closes it afterwards."""

    def __init__(self, kind: ExecutorKind = "local", scheduler: str | None = None) -> None:
        if kind not in ("local", "dask"):
            raise ConfigError(f"unknown executor {kind!r}; choose local or dask")
        if scheduler and kind != "dask":
            raise ConfigError("--scheduler needs --executor dask")
        self.kind = kind
        self.scheduler = scheduler
        self._executor: Executor | None = None

    def __enter__(self) -> Executor:
        self._executor = LocalExecutor() if self.kind == "local" else DaskExecutor(self.scheduler)
        return self._executor

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.close()
