"""The linkage stage alone at scale, pprl partitioned beside Splink in the same run.

Uses the linkage benchmark's data generator, runners, measurement and metrics
(:mod:`benchmarks.linkage`): each tool in a fresh interpreter, one after the other, measured
as a whole process (wall, CPU, peak RSS), scored against the generator's truth at pprl's
automatic threshold and at Splink's 0.5. Example::

    python -m benchmarks.scale_linkage --size 3000000 --partitions 8
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

from benchmarks.linkage.data import DEFAULT_DATA_DIR, Dataset, ensure_dataset
from benchmarks.linkage.harness import (
    REPO_ROOT,
    choose_python,
    git_commit,
    machine_info,
    run_tool,
    write_results,
)
from benchmarks.linkage.report import ToolRun, compare_with_peers, format_calibration, format_table
from benchmarks.linkage.runner_io import package_versions
from benchmarks.linkage.spec import BLOCKING_RULES, DEFAULT_THRESHOLD, LINK_FIELDS

logger = logging.getLogger(__name__)

PPRL_MODULE = "benchmarks.scale_linkage.run_pprl_partitioned"
#: The issue's target: pprl's wall time at most this fraction of Splink's.
WALL_TARGET = 0.3
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "scale_linkage_3m.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.scale_linkage",
        description="Linkage alone at scale: pprl partitioned vs Splink 5 (DuckDB).",
        epilog="Example: python -m benchmarks.scale_linkage --size 3000000 --partitions 8",
    )
    p.add_argument("--size", type=int, default=3_000_000, help="records per file (n x n)")
    p.add_argument("--tools", default="pprl,splink", help="comma-separated: pprl, splink")
    p.add_argument("--partitions", type=int, default=8, help="pprl partitions")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--workers", type=int, default=2, help="dask workers (--executor dask)")
    p.add_argument("--threads", type=int, default=2, help="DuckDB threads per pprl job")
    p.add_argument("--splink-memory-limit", default="8GB", metavar="SIZE")
    p.add_argument(
        "--splink-dob-em-with",
        default="",
        metavar="COLS",
        help="columns Splink's date-of-birth EM session also blocks on (default: dob alone, "
        "as its tutorials; at 3M x 3M that spills over 52 GB in training)",
    )
    p.add_argument(
        "--splink-predict-chunks",
        default="",
        metavar="LEFTxRIGHT",
        help="Splink's predict in chunks of each input (num_chunks_left/right), e.g. 4x2",
    )
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--timeout", type=float, default=7200.0, help="seconds per tool run")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ns = p.parse_args(argv)
    ns.tools = [t.strip() for t in ns.tools.split(",") if t.strip()]
    if not ns.tools or set(ns.tools) - {"pprl", "splink"}:
        p.error("--tools takes pprl and/or splink")
    return ns


def _pprl_args(args: argparse.Namespace) -> list[str]:
    return [
        "--partitions",
        str(args.partitions),
        "--executor",
        args.executor,
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]


def _splink_args(args: argparse.Namespace) -> list[str]:
    out = ["--dob-em-with", args.splink_dob_em_with] if args.splink_dob_em_with else []
    if args.splink_predict_chunks:
        out += ["--predict-chunks", args.splink_predict_chunks]
    return out


def _targets(runs: list[ToolRun]) -> dict[str, Any]:
    """pprl against Splink, with the issue's wall-time target."""
    found = compare_with_peers(runs).get("splink")
    if found is None:
        return {}
    found.pop("targets", None)
    ratio = found["wall_ratio"]
    met = ratio is not None and ratio <= WALL_TARGET
    found["targets"] = {f"wall <= {WALL_TARGET}x Splink": met}
    return found


def _payload(
    args: argparse.Namespace,
    argv: list[str] | None,
    dataset: Dataset,
    true_pairs: int,
    runs: list[ToolRun],
    comparison: dict[str, Any],
) -> dict[str, Any]:
    """The results file, less the start time and load taken before the runs."""
    return {
        "benchmark": "scale_linkage",
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": ["python", "-m", "benchmarks.scale_linkage", *(argv or sys.argv[1:])],
        "machine": machine_info(),
        "load_average_after": os.getloadavg(),
        "harness_versions": package_versions(),
        "seed": args.seed,
        "link_fields": list(LINK_FIELDS),
        "blocking_rules": [r.name for r in BLOCKING_RULES],
        "default_threshold": DEFAULT_THRESHOLD,
        "pprl_partitioning": {
            "partitions": args.partitions,
            "executor": args.executor,
            "workers": args.workers if args.executor == "dask" else None,
            "threads_per_job": args.threads,
        },
        "splink_memory_limit": args.splink_memory_limit,
        "splink_dob_em_block": "+".join(("dob", *filter(None, args.splink_dob_em_with.split(",")))),
        "splink_predict_chunks": args.splink_predict_chunks or None,
        "n_left": dataset.n_left,
        "n_right": dataset.n_right,
        "true_pairs": true_pairs,
        "tools": [r.to_dict() for r in runs],
        "pprl_vs_splink": comparison,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # CLI edge only
    started = dt.datetime.now(dt.UTC)
    load_before, commit = os.getloadavg(), git_commit()
    dataset = ensure_dataset(args.size, args.size, seed=args.seed, root=args.data_dir)
    truth = dataset.read_truth()
    runs = [
        run_tool(
            tool,
            dataset,
            truth,
            runs=1,
            python=choose_python(tool, {}),
            work_dir=args.data_dir / "runs_scale",
            timeout=args.timeout,
            seed=args.seed,
            memory_limit=args.splink_memory_limit if tool == "splink" else None,
            module=PPRL_MODULE if tool == "pprl" else None,
            extra_args=_pprl_args(args) if tool == "pprl" else _splink_args(args),
        )
        for tool in args.tools
    ]
    comparison = _targets(runs)
    print(format_table(runs))
    print(format_calibration(runs))
    if comparison:
        print(f"pprl/splink: {json.dumps(comparison)}")
    payload = _payload(args, argv, dataset, truth.height, runs, comparison)
    payload["started_utc"] = started.isoformat(timespec="seconds")
    payload["load_average_before"], payload["git_commit"] = load_before, commit
    write_results(args.output, payload)
    return 0
