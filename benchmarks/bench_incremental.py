"""Benchmark: a batch of new records through ``pprl run`` against a large history (issue 16).

Run in two steps, so a history built once serves several measurements:

    python -m benchmarks.bench_incremental build --rows 5000000 --repeats 2 --top-up 300000
    python -m benchmarks.bench_incremental measure --rows 5000000,1000000 --increment 100000

* ``build`` makes the history of :func:`benchmarks.bench_scale.scale_workspace`'s workspace
  for ``rows`` (synthetic hospital CSV + GP Parquet, ``rows`` records each): a first
  ``pprl run`` over both sources, then ``--repeats`` runs each given the whole hospital file
  again as a new file (new episodes of known patients), then one given its last ``--top-up``
  rows. Every run is a real ``pprl run``: linked against the registry the runs before it
  left, de-identified against the extracts they delivered, delivered and registered.
* ``build --resume`` grows a history built before (and measured since) by more batches.
* ``measure`` then gives each history, in the order listed, ``--times`` new files of the
  last ``--increment`` hospital rows, one ``pprl run`` each: the whole run's wall time, peak
  RSS, each stage's seconds (from the manifest) and peak RSS (sampled, as in
  :mod:`benchmarks.bench_scale`), and the load average before and after. Before its runs,
  each history's registry is opened once in a child process (``migrate``), timed: a
  registry written by an older pprl is rewritten then, not inside the first measured run.
  With ``--label``, each run is tagged with it and added to the runs the results file holds.
  ``--skip N`` takes the ``--increment`` rows before the last ``N`` instead: patients the
  build's repeated tails did not add again and again (each repeat adds another copy of the
  same patients to the records a later run of them reads).
* Each step writes its JSON (``results/incremental_history.json``,
  ``results/scale_incremental.json``) after every run, so a stopped benchmark keeps what it
  measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.bench_pipeline import BLOCKING, ROOT, sources
from benchmarks.bench_scale import _STAMP, Executor, measured_run, scale_workspace
from pipeline.atomic import write_text_atomic
from pipeline.config import load_config
from pipeline.registry import Registry
from pipeline.stages.link_keys import BlockKeys

HISTORY = ROOT / "results" / "incremental_history.json"
RESULTS = ROOT / "results" / "scale_incremental.json"


def _env(base: Path) -> dict[str, str]:
    """The child's environment for an existing workspace (its master key, saved by build)."""
    key = (base / "master.key").read_text(encoding="utf-8").strip()
    return {**os.environ, "PPRL_MASTER_KEY": key}


def _delivered(base: Path) -> int:
    """Records delivered so far: the history a new batch is linked and de-identified against."""
    total = 0
    for manifest in (base / "delivery").glob("run-*/manifest.json"):
        total += json.loads(manifest.read_text(encoding="utf-8"))["totals"]["delivered"]
    return total


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


_LINES = {
    "review": re.compile(r"pairs for clerical review"),
    "register": re.compile(r"registering the batch's records"),
    "exit": re.compile(r"run delivered"),
}


def phase_seconds(log: Path, started: float, ended: float) -> dict[str, float]:
    """Seconds of the whole run spent in each phase, from the run log's time stamps:
    ``startup`` (process start to the first stage: imports, input discovery, state checks),
    each stage, ``review`` (the clerical-review file, written after the manifest),
    ``register``, and ``exit`` (after the run is recorded as delivered)."""
    marks = [("startup", started)]
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = _STAMP.match(line)
        if stamp is None:
            continue
        when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if found := re.search(r"stage (\w+) started", line):
            marks.append((found.group(1), when))
        for name, pattern in _LINES.items():
            if pattern.search(line):
                marks.append((name, when))
    ends = [t for _, t in marks[1:]] + [ended]
    return {name: round(end - start, 2) for (name, start), end in zip(marks, ends, strict=True)}


def _run(base: Path, env: dict[str, str], label: str, timeout: float) -> dict[str, Any]:
    before = {"history_records": _delivered(base), "load_before": _load()}
    started = time.time()
    measured = measured_run(base, env, timeout, Executor("local"))
    phases = phase_seconds(base / "run.log", started, time.time())
    result = {"run": label, **before, **measured, "phase_seconds": phases, "load_after": _load()}
    print(json.dumps(result), flush=True)
    return result


def _write(output: Path, runs: dict[str, list[dict[str, Any]]], **facts: Any) -> None:
    document = {
        "benchmark": "scale_incremental",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "executor": "local",
        "blocking": BLOCKING,
        **facts,
        "runs": runs,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, json.dumps(document, indent=2) + "\n")


def _new_file(base: Path, inputs: Path, rows: int | None, skip: int = 0) -> str:
    """Add the hospital file (or its last ``rows`` rows, or the ``rows`` before the last
    ``skip``) as the next new file; its name."""
    folder = base / "hospital"
    name = f"episodes-{len(list(folder.glob('*.csv'))) + 1}.csv"
    if rows is None:
        os.link(inputs / "hospital_episodes.csv", folder / name)
    else:
        every = pl.scan_csv(inputs / "hospital_episodes.csv", infer_schema=False)
        later = every.slice(-(rows + skip), rows)
        later.collect().write_csv(folder / name)
    return name


def build(
    rows: int, repeats: int, top_up: int, timeout: float, output: Path, *, resume: bool = False
) -> int:
    inputs = sources(rows)
    runs: list[dict[str, Any]] = []
    if resume:  # grow the history built before (and measured since)
        base = inputs / "run-scale"
        env = _env(base)
    else:
        base, env = scale_workspace(inputs)
        write_text_atomic(base / "master.key", env["PPRL_MASTER_KEY"] + "\n")
        runs.append(_run(base, env, "first", timeout))
    batches: list[int | None] = [None] * repeats + ([top_up] if top_up else [])
    for batch in batches:
        if runs and runs[-1]["exit_code"] != 0:
            break
        name = _new_file(base, inputs, batch)
        runs.append(_run(base, env, name, timeout))
        _write(output, {str(rows): runs}, rows_per_source=rows)
    _write(output, {str(rows): runs}, rows_per_source=rows, history=_delivered(base))
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


def migrate(rows: int) -> int:
    """Open the registry of the history for ``rows`` (rewriting it if an older pprl wrote
    it); print the seconds, records and this process's peak RSS as JSON."""
    config = load_config(sources(rows) / "scale.yaml")
    started = time.perf_counter()
    registry = Registry.open(config.work_dir, BlockKeys.for_spec(config.linkage))
    fact = {
        "seconds": round(time.perf_counter() - started, 2),
        "records": sum(p.rows for p in registry.parts),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(fact), flush=True)
    return 0


def _migrated(rows: int, timeout: float) -> dict[str, Any]:
    before = _load()
    command = [sys.executable, "-m", "benchmarks.bench_incremental", "migrate", "--rows", str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    fact = json.loads(done.stdout.strip().splitlines()[-1])
    return {**fact, "load_before": before, "load_after": _load()}


def measure(
    sizes: list[int],
    increment: int,
    times: int,
    timeout: float,
    output: Path,
    label: str | None = None,
    skip: int = 0,
) -> int:
    kept = _earlier_runs(output) if label else {}
    runs: dict[str, list[dict[str, Any]]] = {}
    migrations: dict[str, dict[str, Any]] = {}
    for rows in sizes:
        inputs = sources(rows)
        base = inputs / "run-scale"
        if not (base / "master.key").is_file():
            base, env = scale_workspace(inputs)  # a small history: built here, first run
            write_text_atomic(base / "master.key", env["PPRL_MASTER_KEY"] + "\n")
            runs[str(rows)] = [_run(base, env, "first", timeout)]
        else:
            migrations[str(rows)] = _migrated(rows, timeout)
            print(json.dumps({"migrated": rows, **migrations[str(rows)]}), flush=True)
        env = _env(base)
        for _ in range(times):
            name = _new_file(base, inputs, increment, skip)
            run = _run(base, env, name, timeout)
            runs.setdefault(str(rows), []).append({"label": label, **run} if label else run)
            every = {k: kept.get(k, []) + runs.get(k, []) for k in {*kept, *runs}}
            facts = {"registry_opened": migrations} if migrations else {}
            _write(output, every, increment_rows=increment, skipped_last_rows=skip, **facts)
    every_run = [r for size in runs.values() for r in size]
    return 0 if all(r["exit_code"] == 0 for r in every_run) else 1


def _earlier_runs(output: Path) -> dict[str, list[dict[str, Any]]]:
    if not output.is_file():
        return {}
    runs: dict[str, list[dict[str, Any]]] = json.loads(output.read_text(encoding="utf-8"))["runs"]
    return runs


STAGES = ["ingest", "link", "pseudonymise", "deidentify", "deliver"]


def table(path: Path) -> str:
    """The runs of a results file as Markdown table rows (for SCALING_pipeline.md)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for runs in document["runs"].values():
        for r in runs:
            seconds, peaks = r.get("stage_seconds", {}), r.get("stage_peak_rss_mib", {})
            cells = [
                f"{seconds[s]:.1f} s / {peaks.get(s) or 0:,.0f}" for s in STAGES if s in seconds
            ]
            lines.append(
                f"| {r['history_records']:,} | {r['run']} | {r['wall_seconds']:.1f} | "
                f"{r['peak_rss_mib']:,.0f} | " + " | ".join(cells) + f" | {r['load_before'][0]} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per run")
    steps = parser.add_subparsers(dest="step", required=True)
    make = steps.add_parser("build", help="build a history")
    make.add_argument("--rows", type=int, default=5_000_000, help="records per source")
    make.add_argument("--repeats", type=int, default=2, metavar="N")
    make.add_argument("--top-up", type=int, default=300_000, metavar="N")
    make.add_argument("--output", type=Path, default=HISTORY)
    make.add_argument("--resume", action="store_true", help="grow the history built before")
    run = steps.add_parser("measure", help="new batches against built histories")
    run.add_argument("--rows", default="5000000,1000000", help="histories, by records per source")
    run.add_argument("--increment", type=int, default=100_000, metavar="N")
    run.add_argument("--skip", type=int, default=0, metavar="N", help="rows before the last N")
    run.add_argument("--times", type=int, default=2, metavar="N")
    run.add_argument("--output", type=Path, default=RESULTS)
    run.add_argument("--label", help="tag the runs and keep the file's earlier runs")
    opened = steps.add_parser("migrate", help="open (and rewrite if old) a history's registry")
    opened.add_argument("--rows", type=int, default=5_000_000, help="records per source")
    show = steps.add_parser("table", help="a results file as Markdown table rows")
    show.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    if args.step == "table":
        print(table(args.results))
        return 0
    if args.step == "migrate":
        return migrate(args.rows)
    if args.step == "build":
        return build(
            args.rows, args.repeats, args.top_up, args.timeout, args.output, resume=args.resume
        )
    sizes = [int(s) for s in args.rows.split(",")]
    return measure(
        sizes, args.increment, args.times, args.timeout, args.output, args.label, args.skip
    )


if __name__ == "__main__":
    raise SystemExit(main())
