"""Command line of the benchmark: generate data, run each tool in turn, score, print, save JSON.

Example::

    .venv-bench/bin/python -m benchmarks.linkage --sizes 100000 \
        --tools pprl,splink,recordlinkage --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.linkage.data import DEFAULT_DATA_DIR, Dataset, ensure_dataset
from benchmarks.linkage.measure import run_measured
from benchmarks.linkage.metrics import evaluate_pairs
from benchmarks.linkage.report import (
    ToolRun,
    compare_with_peers,
    format_calibration,
    format_comparisons,
    format_table,
)
from benchmarks.linkage.runner_io import PAIRS_FILE, RESULT_FILE, package_versions
from benchmarks.linkage.spec import (
    BLOCKING_RULES,
    DEFAULT_THRESHOLD,
    LINK_FIELDS,
    MIN_WRITTEN_PROBABILITY,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("pprl", "splink", "recordlinkage")
RUNNER_MODULES = {tool: f"benchmarks.linkage.run_{tool}" for tool in TOOLS}
BENCH_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "linkage.json"


def default_runs(size: int) -> int:
    """Median of 3 at small sizes; a single run from 1M up, where one run takes minutes."""
    return 1 if size >= 1_000_000 else 3


def choose_python(tool: str, overrides: dict[str, str]) -> str:
    """Interpreter for a tool: an override, else this one, else .venv-bench for Splink."""
    if tool in overrides:
        return overrides[tool]
    if tool == "splink" and importlib.util.find_spec("splink") is None and BENCH_PYTHON.exists():
        return str(BENCH_PYTHON)
    return sys.executable


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) * 1024 / 1024**3, 1)
                break
    except OSError:
        pass
    return info


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def score_run(out_dir: Path, truth: pl.DataFrame, child: dict[str, Any]) -> dict[str, Any]:
    """Metrics at the default threshold and, if the tool chose one, at its own."""
    pairs = pl.read_parquet(out_dir / PAIRS_FILE)
    metrics = {"default": evaluate_pairs(pairs, truth, threshold=DEFAULT_THRESHOLD).to_dict()}
    if child.get("threshold") is not None:
        metrics["auto"] = evaluate_pairs(pairs, truth, threshold=child["threshold"]).to_dict()
    for m in metrics.values():
        m["best_threshold_at_floor"] = m["best_threshold"] <= MIN_WRITTEN_PROBABILITY * 1.0001
    return metrics


def calibration(
    child: dict[str, Any], metrics: dict[str, Any], true_pairs: int, total_pairs: int
) -> dict[str, Any] | None:
    """A tool's own view against the truth, where it reports one (pprl): lambda estimated
    over true, and its unsupervised precision estimate beside the true precision."""
    notes = child.get("notes") or {}
    lam = notes.get("lambda_estimate")
    if lam is None or not true_pairs:
        return None
    estimate = (notes.get("unsupervised") or {}).get("expected_precision")
    true_precision = (metrics.get("auto") or {}).get("precision")
    return {
        "lambda_estimate": lam,
        "lambda_true": true_pairs / total_pairs,
        "lambda_ratio": lam * total_pairs / true_pairs,
        "precision_estimate": estimate,
        "precision_true": true_precision,
        "precision_estimate_error": None
        if estimate is None or true_precision is None
        else estimate - true_precision,
        "training_warnings": [w.get("code") for w in notes.get("training_warnings", [])],
    }


def run_tool(
    tool: str,
    dataset: Dataset,
    truth: pl.DataFrame,
    *,
    runs: int,
    python: str,
    work_dir: Path,
    timeout: float,
    seed: int,
    memory_limit: str | None = None,
    module: str | None = None,
    extra_args: Sequence[str] = (),
) -> ToolRun:
    """Run ``tool`` (its runner, or ``module`` with ``extra_args``) ``runs`` times."""
    result = ToolRun(tool=tool, size=dataset.n_left)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    for i in range(runs):
        out_dir = work_dir / f"{tool}_{dataset.n_left}" / f"run{i}"
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (PAIRS_FILE, RESULT_FILE):
            (out_dir / stale).unlink(missing_ok=True)
        argv = [
            python,
            "-m",
            module or RUNNER_MODULES[tool],
            "--data",
            str(dataset.directory),
            "--out",
            str(out_dir),
            "--seed",
            str(seed),
        ]
        if memory_limit:
            argv += ["--memory-limit", memory_limit]
        argv += extra_args
        logger.info("running %s at %d (run %d/%d)", tool, dataset.n_left, i + 1, runs)
        m = run_measured(
            argv, cwd=REPO_ROOT, log_path=out_dir / "log.txt", timeout=timeout, env=env
        )
        result.walls.append(m.wall_seconds)
        result.rss.append(m.peak_rss_bytes)
        result.statuses.append(m.status)
        result.rss_methods.append(m.rss_method)
        result.cpu.append(m.cpu_seconds)
        if m.status != "ok":
            # The log may quote data, so only its path is reported.
            logger.warning("%s %s (exit %s); see %s", tool, m.status, m.exit_code, m.log_path)
            break
        result.child = json.loads((out_dir / RESULT_FILE).read_text())
        if i == runs - 1:
            result.metrics = score_run(out_dir, truth, result.child)
            total = dataset.n_left * dataset.n_right
            found = calibration(result.child, result.metrics, truth.height, total)
            if found is not None:
                result.metrics["calibration"] = found
    return result


def write_results(path: Path, payload: dict[str, Any]) -> None:
    """The results JSON, written atomically (a temp file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)
    print(f"results written to {path}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.linkage",
        description="Benchmark pprl against Splink and recordlinkage on generated person data.",
        epilog="Example: python -m benchmarks.linkage --sizes 100000 "
        "--tools pprl,splink,recordlinkage --runs 1",
    )
    p.add_argument(
        "--sizes",
        default="100000",
        help="comma-separated records per file (n x n), e.g. 100000,1000000",
    )
    p.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated from {TOOLS}")
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        help="runs per tool and size (median reported); default 3, or 1 from 1M",
    )
    p.add_argument("--seed", type=int, default=20261123, help="data and sampling seed")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    p.add_argument(
        "--splink-memory-limit",
        default=None,
        metavar="SIZE",
        help="DuckDB memory_limit for Splink (e.g. 8GB); default DuckDB's 80%% of RAM",
    )
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="TOOL=PATH",
        help="interpreter for a tool, e.g. splink=.venv-bench/bin/python",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="cache of generated data (gitignored)",
    )
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON path")
    ns = p.parse_args(argv)
    ns.sizes = [int(s) for s in ns.sizes.split(",") if s]
    ns.tools = [t.strip() for t in ns.tools.split(",") if t.strip()]
    unknown = [t for t in ns.tools if t not in TOOLS]
    if unknown or not ns.tools:
        p.error(f"unknown tools {unknown}; choose from {TOOLS}")
    if not ns.sizes or min(ns.sizes) < 1:
        p.error("sizes must be positive integers")
    overrides = {}
    for item in ns.python:
        tool, sep, path = item.partition("=")
        if not sep or tool not in TOOLS:
            p.error(f"--python expects TOOL=PATH with TOOL in {TOOLS}")
        overrides[tool] = path
    ns.python = overrides
    return ns


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # CLI edge only
    started = dt.datetime.now(dt.UTC)
    sizes_out: list[dict[str, Any]] = []
    for size in args.sizes:
        dataset = ensure_dataset(size, size, seed=args.seed, root=args.data_dir)
        truth = dataset.read_truth()
        runs = [
            run_tool(
                tool,
                dataset,
                truth,
                runs=args.runs or default_runs(size),
                python=choose_python(tool, args.python),
                work_dir=args.data_dir / "runs",
                timeout=args.timeout,
                seed=args.seed,
                memory_limit=args.splink_memory_limit if tool == "splink" else None,
            )
            for tool in args.tools
        ]
        comparisons = compare_with_peers(runs)
        print(format_table(runs))
        print(format_calibration(runs))
        if comparisons:
            print(format_comparisons(size, comparisons))
        print()
        sizes_out.append(
            {
                "n_left": dataset.n_left,
                "n_right": dataset.n_right,
                "data_source": dataset.source,
                "true_pairs": truth.height,
                "tools": [r.to_dict() for r in runs],
                "pprl_vs_peers": comparisons,
            }
        )
    payload = {
        "benchmark": "linkage",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine_info(),
        "harness_versions": package_versions(),
        "seed": args.seed,
        "link_fields": list(LINK_FIELDS),
        "blocking_rules": [r.name for r in BLOCKING_RULES],
        "default_threshold": DEFAULT_THRESHOLD,
        "min_written_probability": MIN_WRITTEN_PROBABILITY,
        "measurement": "whole child process: wall clock, user+system CPU seconds and peak RSS "
        "(GNU time, else os.wait4; see each run's rss_method); median of runs",
        "sizes": sizes_out,
    }
    write_results(args.output, payload)
    return 0
