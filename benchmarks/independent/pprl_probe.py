"""Watch pprl's training without changing it: per-pass EM estimates, kept passes, log lines.

:func:`probe` wraps three internals of :class:`linkage.training.Trainer` on one linker
instance (never the class): ``_em_pass`` (m, block match rate and expected matches of every
EM pass), ``_plausible_passes`` (which of those survived the plausibility check) and
``_supplementary_pass``; and it collects the ``linkage`` loggers' records. The linker trains
exactly as it would unwatched. Internals may be renamed by the engine's owners: a missing one
is recorded in ``missing`` rather than failing the benchmark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingTrace:
    """What one ``Linker.train()`` did, in a JSON-friendly form."""

    passes: list[dict[str, Any]] = field(default_factory=list)
    kept: dict[str, list[float]] = field(default_factory=dict)
    supplementary: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passes": self.passes,
            "kept_expected_matches": self.kept,
            "supplementary": self.supplementary,
            "log": self.log,
            "missing_internals": self.missing,
        }


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def _estimates(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"m": [round(float(v), 6) for v in est[0]], "rate": est[1], "expected": est[2]}
        for name, est in found.items()
    }


def _wrap(trainer: Any, name: str, trace: TrainingTrace, make: Callable[..., Any]) -> None:
    original = getattr(trainer, name, None)
    if original is None:
        trace.missing.append(name)
        return
    setattr(trainer, name, make(original))


@contextmanager
def probe(linker: Any) -> Iterator[TrainingTrace]:
    """Record the training of ``linker`` (a :class:`linkage.Linker`) while in the block."""
    trace = TrainingTrace()
    trainer = getattr(linker, "_trainer", None)
    if trainer is None:
        trace.missing.append("_trainer")
    else:

        def em_pass(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(rule: Any, *args: Any, **kwargs: Any) -> Any:
                found = original(rule, *args, **kwargs)
                trace.passes.append({"rule": rule.name, "estimates": _estimates(found)})
                return found

            return wrapped

        def plausible(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(estimates: Any) -> Any:
                kept = original(estimates)
                trace.kept = {n: [float(p[2]) for p in ps] for n, ps in kept.items()}
                return kept

            return wrapped

        def supplementary(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(untrained: Any, *args: Any, **kwargs: Any) -> Any:
                found = original(untrained, *args, **kwargs)
                trace.supplementary.append(
                    {"untrained": list(untrained), "estimates": _estimates(found)}
                )
                return found

            return wrapped

        _wrap(trainer, "_em_pass", trace, em_pass)
        _wrap(trainer, "_plausible_passes", trace, plausible)
        _wrap(trainer, "_supplementary_pass", trace, supplementary)
    handler = _ListHandler(trace.log)
    root = logging.getLogger("linkage")
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield trace
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        if trainer is not None:
            for name in ("_em_pass", "_plausible_passes", "_supplementary_pass"):
                trainer.__dict__.pop(name, None)
