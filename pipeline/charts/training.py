"""Training diagnostics: what each EM pass did (pairs, patterns, iterations, whether it
converged, the match rate it found), recorded while a model trains, and a chart of it.

The linker reports its passes through the ``linkage`` loggers, not a return value, so
:func:`record_training` listens to them for the length of a ``with`` block without changing
what reaches the application's own log handlers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.charts.model import NEGATIVE, POSITIVE
from pipeline.charts.render import altair, figure, ordered_y
from pipeline.html_blocks import escape, html_table
from pipeline.linkage_warnings import listening

# The linkage package's messages this module reads (linkage/training.py, linkage/model.py);
# tests/pipeline/test_charts_training.py fails if either changes.
EM_PASS_MESSAGE = "EM pass %r: %d pairs, %d patterns, %d iterations, match rate %.3g"
NOT_CONVERGED_MESSAGE = "EM stopped after %d iterations without converging"
_LOGGER = "linkage"


@dataclass(frozen=True)
class TrainingPass:
    """One EM pass: its training block, the pairs and distinct patterns it saw, the
    iterations it took, whether it converged and the match rate (lambda) it settled on."""

    rule: str
    pairs: int
    patterns: int
    iterations: int
    converged: bool
    match_rate: float


@dataclass
class TrainingLog:
    """What :func:`record_training` saw: the EM passes in order, and the warnings."""

    passes: list[TrainingPass] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Recorder(logging.Handler):
    def __init__(self, log: TrainingLog) -> None:
        super().__init__(logging.DEBUG)
        self.log = log
        self._unconverged = False  # the model said the pass about to be reported stopped early

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == NOT_CONVERGED_MESSAGE:
            self._unconverged = True
        elif record.msg == EM_PASS_MESSAGE and isinstance(record.args, tuple):
            values: tuple[Any, ...] = record.args
            rule, pairs, patterns, iterations, rate = values
            self.log.passes.append(
                TrainingPass(
                    str(rule),
                    int(pairs),
                    int(patterns),
                    int(iterations),
                    not self._unconverged,
                    float(rate),
                )
            )
            self._unconverged = False
        elif record.levelno >= logging.WARNING:
            self.log.warnings.append(record.getMessage())


@contextlib.contextmanager
def record_training() -> Iterator[TrainingLog]:
    """Collect the EM passes and warnings of training done inside the block, whatever level
    the application logs at (records it would not print are still not printed).

    >>> with record_training() as log:  # doctest: +SKIP
    ...     linker.train()
    >>> log.passes[0].iterations  # doctest: +SKIP
    """
    log = TrainingLog()
    # pass records are INFO: listen at INFO, the handlers already there keep their level
    with listening((_LOGGER,), _Recorder(log), logging.INFO):
        yield log


def training_chart(passes: Sequence[TrainingPass], *, max_iterations: int | None = None) -> str:
    """Iterations per EM pass (red when it stopped at the limit without converging), with a
    table of each pass's pairs, patterns and match rate."""
    if not passes:
        return "<p>No EM passes were recorded (a loaded model is not retrained).</p>"
    alt = altair()
    rows = [
        {
            "order": i,
            "pass": f"{i + 1}. {p.rule}",
            "iterations": p.iterations,
            "status": "converged" if p.converged else "not converged",
        }
        for i, p in enumerate(passes)
    ]
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=ordered_y("pass"),
            x=alt.X("iterations:Q", title="EM iterations"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=["converged", "not converged"], range=[POSITIVE, NEGATIVE]),
                legend=alt.Legend(title=None),
            ),
        )
    )
    layers = [bars]
    if max_iterations is not None:
        limit = alt.Chart(alt.Data(values=[{"x": max_iterations}])).mark_rule(strokeDash=[4, 3])
        layers.append(limit.encode(x="x:Q"))
    failed = sum(not p.converged for p in passes)
    caption = (
        f"{len(passes)} EM passes; {failed} stopped at the iteration limit without converging."
    )
    table = html_table(
        ["pass", "training block", "pairs", "patterns", "iterations", "converged", "match rate"],
        [
            [
                i + 1,
                p.rule,
                p.pairs,
                p.patterns,
                p.iterations,
                "yes" if p.converged else "no",
                f"{p.match_rate:.3g}",
            ]
            for i, p in enumerate(passes)
        ],
    )
    return figure(alt.layer(*layers).properties(width=420), caption) + table


def warnings_list(warnings: Sequence[str]) -> str:
    """The training warnings as an HTML list (empty string when there are none)."""
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return f'<ul class="pprl-warnings">{items}</ul>'
