"""Training diagnostics (pipeline/charts/training.py): EM passes recorded from a real
training run, non-convergence noticed, and the application's logging left as it was."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from linkage import Linker
from pipeline.charts import record_training, training_chart
from tests.pipeline.charts.charts_support import trained


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def root_at_warning() -> Iterator[_Collect]:
    """The root logger at WARNING with a handler that would print anything it is given, and
    the linkage logger as an application leaves it (no level of its own, propagating)."""
    root, linkage = logging.getLogger(), logging.getLogger("linkage")
    handler = _Collect()
    saved = root.level, linkage.level, linkage.propagate
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    linkage.setLevel(logging.NOTSET)
    linkage.propagate = True
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        linkage.setLevel(saved[1])
        linkage.propagate = saved[2]


def _linker(max_iterations: int) -> Linker:
    model = trained()
    settings = dataclasses.replace(model.linker.settings, em_max_iterations=max_iterations)
    return Linker(settings, model.left, model.right)


def test_each_em_pass_is_recorded(root_at_warning: _Collect) -> None:
    linker = _linker(50)
    with record_training() as log:
        linker.train()
    rules = [r.name for r in linker.settings.blocking_rules]
    assert [p.rule for p in log.passes][: len(rules)] == rules
    assert all(p.converged and 1 <= p.iterations < 50 and p.pairs > 0 for p in log.passes)
    assert all(0 < p.match_rate < 1 and p.patterns >= 1 for p in log.passes)
    # the application's WARNING-level logging saw no INFO record, before or after
    assert not [r for r in root_at_warning.records if r.levelno < logging.WARNING]
    assert logging.getLogger("linkage").level == logging.NOTSET
    assert logging.getLogger("linkage").propagate
    html = training_chart(log.passes, max_iterations=50)
    assert f"{len(log.passes)} EM passes; 0 stopped" in html


def test_a_pass_stopped_at_the_limit_is_marked_not_converged(root_at_warning: _Collect) -> None:
    linker = _linker(2)
    with record_training() as log:
        linker.train()
    assert log.passes and all(not p.converged and p.iterations == 2 for p in log.passes)
    html = training_chart(log.passes, max_iterations=2)
    assert f"{len(log.passes)} stopped at the iteration limit" in html


def test_warnings_still_reach_the_application(root_at_warning: _Collect) -> None:
    with record_training() as log:
        logging.getLogger("linkage.training").warning("training rule %r found no pairs", "r1")
        logging.getLogger("linkage.training").info("not for the application")
    assert log.warnings == ["training rule 'r1' found no pairs"]
    assert [r.getMessage() for r in root_at_warning.records] == log.warnings


def test_a_handler_on_the_linkage_logger_itself_keeps_its_level() -> None:
    """As the CLI configures logging: the handler sits on "linkage", which does not propagate
    and logs WARNING and above; recording training must not make it print INFO."""
    linkage = logging.getLogger("linkage")
    shown = _Collect()
    saved = linkage.handlers[:], linkage.level, linkage.propagate
    linkage.handlers[:] = [shown]
    linkage.setLevel(logging.WARNING)
    linkage.propagate = False
    try:
        with record_training() as log:
            _linker(50).train()
            logging.getLogger("linkage.training").warning("kept and shown")
    finally:
        linkage.handlers[:], linkage.propagate = saved[0], saved[2]
        linkage.setLevel(saved[1])
    assert log.passes
    # training's own warnings may be shown (the one-to-one check warns on this data), INFO not
    assert all(r.levelno >= logging.WARNING for r in shown.records)
    assert [r.getMessage() for r in shown.records][-1] == "kept and shown"
    assert not shown.filters
