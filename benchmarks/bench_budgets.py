"""Benchmark: time budgets that used to be wall-clock assertions in the tests.

Run:  python benchmarks/bench_budgets.py [--leak-rows 300000] [--persons 1000000]

* **Leak check at pipeline scale**: ``pipeline.disclosure.leak_check`` of a generated extract
  of N rows (two pseudonym-like text columns, an age band, an income) against 2N identifying
  values (N ten-digit numbers, N three-word names). Budget: 15 s for 300,000 rows (the old
  test's limit; 1M rows x 2M values took ~7 s on the shared 2-core machine). The extract holds
  no identifier, so the check must pass; a planted leak is then checked to be found.
* **Person generation**: ``synthetic.generate_persons(N)``. Budget: 1M people in 60 s.
* Budgets scale linearly for other sizes. Prints both figures and writes
  ``benchmarks/results/budgets.json`` with the load average (the machine is shared: a figure
  over budget under load is a reason to rerun, not a bug). The tests keep the behaviour (the
  same checks on small inputs) without timing it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from pipeline.atomic import write_text_atomic  # noqa: E402
from pipeline.disclosure import IdentifierLeak, leak_check  # noqa: E402
from synthetic import generate_persons  # noqa: E402

RESULTS = ROOT / "results" / "budgets.json"
LEAK_BUDGET = (300_000, 15.0)  # rows, seconds
PERSONS_BUDGET = (1_000_000, 60.0)  # people, seconds


def leak_inputs(rows: int, seed: int = 5) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """A clean extract of ``rows`` rows and ``2 * rows`` identifying values (the old test's)."""
    rng = np.random.default_rng(seed)
    nhs = pl.Series(rng.integers(10**9, 10**10, rows)).cast(pl.String)
    names = pl.Series([f"Person {i} Example" for i in range(rows)])
    extract = pl.DataFrame(
        {
            "pid": pl.Series(rng.integers(0, 2**62, rows)).cast(pl.String).str.pad_start(20, "q"),
            "token": "pid_" + pl.Series(rng.integers(0, 2**62, rows)).cast(pl.String),
            "age_band": pl.Series(rng.choice(["0-15", "16-24", "25-34"], rows)),
            "income": pl.Series(rng.integers(0, 10**5, rows)),
        }
    )
    return extract, {"nhs": nhs, "name": names}


def time_leak_check(rows: int) -> dict[str, object]:
    extract, sources = leak_inputs(rows)
    start = time.perf_counter()
    leak_check(extract, sources)
    seconds = time.perf_counter() - start
    planted = extract.with_columns(
        pl.Series("note", ["seen PERSON 17 example"] + ["-"] * (rows - 1))
    )
    try:
        leak_check(planted, sources)
    except IdentifierLeak as leak:
        found = leak.leaks == [("note", "name", 1)]
    else:
        found = False
    budget = LEAK_BUDGET[1] * rows / LEAK_BUDGET[0]
    return {
        "rows": rows,
        "identifying_values": 2 * rows,
        "seconds": round(seconds, 2),
        "budget_seconds": round(budget, 2),
        "within_budget": seconds <= budget,
        "planted_leak_found": found,
    }


def time_generation(people: int) -> dict[str, object]:
    start = time.perf_counter()
    frame = generate_persons(people, seed=13)
    seconds = time.perf_counter() - start
    budget = PERSONS_BUDGET[1] * people / PERSONS_BUDGET[0]
    return {
        "people": frame.height,
        "seconds": round(seconds, 2),
        "people_per_second": round(frame.height / seconds),
        "budget_seconds": round(budget, 2),
        "within_budget": seconds <= budget,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leak-rows", type=int, default=LEAK_BUDGET[0])
    parser.add_argument("--persons", type=int, default=PERSONS_BUDGET[0])
    args = parser.parse_args()
    load_before = os.getloadavg()
    result = {
        "benchmark": "budgets",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_before": [round(x, 2) for x in load_before],
        "leak_check": time_leak_check(args.leak_rows),
        "generate_persons": time_generation(args.persons),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
