"""Benchmark: incremental linking against the registry, compared with re-linking the whole history.

    python -m benchmarks.incremental_agreement --rows 100000

The demo's synthetic sources (:func:`synthetic.write_demo_sources`, ``--rows`` people) are split
into files that arrive in three runs (hospital episodes in three files, the GP register in two).
Two projects with one keystore process the same runs, each in its own folder laid out the same
way (so a record has the same ``_uid`` in both): one links each batch with the registry records
sharing a key with it (the default), the other with every record of the registry
(``run_pipeline(..., whole_history=True)``). Their delivered ``person_id``s are compared record
by record, and each difference is put down to what the two routes decided:

* ``grouped_differently``: the record's people within its run (the records delivered with the
  same ``person_id``) are not the same in the two routes;
* ``history_differently``: grouped alike, but it joined a person of an earlier run in one route
  and not in the other, or joined different ones;
* ``unexplained``: neither, yet its ``person_id`` differs. New entities are named after their
  founding record (:mod:`pipeline.entities`), so this should be zero: a difference stays with
  the records whose linking differs.

Writes ``results/incremental_agreement.json``; ``tests/pipeline/test_incremental_link.py`` runs
the same comparison on a small dataset.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.linkage.harness import git_commit
from pipeline.atomic import write_text_atomic
from pipeline.commands.demo import ENVIRONMENT, MASTER_KEY_ENV, demo_config
from pipeline.config import load_config
from pipeline.runner import run_pipeline
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from synthetic import split_demo_sources, write_demo_sources

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "incremental_agreement.json"
BATCHES = (  # which files each run is given (a file once given stays)
    ("hospital/ep-0.csv", "gp/reg-0.parquet"),
    ("hospital/ep-1.csv", "gp/reg-1.parquet"),
    ("hospital/ep-2.csv",),
)


@dataclass(frozen=True)
class Delivery:
    """One run of one route: its manifest and each delivered record's ``person_id``, in
    delivery order (the same order in both routes), per source."""

    manifest: dict[str, Any]
    person_id: dict[str, pl.Series]
    seconds: float


def prepare(root: Path, rows: int, seed: int = 5) -> str:
    """The split demo sources (``root/split``) and a keystore (``root/keys``); returns its
    master key, for the environment variable the demo config reads."""
    written = write_demo_sources(root / "inputs", n=rows, seed=seed)
    (root / "split").mkdir()
    split_demo_sources(written.hospital_path.parent, root / "split")
    master = generate_master_key()
    Keystore.create(root / "keys", master=master).add_environment(ENVIRONMENT)
    return base64.b64encode(master.reveal()).decode()


def run_route(root: Path, name: str, *, whole_history: bool) -> list[Delivery]:
    """Every batch of :data:`BATCHES` in turn through a project in ``root/name``."""
    route = root / name
    config = demo_config(".", str(root / "keys"), "out")
    config["sources"][0]["path"] = "in/hospital/*.csv"  # type: ignore[index]
    config["sources"][1]["path"] = "in/gp/*.parquet"  # type: ignore[index]
    config["sources"][1]["allow_empty"] = True  # type: ignore[index]
    config["delivery"] = {"path": "out", "work_dir": "work"}
    config["disclosure"]["quasi_identifiers"] = []  # type: ignore[index]
    (route / "in" / "hospital").mkdir(parents=True)
    (route / "in" / "gp").mkdir()
    (route / "project.yaml").write_text(json.dumps(config), encoding="utf-8")
    runs = []
    with contextlib.chdir(route):
        for files in BATCHES:
            for f in files:
                (route / "in" / f).write_bytes((root / "split" / f).read_bytes())
            started = time.perf_counter()
            summary = run_pipeline(load_config(route / "project.yaml"), whole_history=whole_history)
            seconds = time.perf_counter() - started
            assert summary.delivery_dir is not None
            manifest = json.loads((summary.delivery_dir / "manifest.json").read_text("utf-8"))
            ids = {
                f.stem: pl.read_parquet(f, columns=["person_id"])["person_id"]
                for f in sorted(summary.delivery_dir.glob("*.parquet"))
                if f.name != "quarantine.parquet"
            }
            runs.append(Delivery(manifest, ids, seconds))
    return runs


def compare_run(
    mine: Delivery, theirs: Delivery, earlier: tuple[set[str], set[str]]
) -> dict[str, Any]:
    """Counts for one later run of the two routes (module docstring); ``earlier`` holds the
    ``person_id``s each route delivered in its runs before this one."""
    one = pl.concat([ids.alias("a") for ids in mine.person_id.values()])
    two = pl.concat([ids.alias("b") for ids in theirs.person_id.values()])
    records = pl.DataFrame([one, two]).with_row_index("record")
    # each record's fellow records within the run, as the smallest record number among them
    records = records.with_columns(
        pl.col("record").min().over("a").alias("group_a"),
        pl.col("record").min().over("b").alias("group_b"),
        pl.col("a").is_in(list(earlier[0])).alias("old_a"),
        pl.col("b").is_in(list(earlier[1])).alias("old_b"),
    )
    differ = records.filter(pl.col("a") != pl.col("b"))
    regrouped = pl.col("group_a") != pl.col("group_b")
    history = pl.col("old_a") | pl.col("old_b")
    return {
        "records": records.height,
        "same_person_id": records.height - differ.height,
        "different_person_id": differ.height,
        "grouped_differently": differ.filter(regrouped).height,
        "history_differently": differ.filter(~regrouped & history).height,
        "unexplained": differ.filter(~regrouped & ~history).height,
        "earlier_records": mine.manifest["linkage"]["entities"]["earlier_records"],
        "earlier_records_read": mine.manifest["linkage"]["entities"]["earlier_records_read"],
        "records_joining_earlier_entities": mine.manifest["linkage"]["entities"][
            "records_joining_earlier_entities"
        ],
    }


def compare(incremental: list[Delivery], whole: list[Delivery]) -> list[dict[str, Any]]:
    """:func:`compare_run` for every run after the first (the first has no history: the two
    routes are one), and the first run's agreement."""
    seen: tuple[set[str], set[str]] = (set(), set())
    out = []
    for n, (mine, theirs) in enumerate(zip(incremental, whole, strict=True)):
        figures = compare_run(mine, theirs, seen)
        out.append({"run": n + 1, **figures})
        for ids in mine.person_id.values():
            seen[0].update(ids.to_list())
        for ids in theirs.person_id.values():
            seen[1].update(ids.to_list())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="people in the demo sources")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pprl-incremental-agreement"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.work.exists() and any(args.work.iterdir()):
        parser.error(f"{args.work} is not empty")
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ[MASTER_KEY_ENV] = prepare(args.work, args.rows)
    incremental = run_route(args.work, "incremental", whole_history=False)
    whole = run_route(args.work, "whole", whole_history=True)
    runs = compare(incremental, whole)
    for run, mine, theirs in zip(runs, incremental, whole, strict=True):
        run["seconds"] = {"incremental": round(mine.seconds, 1), "whole": round(theirs.seconds, 1)}
    document = {
        "benchmark": "incremental_agreement",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rows": args.rows,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.output, json.dumps(document, indent=2) + "\n")
    print(
        f"{'run':>3} {'records':>8} {'same':>8} {'differ':>7} {'regroup':>7} {'history':>7} "
        f"{'unexpl':>6} {'inc s':>6} {'whole s':>7}"
    )
    for run in runs:
        print(
            f"{run['run']:>3} {run['records']:>8} {run['same_person_id']:>8} "
            f"{run['different_person_id']:>7} {run['grouped_differently']:>7} "
            f"{run['history_differently']:>7} {run['unexplained']:>6} "
            f"{run['seconds']['incremental']:>6} {run['seconds']['whole']:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
