"""Where the link stage's memory goes: ``pprl run`` on N + N records in this process, its RSS
sampled every 20 ms, with a mark at the entry and exit of each step of the link stage.

Run:  python -m benchmarks.link_memory [--rows 1000000] [--output FILE]

Data and config as :mod:`benchmarks.bench_scale` (one size, the local executor). Each mark
records the seconds since start, the RSS at the mark and the peak RSS sampled since the
previous mark (so a step's own peak is the ``peak_since_last_mib`` of its exit mark). The
steps are wrapped by replacing module attributes for this process only; nothing is changed
on disk. Writes ``benchmarks/results/link_memory.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # installed with distributed

from benchmarks.bench_pipeline import ROOT, sources
from benchmarks.bench_scale import scale_workspace
from pipeline.atomic import write_text_atomic

RESULTS = ROOT / "results" / "link_memory.json"
#: (module, attribute) of each step marked; classes' methods as "Class.method".
STEPS = [
    ("pipeline.run_stages", "_link"),
    ("pipeline.stages.link", "link_batch"),
    ("pipeline.stages.link", "_run_linker"),
    ("pipeline.stages.link_engine", "_bind"),
    ("pipeline.stages.link_engine", "link_diagnostics"),
    ("pipeline.stages.link_engine", "cluster_records"),
    ("pipeline.stages.link", "assign_entities"),
    ("linkage.linker", "Linker.__init__"),
    ("linkage.linker", "Linker.train"),
    ("linkage.linker", "Linker.predict_to_parquet"),
    ("linkage.linker", "Linker.close"),
]


class Sampler:
    """This process's RSS, sampled in a thread; marks with the peak since the last mark."""

    def __init__(self, every: float = 0.02) -> None:
        self.process = psutil.Process()
        self.start = time.perf_counter()
        self.peak = 0
        self.marks: list[dict[str, Any]] = []
        self._every = every
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self._every)

    def mark(self, label: str) -> None:
        rss = self.process.memory_info().rss
        self.marks.append(
            {
                "seconds": round(time.perf_counter() - self.start, 2),
                "mark": label,
                "rss_mib": round(rss / 2**20, 1),
                "peak_since_last_mib": round(max(self.peak, rss) / 2**20, 1),
            }
        )
        self.peak = rss


def _wrapped(sampler: Sampler, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def marked(*args: Any, **kwargs: Any) -> Any:
        sampler.mark(f"> {label}")
        try:
            return fn(*args, **kwargs)
        finally:
            sampler.mark(f"< {label}")

    return marked


def instrument(sampler: Sampler) -> None:
    """Wrap every step of :data:`STEPS` that this version of the code has."""
    import importlib

    for module_name, attribute in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, name):
            setattr(owner, name, _wrapped(sampler, attribute, getattr(owner, name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records per source")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    output = args.output.resolve()  # before the run changes directory
    inputs = sources(args.rows)
    base, env = scale_workspace(inputs)
    os.environ.update(env)
    os.chdir(base)
    sampler = Sampler()
    instrument(sampler)
    from pipeline.cli import cli

    try:
        cli.main(["run", str(inputs / "scale.yaml"), "--executor", "local"])
    except SystemExit as exit_:
        sampler.mark(f"exit {exit_.code}")
    document = {
        "benchmark": "link_memory",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": os.getloadavg(),
        "rows_per_source": args.rows,
        "marks": sampler.marks,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, json.dumps(document, indent=2) + "\n")
    for m in sampler.marks:
        rss, peak = m["rss_mib"], m["peak_since_last_mib"]
        print(f"{m['seconds']:8.1f} s  {m['mark']:36s} {rss:8.0f} {peak:8.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
