"""Benchmark: ``pprl run`` at scale (issue 16): N + N persons for several N in one benchmark
run, each stage's peak memory, and a batch of new records linked against the registry.

Run:  python -m benchmarks.bench_scale [--sizes 1000000,10000000] [--increment 100000]
      python -m benchmarks.bench_scale --sizes 1000000 --increment 0 --executors local,dask \
          --workers 4 --processes --memory-limit 4GiB

* Data and config as :mod:`benchmarks.bench_pipeline` (synthetic hospital CSV + GP Parquet,
  ``rows`` records each, compound blocking rules), one ``pprl run`` child at a time against a
  fresh workspace. The hospital file is hard-linked into a folder the config
  reads with a glob, so a later file is a new batch.
* For each size: the first run (every record new), then, with ``--increment N``, a second
  run given only a new file of the last ``N`` hospital rows again (new episodes of known
  patients), linked against the registry the first run left (about ``2 N`` records).
* Measured per run: wall time, peak RSS (``os.wait4``), the load average at its end and, per
  stage, the peak of the RSS sampled every 0.1 s between the log lines that start each stage
  (``register``: the registry's new part, written inside the deliver stage after the delivery
  is assembled).
* ``--executors local,dask``: each size is run by each executor in turn, with the same config,
  keystore and master key (so the same run ID and pseudonyms) and fresh work, state and
  delivery folders; ``outputs_identical`` says whether every executor's manifests list the same
  delivered files with the same SHA-256 as the first executor's. The dask options
  (``--workers``, ...) are passed to ``pprl run``; the peaks of the ``pprl run`` process alone
  and of its worker processes (summed) are reported beside the whole tree's, overall and per
  stage.
* Writes ``benchmarks/results/scale_pipeline.json`` (or ``--output``) after every run, so a
  benchmark stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from benchmarks.bench_pipeline import BLOCKING, ROOT, run_child, sources, workspace
from pipeline.atomic import write_text_atomic

RESULTS = ROOT / "results" / "scale_pipeline.json"
_MARKS = {
    re.compile(r"stage (\w+) started"): None,  # the stage's own name
    re.compile(r"registering the batch's records"): "register",
}
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def phase_starts(log: Path) -> list[tuple[str, float]]:
    """(phase, epoch seconds) for each stage start and the registry write in a run's log."""
    starts: list[tuple[str, float]] = []
    if not log.is_file():  # a run killed before it logged anything
        return starts
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = _STAMP.match(line)
        if stamp is None:
            continue
        for pattern, name in _MARKS.items():
            if found := pattern.search(line):
                when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                starts.append((name or found.group(1), when))
    return starts


def phase_peaks(log: Path, timeline: list[tuple[float, int]]) -> dict[str, float]:
    """Peak sampled RSS (MiB) within each phase; samples before the first phase count as
    start-up and are left out."""
    starts = phase_starts(log)
    ends = [t for _, t in starts[1:]] + [float("inf")] * bool(starts)
    peaks = {}
    for (name, start), end in zip(starts, ends, strict=True):
        inside = [rss for t, rss in timeline if start <= t < end]
        peaks[name] = round(max(inside) / 2**20, 1) if inside else None
    return peaks  # type: ignore[return-value]


def measured_run(
    base: Path, env: dict[str, str], timeout: float, executor: Executor
) -> dict[str, Any]:
    timeline: list[tuple[float, int]] = []
    split: list[tuple[float, int, int]] = []
    result = run_child(
        base,
        env,
        executor.name,
        timeout,
        config="scale",
        every_file=False,
        timeline=timeline,
        extra_args=executor.args,
        split_timeline=split,
    )
    result["stage_peak_rss_mib"] = phase_peaks(base / "run.log", timeline)
    if any(workers for _, _, workers in split):  # the dask executor's worker processes
        client = [(t, own) for t, own, _ in split]
        result["stage_peak_client_rss_mib"] = phase_peaks(base / "run.log", client)
        workers = [(t, rss) for t, _, rss in split]
        result["stage_peak_workers_rss_mib"] = phase_peaks(base / "run.log", workers)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # shared machine
    shutil.copy(base / "run.log", base / f"run-{len(list(base.glob('run-*.log')))}.log")
    return result


def scale_workspace(inputs: Path, partitions: int | None = None) -> tuple[Path, dict[str, str]]:
    """A fresh workspace whose config reads the hospital files from ``<base>/hospital/``
    (linking in ``partitions`` partitions when given)."""
    base, env = workspace(inputs, "scale")
    config = inputs / "scale.yaml"
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["sources"][0]["path"] = f"{base.name}/hospital/*.csv"
    doc["linkage"]["partitions"] = partitions
    write_text_atomic(config, yaml.safe_dump(doc, sort_keys=False))
    (base / "hospital").mkdir()
    os.link(inputs / "hospital_episodes.csv", base / "hospital" / "episodes-1.csv")
    return base, env


@dataclass(frozen=True)
class Executor:
    """An executor to run each size with, and its extra ``pprl run`` options."""

    name: str
    args: tuple[str, ...] = ()


def executors(names: str, dask_args: Sequence[str]) -> list[Executor]:
    """``local,dask`` as executors; the dask options go to the dask runs only."""
    return [Executor(n, tuple(dask_args) if n == "dask" else ()) for n in names.split(",")]


def fresh_run_folders(base: Path) -> None:
    """Empty work, state and delivery folders, and only the first hospital file, for the next
    executor (the keystore and config stay: same keys, same run ID)."""
    for name in ("work", "state", "delivery"):
        shutil.rmtree(base / name, ignore_errors=True)
    for later in (base / "hospital").glob("episodes-*.csv"):
        if later.name != "episodes-1.csv":
            later.unlink()


def one_executor(
    base: Path, env: dict[str, str], executor: Executor, increment: int, timeout: float
) -> dict[str, Any]:
    """The first run, then (``increment``) the later run, with one executor."""
    entry: dict[str, Any] = {"first": measured_run(base, env, timeout, executor)}
    print(json.dumps(entry["first"]), flush=True)
    if increment and entry["first"]["exit_code"] == 0:
        inputs = base.parent
        later = pl.scan_csv(inputs / "hospital_episodes.csv", infer_schema=False).tail(increment)
        later.collect().write_csv(base / "hospital" / "episodes-2.csv")
        entry["increment"] = {"rows": increment, **measured_run(base, env, timeout, executor)}
        print(json.dumps(entry["increment"]), flush=True)
    return entry


def same_outputs(runs: list[dict[str, Any]]) -> bool | None:
    """Whether every run's manifest lists the same delivered files and checksums as the first
    (None when a run delivered nothing to compare)."""
    listed = [r.get("outputs") for r in runs]
    if len(listed) < 2 or any(o is None for o in listed):
        return None
    return all(o == listed[0] for o in listed[1:])


def one_size(
    rows: int,
    increment: int,
    timeout: float,
    partitions: int | None = None,
    runs_with: Sequence[Executor] = (Executor("local"),),
) -> dict[str, Any]:
    """Every executor on ``rows`` + ``rows``: the first executor's figures as ``first`` (and
    ``increment``), every executor's under ``by_executor``."""
    inputs = sources(rows)
    base, env = scale_workspace(inputs, partitions)
    by_executor: dict[str, dict[str, Any]] = {}
    for n, executor in enumerate(runs_with):
        if n:
            fresh_run_folders(base)
        by_executor[executor.name] = one_executor(base, env, executor, increment, timeout)
    shutil.rmtree(base / "work", ignore_errors=True)  # the registry and review files
    entry: dict[str, Any] = {"rows_per_source": rows, **by_executor[runs_with[0].name]}
    if len(runs_with) > 1:
        entry["by_executor"] = by_executor
        entry["outputs_identical"] = {
            run: same_outputs([e[run] for e in by_executor.values() if run in e])
            for run in ("first", "increment")
            if run in entry
        }
    return entry


def growth(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """How the largest size compares with the smallest."""
    done = [s for s in sizes if s["first"]["exit_code"] == 0]
    if len(done) < 2:
        return {}
    small, large = done[0], done[-1]
    factor = large["rows_per_source"] / small["rows_per_source"]
    return {
        "rows_factor": factor,
        "wall_factor": round(large["first"]["wall_seconds"] / small["first"]["wall_seconds"], 2),
        "peak_rss_factor": round(
            large["first"]["peak_rss_mib"] / small["first"]["peak_rss_mib"], 2
        ),
    }


def write(
    output: Path,
    sizes: list[dict[str, Any]],
    increment: int,
    partitions: int | None = None,
    runs_with: Sequence[Executor] = (Executor("local"),),
) -> None:
    document = {
        "benchmark": "scale_pipeline",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "executors": {e.name: list(e.args) for e in runs_with},
        "blocking": BLOCKING,
        "increment_rows": increment,
        "linkage_partitions": partitions,
        "sizes": sizes,
        "growth": growth(sizes),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, json.dumps(document, indent=2) + "\n")


def bench_scale_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="records per source, ...")
    parser.add_argument("--increment", type=int, default=100_000, metavar="N")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--partitions", type=int, default=None, help="linkage.partitions for every run"
    )
    parser.add_argument("--executors", default="local", help="local, dask or local,dask")
    parser.add_argument("--workers", type=int, help="dask: LocalCluster workers")
    parser.add_argument("--threads-per-worker", type=int, help="dask: threads per worker")
    parser.add_argument(
        "--processes", action=argparse.BooleanOptionalAction, help="dask: worker processes"
    )
    parser.add_argument("--memory-limit", help="dask: memory per worker, such as 4GiB")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = bench_scale_parser().parse_args(argv)
    runs_with = executors(args.executors, dask_options(args))
    sizes: list[dict[str, Any]] = []
    for rows in (int(s) for s in args.sizes.split(",")):
        start = time.perf_counter()
        sizes.append(one_size(rows, args.increment, args.timeout, args.partitions, runs_with))
        print(f"{rows:,} + {rows:,}: {time.perf_counter() - start:.0f} s", flush=True)
        write(args.output, sizes, args.increment, args.partitions, runs_with)
    runs = [
        e[k]
        for s in sizes
        for e in s.get("by_executor", {"": s}).values()
        for k in ("first", "increment")
        if k in e
    ]
    identical = [v for s in sizes for v in s.get("outputs_identical", {}).values()]
    return 0 if all(r["exit_code"] == 0 for r in runs) and all(identical) else 1


def dask_options(args: argparse.Namespace) -> list[str]:
    """The ``pprl run`` options for the dask runs, from this benchmark's own."""
    options: list[str] = []
    if args.workers is not None:
        options += ["--workers", str(args.workers)]
    if args.threads_per_worker is not None:
        options += ["--threads-per-worker", str(args.threads_per_worker)]
    if args.processes is not None:
        options.append("--processes" if args.processes else "--no-processes")
    if args.memory_limit is not None:
        options += ["--memory-limit", args.memory_limit]
    return options


if __name__ == "__main__":
    raise SystemExit(main())
