"""A progress bar for commands that take more than a few seconds, on a terminal only.

A command whose work runs in named stages (``pprl run``: ingest, link, ...) passes the
callback :func:`stage_progress` yields to the library, which calls it as each stage starts.
The bar is one line on stderr, redrawn each second with the time taken; log lines written to
stderr meanwhile are printed above it, never over it (the bar is cleared, the line written,
the bar drawn again). When stderr is not a terminal (a scheduler, a pipe, CI) nothing is
drawn and the callback is None, so logs stay clean.

>>> with stage_progress("pprl run", ["ingest", "link"]) as progress:  # doctest: +SKIP
...     run_pipeline(config, progress=progress)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
#: Loggers whose handlers the CLI points at stderr (pipeline.logs.configure_logging).
LOGGERS = ("pipeline", "linkage", "pseudonym")
_CLEAR = "\r\x1b[K"
_WIDTH = 20


class _Bar:
    """The bar's state and its one line on ``stream``; every write holds the lock."""

    def __init__(self, label: str, stages: Sequence[str], stream: TextIO) -> None:
        self.label, self.stages, self.stream = label, list(stages), stream
        self.lock = threading.RLock()
        self.started = time.monotonic()
        self.stage, self.number = "starting", 0
        self.visible = False

    def update(self, stage: str, number: int, total: int) -> None:
        with self.lock:
            self.stage, self.number = stage, number
            if total != len(self.stages):  # a caller counting differently: trust its total
                self.stages = [""] * total
            self.draw()

    def line(self) -> str:
        total = max(len(self.stages), 1)
        done = round(_WIDTH * max(self.number - 1, 0) / total)
        elapsed = int(time.monotonic() - self.started)
        return (
            f"{self.label} [{'#' * done}{'-' * (_WIDTH - done)}] "
            f"{self.number}/{total} {self.stage}  {elapsed // 60:02d}:{elapsed % 60:02d}"
        )

    def draw(self) -> None:
        with self.lock:
            self.stream.write(_CLEAR + self.line())
            self.stream.flush()
            self.visible = True

    def clear(self) -> None:
        with self.lock:
            if self.visible:
                self.stream.write(_CLEAR)
                self.stream.flush()
                self.visible = False


class _AboveBar:
    """A stream for log handlers: each write clears the bar first and, once a line is
    complete, draws it again below."""

    def __init__(self, stream: TextIO, bar: _Bar) -> None:
        self.stream, self.bar = stream, bar

    def write(self, text: str) -> int:
        with self.bar.lock:
            self.bar.clear()
            written = self.stream.write(text)
            if text.endswith("\n"):
                self.bar.draw()
            return written

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def stage_progress(
    label: str, stages: Sequence[str], *, stream: TextIO | None = None
) -> Iterator[Progress | None]:
    """A progress callback ``(stage, number, total)`` drawing a bar on ``stream`` (default
    stderr) while the block runs, or None when ``stream`` is not a terminal."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield None
        return
    bar = _Bar(label, stages, out)
    stop = threading.Event()
    ticker = threading.Thread(target=_tick, args=(bar, stop), daemon=True)
    redirected = _redirect_log_handlers(out, bar)
    bar.draw()
    ticker.start()
    try:
        yield bar.update
    finally:
        stop.set()
        ticker.join()
        bar.clear()
        for handler, original in redirected:
            handler.setStream(original)


def opened_first_on_a_terminal(
    open_: Callable[[], T], *, stream: TextIO | None = None
) -> Callable[[], T]:
    """``open_`` itself, or, where a bar will be drawn, a callable returning what ``open_``
    gave when called now: opening a keystore may prompt for a passphrase, which must not
    share its line with a bar being redrawn every second."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        return open_
    opened = open_()
    return lambda: opened


def _tick(bar: _Bar, stop: threading.Event) -> None:
    """Redraw every second so the time taken moves while a long stage runs."""
    while not stop.wait(1.0):
        bar.draw()


def _redirect_log_handlers(
    stream: TextIO, bar: _Bar
) -> list[tuple[logging.StreamHandler[Any], Any]]:
    """Point the CLI's log handlers that write to ``stream`` at an :class:`_AboveBar`."""
    changed = []
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
                changed.append((handler, handler.setStream(_AboveBar(stream, bar))))
    return changed
