"""Benchmark: the whole ``pprl run`` pipeline on N + N records, local vs dask executor (issue 5).

Run:  python benchmarks/bench_pipeline.py [--rows 1000000] [--executors local,dask]

* Data: :func:`synthetic.write_demo_sources` (messy hospital CSV + GP Parquet about
  the same fictitious people, 80% overlap). It writes ``0.8 n`` hospital rows and ``n`` GP rows,
  so it is asked for ``n = rows / 0.8`` and the GP file is cut to ``rows``: both sources then
  hold ``rows`` records. Cached in ``benchmarks/data/pipeline_<rows>/`` (gitignored).
* Config: the demo's sources and disclosure settings, with compound blocking rules so the
  candidate pair count stays sane at 1M (``date_of_birth & postcode``,
  ``surname & date_of_birth``, ``first_name & surname & postcode``), and a fresh keystore whose
  master key reaches the child only through ``PPRL_MASTER_KEY`` in its environment.
* Each executor runs ``pprl run CONFIG --executor X --all`` as its own child process, one at a
  time, against an empty delivery folder. Measured: whole-process wall time; peak RSS of the
  child (``os.wait4`` rusage) and of its whole process tree (psutil, sampled every 0.1 s);
  per-stage seconds from the run manifest's ``stage_seconds``.
* ``--increment N``: then the scheduled-ingest case, with the local executor: a first run
  over the same data, and a second run given only a new file of ``N`` hospital episodes (the
  last ``N`` rows again, as new episodes of known patients), which links against every
  record of the first run (the entity registry). Both runs are measured as above.
* Prints a table and writes ``benchmarks/results/pipeline.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psutil  # type: ignore[import-untyped]  # installed with distributed
import yaml

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from pipeline.atomic import write_text_atomic, write_with_atomic  # noqa: E402
from pipeline.commands.demo import ENVIRONMENT, demo_config  # noqa: E402
from pseudonym.keys import encode_master_key, generate_master_key  # noqa: E402
from pseudonym.keystore import Keystore  # noqa: E402
from synthetic import write_demo_sources  # noqa: E402

DATA = ROOT / "data"
RESULTS = ROOT / "results" / "pipeline.json"
SEED = 20261123
BLOCKING = [
    "date_of_birth & postcode",
    "surname & date_of_birth",
    "first_name & surname & postcode",
]
MASTER_KEY_ENV = "PPRL_MASTER_KEY"
STAGES = ["ingest", "link", "pseudonymise", "deidentify", "deliver"]


def sources(rows: int) -> Path:
    """Input folder with ``rows`` hospital (CSV) and ``rows`` GP (Parquet) records, cached."""
    folder = DATA / f"pipeline_{rows}_seed{SEED}"
    done = folder / ".complete"
    if not done.exists():
        written = write_demo_sources(folder, n=round(rows / 0.8), seed=SEED)
        gp = pl.read_parquet(written.gp_path).head(rows)
        write_with_atomic(written.gp_path, gp.write_parquet)
        done.write_text(f"hospital={written.hospital_rows} gp={gp.height}\n", encoding="utf-8")
    return folder


def workspace(inputs: Path, name: str) -> tuple[Path, dict[str, str]]:
    """Config, keystore, empty delivery, work and state folders for one run; the child's
    environment.

    The config sits in the input folder: the runner records input paths relative to it.
    """
    base = inputs / f"run-{name}"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    master = generate_master_key()
    Keystore.create(base / "keystore", master=master).add_environment(ENVIRONMENT)
    config = demo_config(".", f"{base.name}/keystore", f"{base.name}/delivery")
    config["keystore"] = {"path": f"{base.name}/keystore", "master_key_env": MASTER_KEY_ENV}
    config["delivery"] = {
        "path": f"{base.name}/delivery",
        "work_dir": f"{base.name}/work",
        "state_dir": f"{base.name}/state",  # emptied with the rest, so each run starts afresh
    }
    linkage = config["linkage"]
    assert isinstance(linkage, dict)
    linkage["blocking"] = BLOCKING
    write_text_atomic(inputs / f"{name}.yaml", yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, MASTER_KEY_ENV: encode_master_key(master)}
    return base, env


def _tree_rss(process: psutil.Process) -> tuple[int, list[int]]:
    """RSS of ``process`` and of each of its descendants (dask worker processes)."""
    own = process.memory_info().rss
    children = []
    for p in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            children.append(p.memory_info().rss)
    return own, children


def run_child(
    base: Path,
    env: dict[str, str],
    executor: str,
    timeout: float,
    *,
    config: str | None = None,
    every_file: bool = True,
    timeline: list[tuple[float, int]] | None = None,
    extra_args: Sequence[str] = (),
    split_timeline: list[tuple[float, int, int]] | None = None,
) -> dict[str, Any]:
    """One ``pprl run`` child: wall time, peak RSS (child and tree), stage seconds.

    ``config`` names the config file in the input folder (default: the executor's name);
    ``every_file`` passes ``--all``; ``timeline`` receives each sample of the tree's RSS
    (epoch seconds, bytes), ``split_timeline`` the same samples as (epoch seconds, the child's
    own RSS, its descendants' summed); ``extra_args`` are added to the ``pprl run`` command
    line. The peaks of the child alone and of its descendants (the dask executor's worker processes:
    their sum, and the largest one) are reported beside the tree's.
    """
    path = base.parent / f"{config or executor}.yaml"
    command = [sys.executable, "-m", "pipeline.cli", "run", str(path), "--executor", executor]
    command += ["--all"] if every_file else []
    command += list(extra_args)
    log = open(base / "run.log", "wb")  # noqa: SIM115 - closed below, after the child ends
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base)
    peaks = {"tree": 0, "client": 0, "children": 0, "largest_child": 0}
    stop = threading.Event()

    def sample() -> None:
        proc = psutil.Process(child.pid)
        while not stop.is_set():
            try:
                own, children = _tree_rss(proc)
            except psutil.Error:
                return
            rss = own + sum(children)
            for name, value in zip(
                peaks, (rss, own, sum(children), max(children, default=0)), strict=True
            ):
                peaks[name] = max(peaks[name], value)
            now = time.time()
            if timeline is not None:
                timeline.append((now, rss))
            if split_timeline is not None:
                split_timeline.append((now, own, sum(children)))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline = start + timeout
    status, usage = 0, None
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            child.kill()
            _, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    log.close()
    child.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    result: dict[str, Any] = {
        "executor": executor,
        "exit_code": child.returncode,
        "timed_out": wall > timeout,
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "peak_tree_rss_mib": round(peaks["tree"] / 2**20, 1),
        "peak_sampled_child_rss_mib": round(peaks["client"] / 2**20, 1),
        "peak_descendants_rss_mib": round(peaks["children"] / 2**20, 1),
        "peak_largest_descendant_rss_mib": round(peaks["largest_child"] / 2**20, 1),
    }
    manifests = list((base / "delivery").glob("run-*/manifest.json"))
    if manifests:
        newest = max(manifests, key=lambda m: m.stat().st_mtime)
        manifest = json.loads(newest.read_text(encoding="utf-8"))
        result["stage_seconds"] = manifest.get("stage_seconds", {})
        result["totals"] = manifest["totals"]
        result["pairs_scored"] = manifest["linkage"]["pairs_scored"]
        result["entities"] = manifest["linkage"].get("entities", {})
        result["outputs"] = manifest["outputs"]
    return result


def incremental(inputs: Path, increment: int, timeout: float) -> list[dict[str, Any]]:
    """The scheduled-ingest case (module docstring): the first run, then the increment."""
    base, env = workspace(inputs, "incremental")
    config = inputs / "incremental.yaml"
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["sources"][0]["path"] = f"{base.name}/hospital/*.csv"
    write_text_atomic(config, yaml.safe_dump(doc, sort_keys=False))
    (base / "hospital").mkdir()
    episodes = inputs / "hospital_episodes.csv"
    shutil.copy(episodes, base / "hospital" / "episodes-1.csv")
    first = run_child(base, env, "local", timeout, config="incremental", every_file=False)
    first["run"] = "first"
    later = pl.read_csv(episodes, infer_schema=False, encoding="utf8-lossy").tail(increment)
    later.write_csv(base / "hospital" / "episodes-2.csv")
    second = run_child(base, env, "local", timeout, config="incremental", every_file=False)
    second["run"] = f"increment of {increment:,} hospital rows"
    return [first, second]


def print_table(rows: int, results: list[dict[str, Any]]) -> None:
    print(f"\npprl run, {rows:,} + {rows:,} records")
    header = f"{'executor':<8} {'exit':>4} {'wall s':>8} {'RSS MiB':>8} {'tree MiB':>8}  "
    print(header + "  ".join(f"{s:>12}" for s in STAGES))
    for r in results:
        stages = r.get("stage_seconds", {})
        print(
            f"{r['executor']:<8} {r['exit_code']:>4} {r['wall_seconds']:>8.1f} "
            f"{r['peak_rss_mib']:>8.0f} {r['peak_tree_rss_mib']:>8.0f}  "
            + "  ".join(f"{stages.get(s, float('nan')):>12.1f}" for s in STAGES)
        )
    for r in results:
        if "totals" in r:
            t = r["totals"]
            print(
                f"{r['executor']}: {t['input_rows']:,} rows in, {t['delivered']:,} delivered, "
                f"{t['quarantined']:,} quarantined, {t['linked']:,} linked, "
                f"{r['pairs_scored']:,} pairs scored"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records per source")
    parser.add_argument("--executors", default="local,dask", help="comma-separated")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument(
        "--increment",
        type=int,
        default=0,
        metavar="N",
        help="then a scheduled-ingest run with N new hospital rows (local)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    inputs = sources(args.rows)
    print(f"data ready in {time.perf_counter() - start:.1f} s: {inputs}")
    results = []
    for executor in args.executors.split(","):
        base, env = workspace(inputs, executor)
        results.append(run_child(base, env, executor, args.timeout))
        print(json.dumps(results[-1]), flush=True)
    print_table(args.rows, results)
    increments = incremental(inputs, args.increment, args.timeout) if args.increment else []
    for r in increments:
        print(
            f"incremental, {r['run']}: wall {r['wall_seconds']:.1f} s, peak RSS "
            f"{r['peak_rss_mib']:.0f} MiB, link {r.get('stage_seconds', {}).get('link', 0):.1f}"
            f" s, entities {r.get('entities')}"
        )
    document = {
        "benchmark": "pipeline",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rows_per_source": args.rows,
        "blocking": BLOCKING,
        "results": results,
        "incremental": increments,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.output, json.dumps(document, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 for r in results + increments) else 1


if __name__ == "__main__":
    raise SystemExit(main())
