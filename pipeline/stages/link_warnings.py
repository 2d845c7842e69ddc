"""Training problems made visible: WARNING records of the linkage engine, kept for the run's
manifest and report (and ``pprl link``'s outputs).

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

#: Loggers whose warnings describe the linkage: the engine, and the pipeline's link stage.
LINKAGE_LOGGERS: tuple[str, ...] = ("linkage", "pipeline.stages")


class WarningRecords(logging.Handler):
    """Keeps the WARNING (and worse) records it is handed, in order."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, prefix: str = "") -> list[str]:
        """Each distinct message once, in order of first appearance, from loggers whose name
        starts with ``prefix``."""
        found = (r.getMessage() for r in self.records if r.name.startswith(prefix))
        return list(dict.fromkeys(found))


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
def capture_warnings(names: Sequence[str] = LINKAGE_LOGGERS) -> Iterator[WarningRecords]:
    """Collect WARNING records of the loggers ``names`` (and their children) while the block
    runs. A logger set quieter than WARNING is opened to WARNING for the block, with the
    handlers it reaches filtered to its former level, so nothing new is printed."""
    handler = WarningRecords()
    restore: list[tuple[logging.Logger, int, list[logging.Handler], _BelowLevel]] = []
    for name in names:
        logger = logging.getLogger(name)
        effective = logger.getEffectiveLevel()
        if effective > logging.WARNING:
            quiet = _BelowLevel(effective)
            reached = _handlers_reached(logger)
            for existing in reached:
                existing.addFilter(quiet)
            restore.append((logger, logger.level, reached, quiet))
            logger.setLevel(logging.WARNING)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(handler)
        for logger, level, reached, quiet in restore:
            logger.setLevel(level)
            for existing in reached:
                existing.removeFilter(quiet)
