"""Benchmark: k-anonymity check and local suppression on a generated 1M-row extract, 5 QIs.

Run:  python benchmarks/bench_kanon.py [--rows 1000000] [--k 5]

* Generates N synthetic records with five quasi-identifiers drawn from skewed distributions
  (year of birth 1925-2024, sex, ONS region, ethnic group (5), marital status (4)), with 1% of
  ethnic group and 0.5% of marital status missing (missing matches anything).
* Times ``frequency_counts`` (fk for every record, sdcMicro semantics) and ``local_suppression``
  (to k-anonymity, no budget), each in the same process; reports records unsafe before and
  after, suppressions per variable, wall time, and peak RSS of the process.
* Writes ``benchmarks/results/kanon.json``. No peer is run here (sdcMicro is R-only).
"""

from __future__ import annotations

import argparse
import json
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
from pipeline.disclosure.kanon import frequency_counts, local_suppression  # noqa: E402

RESULTS = ROOT / "results" / "kanon.json"
QIS = ["yob", "sex", "region", "ethnicity", "marital"]
REGIONS = ["NE", "NW", "YH", "EM", "WM", "EE", "LN", "SE", "SW", "WA", "SC", "NI"]


def extract(rows: int, seed: int = 20261123) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.arange(1925, 2025)
    weights = np.exp(-(((years - 1975) / 25.0) ** 2))
    ethnicity = rng.choice(5, rows, p=[0.8, 0.08, 0.05, 0.04, 0.03]).astype(float)
    ethnicity[rng.random(rows) < 0.01] = np.nan
    marital = rng.choice(4, rows, p=[0.45, 0.35, 0.12, 0.08]).astype(float)
    marital[rng.random(rows) < 0.005] = np.nan
    region_p = np.array([4, 11, 8, 7, 9, 9, 13, 14, 9, 5, 8, 3], dtype=float)
    return pl.DataFrame(
        {
            "yob": rng.choice(years, rows, p=weights / weights.sum()),
            "sex": rng.choice(["F", "M"], rows),
            "region": rng.choice(REGIONS, rows, p=region_p / region_p.sum()),
            "ethnicity": pl.Series(ethnicity).fill_nan(None).cast(pl.Int8),
            "marital": pl.Series(marital).fill_nan(None).cast(pl.Int8),
        }
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    df = extract(args.rows)

    start = time.perf_counter()
    counted = frequency_counts(df, QIS)
    check_s = time.perf_counter() - start
    unsafe_before = int((counted["fk"] < args.k).sum())

    start = time.perf_counter()
    treated, per_variable, touched = local_suppression(df, QIS, args.k)
    suppress_s = time.perf_counter() - start

    start = time.perf_counter()
    unsafe_after = int((frequency_counts(treated, QIS)["fk"] < args.k).sum())
    recheck_s = time.perf_counter() - start

    result = {
        "benchmark": "kanon",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "rows": args.rows,
        "quasi_identifiers": QIS,
        "k": args.k,
        "distinct_combinations": df.select(QIS).n_unique(),
        "unsafe_before": unsafe_before,
        "unsafe_after": unsafe_after,
        "records_suppressed": touched,
        "suppressed_per_variable": per_variable,
        "check_seconds": round(check_s, 2),
        "local_suppression_seconds": round(suppress_s, 2),
        "recheck_seconds": round(recheck_s, 2),
        "check_plus_suppression_seconds": round(check_s + suppress_s, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    print(json.dumps(result, indent=2))
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
