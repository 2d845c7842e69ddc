"""The terminal progress bar (pipeline/progress.py): drawn only on a terminal, log lines
printed above it rather than over it, the log handlers given back afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from pipeline.progress import stage_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def handler() -> Iterator[logging.StreamHandler[io.StringIO]]:
    logger = logging.getLogger("pipeline")
    stream = Terminal()
    added = logging.StreamHandler(stream)
    added.setFormatter(logging.Formatter("%(message)s"))
    before = logger.handlers[:], logger.level, logger.propagate
    logger.handlers[:] = [added]
    logger.setLevel(logging.INFO)
    try:
        yield added
    finally:
        logger.handlers[:], logger.propagate = before[0], before[2]
        logger.setLevel(before[1])


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with stage_progress("pprl run", ["a", "b"], stream=stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_log_lines_go_above_the_bar_and_the_bar_comes_back(
    handler: logging.StreamHandler[io.StringIO],
) -> None:
    stream = handler.stream
    with stage_progress("pprl run", ["ingest", "link"], stream=stream) as progress:
        assert progress is not None
        progress("ingest", 1, 2)
        logging.getLogger("pipeline.runner").info("stage started")
        progress("link", 2, 2)
    text = stream.getvalue()
    # the bar is cleared before the log line, which ends its own line; the bar follows it
    before, after = text.split("stage started\n")
    assert before.endswith("\r\x1b[K") and "1/2 ingest" in before
    assert after.startswith("\r\x1b[Kpprl run [") and "2/2 link" in after
    assert "##########" in after  # half way when the second of two stages starts
    assert text.endswith("\r\x1b[K")  # the bar is gone at the end
    assert handler.stream is stream  # the handler writes to its own stream again


def test_a_keystore_is_opened_before_the_bar_only_on_a_terminal() -> None:
    from pipeline.progress import opened_first_on_a_terminal

    calls: list[str] = []

    def open_keystore() -> str:
        calls.append("opened")
        return "pseudonymiser"

    lazy = opened_first_on_a_terminal(open_keystore, stream=io.StringIO())
    assert calls == [] and lazy() == "pseudonymiser" and calls == ["opened"]
    calls.clear()
    eager = opened_first_on_a_terminal(open_keystore, stream=Terminal())
    assert calls == ["opened"]  # before any bar: a passphrase prompt gets its own line
    assert eager() == "pseudonymiser" and calls == ["opened"]
