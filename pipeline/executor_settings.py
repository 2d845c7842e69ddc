"""Where a run's per-file and per-part tasks run: the ``execution`` section of a config, and
the ``pprl run`` options that override it.

``executor`` is ``local`` (this process, one task after another) or ``dask``. A dask run
either connects to an existing cluster (``scheduler``, an address such as
``tcp://host:8786``) or starts a ``LocalCluster`` here, shaped by ``workers``,
``threads_per_worker``, ``processes`` and ``memory_limit`` (per worker: ``4GiB``, ``512MiB``;
a worker using more is restarted by its nanny). Those four describe a cluster pprl starts, so
they cannot be given with ``scheduler``: that cluster's workers are what they are. A memory
limit needs worker processes: thread workers share the ``pprl run`` process, whose own memory
(the link stage's) would count against their limit and pause them, so they run without one.

>>> settings = DaskSettings(workers=4, processes=True, memory_limit="4GiB")
>>> settings.cluster_options()
{'n_workers': 4, 'threads_per_worker': 1, 'processes': True, 'memory_limit': 4294967296}
>>> DaskSettings().cluster_options()
{'n_workers': 2, 'threads_per_worker': 1, 'processes': False, 'memory_limit': 0}
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

ExecutorKind = Literal["local", "dask"]
#: A LocalCluster when nothing says otherwise: two single-threaded workers in this process.
DEFAULT_WORKERS = 2
DEFAULT_THREADS_PER_WORKER = 1
DEFAULT_PROCESSES = False
#: Below this a dask worker cannot hold its own runtime and a chunk of records.
MIN_MEMORY_LIMIT = 256 * 2**20
#: The settings that shape a LocalCluster (config name -> CLI option).
CLUSTER_FIELDS = {
    "workers": "--workers",
    "threads_per_worker": "--threads-per-worker",
    "processes": "--processes/--no-processes",
    "memory_limit": "--memory-limit",
}


def memory_limit_bytes(text: str) -> int:
    """``4GiB``, ``4 GB``, ``512MiB`` as bytes; :class:`ValueError` naming the accepted forms."""
    from dask.utils import parse_bytes  # dask is a dependency, but slow to import

    try:
        size = parse_bytes(text.strip())
    except (ValueError, TypeError, KeyError):
        raise ValueError(
            "memory_limit must be a size with a unit, such as 4GiB, 4GB or 512MiB"
        ) from None
    if size < MIN_MEMORY_LIMIT:
        raise ValueError("memory_limit must be at least 256MiB per worker")
    return int(size)


class DaskSettings(BaseModel):
    """The dask executor's cluster (module docstring); None: not set here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: str | None = Field(
        default=None,
        min_length=1,
        description="Address of an existing dask scheduler (tcp://host:8786); "
        "default: start a LocalCluster.",
    )
    workers: int | None = Field(
        default=None, ge=1, le=512, description="LocalCluster workers (default 2)."
    )
    threads_per_worker: int | None = Field(
        default=None, ge=1, le=256, description="Threads per LocalCluster worker (default 1)."
    )
    processes: bool | None = Field(
        default=None,
        description="Each LocalCluster worker in its own process (default false: threads "
        "of this process, without a memory limit).",
    )
    memory_limit: str | None = Field(
        default=None,
        description="Memory per LocalCluster worker process, such as 4GiB; needs processes "
        "(default: dask's share of the machine's memory).",
    )

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            memory_limit_bytes(value)
        return value

    @model_validator(mode="after")
    def _cluster_or_scheduler(self) -> DaskSettings:
        given = self.cluster_fields_given()
        if self.scheduler is not None and given:
            raise ValueError(
                f"{', '.join(given)}: settings of the LocalCluster pprl starts, which do "
                "not apply to an existing cluster (scheduler): give one or the other"
            )
        if self.memory_limit is not None and self.processes is not True:
            raise ValueError(
                "memory_limit needs processes (--processes): thread workers share the pprl "
                "process, whose own memory would count against their limit and pause them"
            )
        return self

    def cluster_fields_given(self) -> list[str]:
        """The LocalCluster settings set here (config names), in a fixed order."""
        return [name for name in CLUSTER_FIELDS if getattr(self, name) is not None]

    def overridden_by(self, other: DaskSettings) -> DaskSettings:
        """These settings with every field ``other`` sets taken from it. A scheduler in
        ``other`` replaces a LocalCluster described here (and the other way round)."""
        mine = self.model_dump(exclude_none=True)
        theirs = other.model_dump(exclude_none=True)
        if other.scheduler is not None:
            mine = {}
        elif other.cluster_fields_given():
            mine.pop("scheduler", None)
        return DaskSettings(**{**mine, **theirs})

    def cluster_options(self) -> dict[str, Any]:
        """Keyword arguments for ``LocalCluster``, defaults filled in: thread workers get no
        memory limit (0: the pprl process's memory must not pause them); worker processes
        without one given get dask's own share of the machine."""
        processes = DEFAULT_PROCESSES if self.processes is None else self.processes
        options: dict[str, Any] = {
            "n_workers": self.workers or DEFAULT_WORKERS,
            "threads_per_worker": self.threads_per_worker or DEFAULT_THREADS_PER_WORKER,
            "processes": processes,
        }
        if self.memory_limit is not None:
            options["memory_limit"] = memory_limit_bytes(self.memory_limit)
        elif not processes:
            options["memory_limit"] = 0
        return options


class ExecutionSettings(BaseModel):
    """The ``execution`` section of a config: which executor ``pprl run`` uses when its
    ``--executor`` option is not given, and the dask executor's cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    executor: ExecutorKind = Field(
        default="local", description="local (this process) or dask (dask.distributed)."
    )
    dask: DaskSettings = Field(default_factory=DaskSettings)


def resolve_execution(
    configured: ExecutionSettings, executor: ExecutorKind | None, **options: Any
) -> tuple[ExecutorKind, DaskSettings]:
    """The executor and dask cluster a run uses: ``pprl run``'s ``executor`` and dask
    ``options`` (``scheduler``, ``workers``, ... as in :class:`DaskSettings`; None: not given)
    over the config's ``execution`` section. :class:`ConfigError` (exit 2) naming every
    option that cannot apply."""
    given = {name: value for name, value in options.items() if value is not None}
    kind: ExecutorKind = executor or configured.executor
    if kind != "dask" and given:
        names = [CLUSTER_FIELDS.get(n, f"--{n.replace('_', '-')}") for n in given]
        verb = "needs" if len(names) == 1 else "need"
        raise ConfigError(
            f"{', '.join(names)} {verb} --executor dask (or execution.executor: dask in the config)"
        )
    try:
        requested = DaskSettings(**given)
    except ValidationError as exc:
        problems = [_option_problem(e) for e in exc.errors()]
        raise ConfigError(problems, source="pprl run") from None
    dropped = configured.dask.cluster_fields_given() if requested.scheduler else []
    if kind == "dask" and dropped:
        logger.warning(
            "--scheduler: the config's execution.dask %s describe a LocalCluster and are "
            "not used with an existing cluster",
            ", ".join(dropped),
            extra={"ignored": dropped},
        )
    try:
        return kind, configured.dask.overridden_by(requested)
    except ValidationError as exc:  # options that contradict the config's execution.dask
        problems = [_option_problem(e) for e in exc.errors()]
        raise ConfigError(problems, source="pprl run with the config's execution.dask") from None


def _option_problem(error: Any) -> str:
    """One pydantic error as the CLI option it concerns (no value quoted)."""
    field = str(error["loc"][0]) if error.get("loc") else ""
    option = CLUSTER_FIELDS.get(field, f"--{field.replace('_', '-')}" if field else "")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{option}: {message}" if option else message
