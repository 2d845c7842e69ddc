"""Command line of the independent benchmark: prepare tasks, run each tool, score, report.

Example::

    python -m benchmarks.independent --tasks census_w2,dedupe_w2 --tools pprl,recordlinkage
    python -m benchmarks.independent --quick        # FEBRL4 + two quarter-size tasks
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.independent.data import DEFAULT_DATA_DIR, TaskData, build_task, ensure_sources
from benchmarks.independent.report import format_table
from benchmarks.independent.run_pprl import CLUSTERS_FILE
from benchmarks.independent.scoring import (
    cluster_scores,
    components,
    false_positive_profile,
    linked_pair_scores,
    ordered,
    pair_scores,
)
from benchmarks.independent.tasks import QUICK_TASKS, TASKS
from benchmarks.linkage.harness import git_commit, machine_info
from benchmarks.linkage.measure import run_measured
from benchmarks.linkage.runner_io import PAIRS_FILE, RESULT_FILE, package_versions
from benchmarks.linkage.spec import DEFAULT_THRESHOLD

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("pprl", "splink", "recordlinkage")
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "independent.json"
GIB = 1024**3


def _read_addresses(data: TaskData) -> pl.DataFrame | None:
    if "street_name" not in data.task.columns:
        return None
    files = [data.directory / f for f in ("left.parquet", "right.parquet")]
    frames = [pl.read_parquet(f) for f in files if f.exists()]
    return pl.concat(frames).unique("record_id") if frames else None


def score_tool(data: TaskData, out_dir: Path, child: dict[str, Any]) -> dict[str, Any]:
    """Every figure of one tool on one task from its pairs file and its result.json."""
    link_type = data.task.link_type
    truth = data.truth
    pairs = ordered(pl.read_parquet(out_dir / PAIRS_FILE), link_type)
    notes = child.get("notes") or {}
    threshold = child.get("threshold")
    threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    marked = "linked" in pairs.columns  # the tool's links (module docstring of scoring)
    scores = (linked_pair_scores if marked else pair_scores)(pairs, truth, threshold)
    links = pairs.filter(pl.col("linked")) if marked else pairs
    true_lambda = float(data.meta["true_lambda"])
    lam = notes.get("lambda_estimate")
    unsupervised = notes.get("unsupervised") or {}
    out: dict[str, Any] = {
        "threshold": threshold,
        "pairs": scores,
        "lambda_estimate": lam,
        "lambda_true": true_lambda,
        "lambda_ratio": None if lam is None or not true_lambda else float(lam) / true_lambda,
        "own_precision_estimate": unsupervised.get("expected_precision"),
        "own_expected_matches": unsupervised.get("expected_matches"),
        "false_positives": false_positive_profile(
            links, threshold, truth, data.entities, _read_addresses(data)
        ),
    }
    if link_type == "dedupe_only":
        ids = data.entities["record_id"]
        out["clusters_at_threshold"] = cluster_scores(
            components(ids, links, threshold), data.entities
        )
        own = out_dir / CLUSTERS_FILE
        if own.exists():
            assignment = pl.read_parquet(own).select(
                pl.col("id").alias("record_id"), pl.col("cluster_id").alias("cluster")
            )
            out["clusters_own_default"] = {
                "threshold": notes.get("cluster_threshold"),
                **cluster_scores(assignment, data.entities),
            }
    return out


def run_tool(
    tool: str, data: TaskData, *, work_dir: Path, python: str, timeout: float, seed: int
) -> dict[str, Any]:
    out_dir = work_dir / data.directory.name / tool
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (PAIRS_FILE, RESULT_FILE, CLUSTERS_FILE):
        (out_dir / stale).unlink(missing_ok=True)
    module = f"benchmarks.independent.run_{tool}"
    argv = [python, "-m", module, "--data", str(data.directory), "--out", str(out_dir)]
    argv += ["--seed", str(seed)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    logger.info("running %s on %s", tool, data.directory.name)
    m = run_measured(argv, cwd=REPO_ROOT, log_path=out_dir / "log.txt", timeout=timeout, env=env)
    result: dict[str, Any] = {
        "tool": tool,
        "status": m.status,
        "wall_seconds": m.wall_seconds,
        "cpu_seconds": m.cpu_seconds,
        "peak_rss_gib": m.peak_rss_bytes / GIB,
        "rss_method": m.rss_method,
    }
    if m.status != "ok":
        logger.warning("%s %s (exit %s); see %s", tool, m.status, m.exit_code, m.log_path)
        return result
    child = json.loads((out_dir / RESULT_FILE).read_text())
    result |= {
        "pairs_scored": child.get("pairs_scored"),
        "phases_seconds": child.get("phases"),
        "versions": child.get("versions"),
        **score_tool(data, out_dir, child),
        "notes": child.get("notes"),
    }
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.independent",
        description="pprl, Splink and recordlinkage on pseudopeople's sample data and FEBRL4.",
        epilog="Example: python -m benchmarks.independent --quick --tools pprl,recordlinkage",
    )
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated from {list(TASKS)}")
    p.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated from {TOOLS}")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"tasks {QUICK_TASKS} only, pseudopeople ones on a quarter of the households",
    )
    p.add_argument("--seed", type=int, default=0, help="pseudopeople noise seed and tool seeds")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    p.add_argument("--pseudopeople-python", default=None, help="interpreter with pseudopeople")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="cache (gitignored)")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON path")
    ns = p.parse_args(argv)
    ns.tools = [t.strip() for t in ns.tools.split(",") if t.strip()]
    tasks = [t.strip() for t in ns.tasks.split(",") if t.strip()]
    if ns.quick and ns.tasks == p.get_default("tasks"):
        tasks = list(QUICK_TASKS)
    unknown = [t for t in ns.tools if t not in TOOLS] + [t for t in tasks if t not in TASKS]
    if unknown or not ns.tools or not tasks:
        p.error(f"unknown tools or tasks {unknown}; tools {TOOLS}, tasks {list(TASKS)}")
    ns.tasks = tasks
    return ns


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # CLI edge only
    started = dt.datetime.now(dt.UTC)
    sources = ensure_sources(args.data_dir, args.seed, args.pseudopeople_python)
    results = []
    for name in args.tasks:
        data = build_task(TASKS[name], sources, args.data_dir, quick=args.quick, seed=args.seed)
        tools = [
            run_tool(
                tool,
                data,
                work_dir=args.data_dir / "runs",
                python=sys.executable,
                timeout=args.timeout,
                seed=args.seed,
            )
            for tool in args.tools
        ]
        results.append({"task": data.task.to_dict(), "meta": data.meta, "tools": tools})
        print(format_table(results[-1:]), flush=True)
    print("\nAll tasks (timings are of a shared, loaded machine: noisy)")
    print(format_table(results))
    payload = {
        "benchmark": "independent",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine_info(),
        "harness_versions": package_versions(),
        "sources": json.loads((sources / "sources.json").read_text()),
        "quick": args.quick,
        "seed": args.seed,
        "measurement": "one run per tool and task; whole child process wall, user+system CPU, "
        "peak RSS (GNU time); quality figures are deterministic given the seed",
        "tasks": results,
    }
    write_json(args.output, payload)
    print(f"results written to {args.output}")
    return 0
