"""Partitioned linkage on dask.distributed: a :data:`~linkage.partitions.PartitionMap`
whose jobs run on dask workers.

What travels through the scheduler is small: each task is a
:class:`~linkage.partition_jobs.CompareTask` or :class:`~linkage.partition_jobs.ScoreTask`
(partition number, Parquet paths, resource limits), and the settings or trained model (one
JSON string) is scattered to every worker once and passed to each task as a future. Record
data stays in the Parquet files the jobs read and write by path, so every worker must see the
work folder (a shared filesystem on a real cluster).

>>> with DaskPartitionMap.connect() as dask_map:       # doctest: +SKIP
...     linker.partition("work", 16, map=dask_map)
...     linker.train()
...     pairs = linker.predict_partitioned("out")
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from linkage.errors import ClusterUnavailableError, SettingsError

logger = logging.getLogger(__name__)


class DaskPartitionMap:
    """Runs ``job(task, shared)`` for each task on the workers of a dask ``Client``,
    results in task order (as the builtin ``map``). Each distinct ``shared`` JSON is
    broadcast to every worker once, then referred to by its future."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._broadcast: dict[str, Any] = {}

    @classmethod
    @contextmanager
    def connect(
        cls,
        scheduler: str | None = None,
        *,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        processes: bool = True,
        memory_limit: str = "4GiB",
        timeout: str = "10s",
    ) -> Iterator[DaskPartitionMap]:
        """A map on the cluster at ``scheduler`` (an address such as ``tcp://host:8786``),
        or on a ``LocalCluster`` of ``n_workers`` started here and closed on exit."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SettingsError(
                "linkage on dask needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        cluster: Any = None
        try:
            if scheduler:
                client = Client(scheduler, timeout=timeout)
            else:
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=threads_per_worker,
                    processes=processes,
                    memory_limit=memory_limit,
                    dashboard_address=None,
                )
                client = Client(cluster)
        except OSError as exc:  # includes the TimeoutError of an unreachable scheduler
            reason = type(exc).__name__
            raise ClusterUnavailableError(f"cannot reach the dask scheduler ({reason})") from None
        logger.info("dask partition map ready (remote scheduler: %s)", bool(scheduler))
        try:
            yield cls(client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def shared_future(self, text: str) -> Any:
        """The future of ``text`` on every worker, scattered on first use."""
        if text not in self._broadcast:
            self._broadcast[text] = self.client.scatter(text, broadcast=True, hash=False)
        return self._broadcast[text]

    def __call__(
        self, job: Callable[[Any, str], Any], tasks: Iterable[Any], shared: Iterable[str]
    ) -> list[Any]:
        tasks, shared = list(tasks), list(shared)
        if len(shared) != len(tasks) or len(set(shared)) > 1:
            raise SettingsError("a partition map takes one shared JSON repeated for every task")
        if not tasks:
            return []
        handle = self.shared_future(shared[0])
        # keys unique per call (a rerun must not reuse old results), named for the dashboard
        name = f"{getattr(job, '__name__', 'partition-job')}-{uuid.uuid4().hex[:8]}"
        futures = [
            self.client.submit(job, task, handle, key=f"{name}-{i}", pure=False)
            for i, task in enumerate(tasks)
        ]
        return list(self.client.gather(futures))
