"""Training problems made visible: WARNING records of the linkage engine, kept for the run's
manifest and report (:mod:`pipeline.stages.link`) and ``pprl link``'s outputs
(:mod:`pipeline.linkjob`).

The engine logs what went wrong while training (EM not converged, passes discarded, m not
estimated, a column entirely null, dates that do not parse) at WARNING, with names and
counts, never values. :func:`capture_warnings` collects those records while a block runs,
whatever level the CLI set for its own output: records below that level are still not
printed, only kept.

>>> import logging
>>> with capture_warnings(("linkage",)) as found:
...     logging.getLogger("linkage.training").warning("m not estimated for %s", "surname")
>>> found.messages()
['m not estimated for surname']
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: Loggers whose warnings describe the linkage: the engine, and the pipeline's link stage.
LINKAGE_LOGGERS: tuple[str, ...] = ("linkage", "pipeline.stages")
ENGINE_LOGGER = "linkage"


class WarningRecords(logging.Handler):
    """Keeps the WARNING (and worse) records it is handed, in order."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, *, engine: bool | None = None) -> list[str]:
        """Each distinct message once, in order of first appearance: all of them, or only
        the engine's (``engine=True``) or only the others' (``engine=False``)."""
        found = (
            r.getMessage() for r in self.records if engine is None or _from_engine(r.name) == engine
        )
        return list(dict.fromkeys(found))


def _from_engine(name: str) -> bool:
    return name == ENGINE_LOGGER or name.startswith(ENGINE_LOGGER + ".")


class _BelowLevel(logging.Filter):
    """Lets through only records at or above ``level`` (what a handler showed before)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of ``logger`` reaches: its own and, while it propagates, its
    ancestors'."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        found += current.handlers
        current = current.parent if current.propagate else None
    return found


@contextmanager
def listening(
    names: Sequence[str], handler: logging.Handler, level: int = logging.WARNING
) -> Iterator[logging.Handler]:
    """Hand ``handler`` the records of the loggers ``names`` (and their children) at ``level``
    and above while the block runs. A logger set quieter than ``level`` is opened to it for
    the block, with the handlers it reaches filtered to its former level, so nothing new is
    printed."""
    restore: list[tuple[logging.Logger, int, list[logging.Handler], _BelowLevel]] = []
    for name in names:
        logger = logging.getLogger(name)
        effective = logger.getEffectiveLevel()
        if effective > level:
            quiet = _BelowLevel(effective)
            reached = _handlers_reached(logger)
            for existing in reached:
                existing.addFilter(quiet)
            restore.append((logger, logger.level, reached, quiet))
            logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(handler)
        for logger, former, reached, quiet in reversed(restore):
            logger.setLevel(former)
            for existing in reached:
                existing.removeFilter(quiet)


@contextmanager
def capture_warnings(names: Sequence[str] = LINKAGE_LOGGERS) -> Iterator[WarningRecords]:
    """Collect WARNING records of the loggers ``names`` (and their children) while the block
    runs, printing nothing the application would not have printed (:func:`listening`)."""
    with listening(names, WarningRecords(), logging.WARNING) as handler:
        assert isinstance(handler, WarningRecords)
        yield handler


def training_warnings(linker: Any) -> tuple[str, ...] | None:
    """The linker's own list of training problems (``training_warnings``), when it keeps one;
    None otherwise, and its WARNING log records stand in (:func:`combined`)."""
    found = getattr(linker, "training_warnings", None)
    if found is None or isinstance(found, str) or callable(found):
        return None
    return tuple(str(getattr(w, "message", w)) for w in found)


def combined(captured: WarningRecords, training: Sequence[str] | None) -> list[str]:
    """The engine's training problems (its own list when it keeps one, else its WARNING log
    records), then the pipeline's own, each once."""
    engine = captured.messages(engine=True) if training is None else list(training)
    return list(dict.fromkeys([*engine, *captured.messages(engine=False)]))
