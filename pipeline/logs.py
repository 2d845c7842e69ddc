"""Logging set-up for the CLI edge. Library modules only call ``logging.getLogger(__name__)``.

JSON lines (``--log-format json``) suit schedulers and log shippers; text suits a terminal.
Log records must never carry identifying values: callers log counts, file names, column names,
row numbers and key IDs only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, plus any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["error_type"] = record.exc_info[0].__name__
        return json.dumps(payload, default=str)


def json_line(level: str, name: str, message: str, **fields: object) -> str:
    """One JSON log object built like :class:`JsonFormatter`'s, for the CLI's error line."""
    record = logging.makeLogRecord(
        {"name": name, "levelname": level.upper(), "msg": message, "args": None, **fields}
    )
    return JsonFormatter().format(record)


def configure_logging(fmt: LogFormat = "text", level: str = "INFO") -> None:
    """Send pprl's loggers to stderr in the chosen format. Called by the CLI.

    ``level`` is one of :data:`LEVELS` (any case); anything else is a ``ValueError``.
    """
    if level.upper() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for name in ("pipeline", "linkage", "pseudonym"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
