"""Benchmark: keyed pseudonyms for 10M ten-digit IDs, Parquet -> Parquet, against stdlib HMAC.

Run:  python benchmarks/bench_pseudonymise.py [--rows 10000000] [--repeats 3]

* Generates N random ten-digit IDs to ``benchmarks/data/ids_<N>.parquet`` (cached, gitignored).
* End to end with our recipe: read Parquet, ``Pseudonymiser.pseudonymise``, write Parquet
  (atomically). Wall time per repeat; the median is reported.
* Baseline: stdlib ``hmac.digest`` per item (same key, same ``nhs:<id>`` messages) on a 1M
  sample, timed alone (no I/O, no encoding) and extrapolated linearly to N. That flatters the
  baseline: our figure includes reading, encoding and writing.
* Prints IDs/s for each, the ratio, IDs per CPU-second, the CPU/wall ratio of our run (2.0 means
  both cores busy), the load average (the machine is shared: other processes' load lowers our
  CPU/wall) and peak RSS; writes ``benchmarks/results/pseudonymise.json``.

The benchmark reaches for ``hmac`` directly only to time the peer; pprl code uses the recipe.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from pipeline.atomic import write_with_atomic  # noqa: E402
from pseudonym import tokens  # noqa: E402
from pseudonym.keys import generate_master_key  # noqa: E402
from pseudonym.keystore import Keystore  # noqa: E402
from pseudonym.tokens import Pseudonymiser, polars_hash_available  # noqa: E402

DATA = ROOT / "data"
RESULTS = ROOT / "results" / "pseudonymise.json"
BASELINE_SAMPLE = 1_000_000


def ids_file(rows: int) -> Path:
    """Random ten-digit IDs (leading zeros kept, as text), cached by row count."""
    path = DATA / f"ids_{rows}.parquet"
    if not path.exists():
        rng = np.random.default_rng(20261123)
        numbers = rng.integers(0, 10**10, size=rows, dtype=np.int64)
        frame = pl.DataFrame({"id": numbers}).select(pl.col("id").cast(pl.String).str.zfill(10))
        write_with_atomic(path, lambda p: frame.write_parquet(p))
    return path


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_recipe(
    pseudonymiser: Pseudonymiser, source: Path, target: Path
) -> tuple[float, float, float]:
    """(wall, our CPU, other processes' CPU) seconds for read -> pseudonymise -> write."""
    start, cpu, busy = time.perf_counter(), cpu_seconds(), machine_busy_seconds()
    frame = pl.read_parquet(source)
    out = frame.with_columns(pseudonymiser.pseudonymise("nhs", frame["id"]))
    write_with_atomic(
        target, lambda p: out.write_parquet(p, compression="zstd", compression_level=1)
    )
    wall, ours = time.perf_counter() - start, cpu_seconds() - cpu
    return wall, ours, max(0.0, machine_busy_seconds() - busy - ours)


def run_stdlib(key: bytes, values: list[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds for one hmac.digest per value."""
    start, cpu = time.perf_counter(), cpu_seconds()
    for value in values:
        hmac.digest(key, value, "sha256")
    return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    source = ids_file(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        keystore = Keystore.create(Path(tmp) / "ks", master=generate_master_key())
        keystore.add_environment("bench")
        pseudonymiser = Pseudonymiser.from_keystore(keystore, "bench")
        target = Path(tmp) / "out.parquet"
        recipe_runs = [run_recipe(pseudonymiser, source, target) for _ in range(args.repeats)]
        output_bytes = target.stat().st_size
        # Check the output against the independent scalar path on a few rows.
        written = pl.read_parquet(target).head(1000)
        assert all(
            pseudonymiser.pseudonymise_one("nhs", i) == t
            for i, t in zip(pl.read_parquet(source)["id"].head(1000), written["id"], strict=True)
        )

        key, _ = keystore.working_key("bench", "nhs")
        sample = pl.read_parquet(source)["id"].head(BASELINE_SAMPLE).to_list()
        messages = [f"nhs:{v}".encode() for v in sample]
        stdlib_runs = [run_stdlib(key.reveal().hex().encode(), messages) for _ in range(3)]

    recipe_times = [wall for wall, _, _ in recipe_runs]
    stdlib_times = [wall for wall, _ in stdlib_runs]
    recipe_s = statistics.median(recipe_times)
    stdlib_s = statistics.median(stdlib_times) * args.rows / len(messages)
    recipe_rate, stdlib_rate = args.rows / recipe_s, args.rows / stdlib_s
    # CPU seconds are steadier than wall time on a shared machine: report rates per CPU-second.
    recipe_cpu = statistics.median(cpu for _, cpu, _ in recipe_runs)
    # Cores other processes took while ours ran: near 0 on a quiet machine.
    others = [other / wall for wall, _, other in recipe_runs]
    stdlib_cpu = statistics.median(cpu for _, cpu in stdlib_runs) * args.rows / len(messages)
    load = os.getloadavg()
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "pseudonymise",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "polars": pl.__version__,
        },
        "rows": args.rows,
        "backend": pseudonymiser.backend,
        "chunk_rows": tokens._CHUNK_ROWS,
        "worker_threads": tokens._WORKERS,
        "polars_hash_available": polars_hash_available(),
        "recipe_end_to_end_seconds": [round(t, 3) for t in recipe_times],
        "recipe_end_to_end_median_seconds": round(recipe_s, 3),
        "recipe_ids_per_second": round(recipe_rate),
        "stdlib_hmac_sample_rows": len(messages),
        "stdlib_hmac_sample_seconds": [round(t, 3) for t in stdlib_times],
        "stdlib_hmac_extrapolated_seconds": round(stdlib_s, 3),
        "stdlib_hmac_ids_per_second": round(stdlib_rate),
        "speedup_vs_stdlib": round(recipe_rate / stdlib_rate, 2),
        "recipe_cpu_seconds_median": round(recipe_cpu, 3),
        "recipe_ids_per_cpu_second": round(args.rows / recipe_cpu),
        "recipe_cpu_per_wall": round(recipe_cpu / recipe_s, 2),
        "other_processes_cores_during_runs": [round(x, 2) for x in others],
        "stdlib_hmac_cpu_seconds_extrapolated": round(stdlib_cpu, 3),
        "stdlib_hmac_ids_per_cpu_second": round(args.rows / stdlib_cpu),
        "speedup_vs_stdlib_per_cpu_second": round(stdlib_cpu / recipe_cpu, 2),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "output_parquet_mib": round(output_bytes / 2**20, 1),
        "peak_rss_mib": round(peak_rss_mib),
        "target_ids_per_second": 2_000_000,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_with_atomic(RESULTS, lambda p: p.write_text(json.dumps(result, indent=2) + "\n"))
    print(f"rows                 {args.rows:,}")
    print(
        f"pprl recipe e2e      {recipe_rate / 1e6:.2f} M IDs/s  (median {recipe_s:.2f} s,"
        f" runs {', '.join(f'{t:.2f}' for t in recipe_times)})"
    )
    print(
        f"stdlib hmac.digest   {stdlib_rate / 1e6:.2f} M IDs/s  ({len(messages):,} sample,"
        f" extrapolated {stdlib_s:.1f} s)"
    )
    print(f"ratio (wall)         {recipe_rate / stdlib_rate:.1f}x")
    print(
        f"per CPU-second       pprl {args.rows / recipe_cpu / 1e6:.2f} M IDs/s,"
        f" stdlib {args.rows / stdlib_cpu / 1e6:.2f} M IDs/s,"
        f" ratio {stdlib_cpu / recipe_cpu:.1f}x"
    )
    print(f"CPU/wall (pprl)      {recipe_cpu / recipe_s:.2f}  (2.0 = both cores busy throughout)")
    print(
        f"other processes      {', '.join(f'{x:.2f}' for x in others)} cores busy during the runs"
    )
    print(f"load average         {load[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    print(f"output parquet       {output_bytes / 2**20:.0f} MiB")
    print(f"peak RSS             {peak_rss_mib:.0f} MiB")
    print(f"results              {RESULTS.relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main()
