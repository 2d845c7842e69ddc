"""Business linkage benchmark harness.

``python -m benchmarks.business --data hard`` runs the hard benchmark instead
(:mod:`benchmarks.business.hard_bench`: 300k register x 30k incoming by default).

``python -m benchmarks.business --register 1000000 --incoming 100000`` generates (or reuses)
the data, runs pprl (full: IDs then names; names: names only) and Splink (its business-rates
example approach) each in a fresh interpreter (Splink in ``.venv-bench``), measures whole-process
wall time and peak RSS, scores each tool's best candidate per incoming record against the
truth, and writes ``benchmarks/results/business.json``.

Scoring: a record counts as linked when the tool links it (pprl: a ``matched_*`` status;
Splink: best candidate with probability >= the threshold). Precision = correct links / links;
recall = correct links / records that truly are register enterprises; by method, recall is the
share of all true links that method found, so methods' recalls add up.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import polars as pl

from benchmarks.business.data import ensure_dataset
from benchmarks.linkage.measure import run_measured

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "business.json"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
MATCHED = ("matched_exact", "matched_probabilistic", "matched_clerical")


def _prf(linked: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float | int]:
    judged = linked.join(truth.rename({"entref": "true_entref"}), on="incoming_id", how="left")
    correct = int((judged["entref"] == judged["true_entref"]).fill_null(False).sum())
    p = correct / linked.height if linked.height else 0.0
    r = correct / truth.height if truth.height else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "linked": linked.height,
        "correct": correct,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
    }


def score_pprl(best: pl.DataFrame, truth: pl.DataFrame) -> dict[str, object]:
    linked = best.filter(pl.col("status").is_in(list(MATCHED)))
    by_method = {
        str(method): _prf(linked.filter(pl.col("method") == method), truth)
        for method in sorted(linked["method"].drop_nulls().unique().to_list())
    }
    statuses = {str(s): int(n) for s, n in best.group_by("status").len().sort("status").rows()}
    return {"overall": _prf(linked, truth), "by_method": by_method, "by_status": statuses}


def score_splink(best: pl.DataFrame, truth: pl.DataFrame) -> dict[str, object]:
    at = {f"p>={t}": _prf(best.filter(pl.col("match_probability") >= t), truth) for t in (0.5, 0.9)}
    sweep = [
        (t / 100, _prf(best.filter(pl.col("match_probability") >= t / 100), truth))
        for t in range(1, 100)
    ]
    best_t, best_m = max(sweep, key=lambda item: float(item[1]["f1"]))
    return {
        "overall": at["p>=0.9"],
        "at_thresholds": at,
        "best_threshold": {"threshold": best_t, **best_m},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--register", type=int, default=1_000_000)
    parser.add_argument("--incoming", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--tools", default="pprl-full,pprl-names,splink")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data, generation_seconds = ensure_dataset(args.register, args.incoming, args.seed)
    truth = pl.read_parquet(data / "truth.parquet")
    runs_dir = data / "runs"
    results: dict[str, object] = {}
    for tool in args.tools.split(","):
        out = runs_dir / tool
        if tool.startswith("pprl"):
            argv = [
                sys.executable,
                "-m",
                "benchmarks.business.run_pprl",
                "--data",
                str(data),
                "--out",
                str(out),
                "--mode",
                tool.split("-", 1)[1],
            ]
        else:
            python = str(BENCH_PYTHON) if BENCH_PYTHON.exists() else sys.executable
            argv = [
                python,
                "-m",
                "benchmarks.business.run_splink",
                "--data",
                str(data),
                "--out",
                str(out),
            ]
        logging.info("running %s", tool)
        measured = run_measured(argv, cwd=ROOT, log_path=out / "log.txt", timeout=args.timeout)
        entry: dict[str, object] = {
            "status": measured.status,
            "wall_seconds": round(measured.wall_seconds, 2),
            "peak_rss_gib": round(measured.peak_rss_bytes / 2**30, 3),
            "rss_method": measured.rss_method,
        }
        if measured.status == "ok":
            best = pl.read_parquet(out / "best.parquet").with_columns(
                pl.col("incoming_id").cast(pl.String), pl.col("entref").cast(pl.String)
            )
            entry["metrics"] = (score_pprl if tool.startswith("pprl") else score_splink)(
                best, truth
            )
            entry["runner"] = json.loads((out / "result.json").read_text())
        results[tool] = entry
        logging.info(
            "%s: %s", tool, json.dumps({k: v for k, v in entry.items() if k != "runner"})[:600]
        )
    ratios = {}
    if "splink" in results and isinstance(results["splink"], dict):
        splink = results["splink"]
        for tool, entry in results.items():
            if (
                tool != "splink"
                and isinstance(entry, dict)
                and entry["status"] == "ok"
                and splink["status"] == "ok"
            ):
                ratios[f"{tool}/splink"] = {
                    "wall": round(float(entry["wall_seconds"]) / float(splink["wall_seconds"]), 3),
                    "peak_rss": round(
                        float(entry["peak_rss_gib"]) / float(splink["peak_rss_gib"]), 3
                    ),
                }
    document = {
        "benchmark": "business linkage: incoming records to a business register",
        "data": {
            "register": args.register,
            "incoming": args.incoming,
            "seed": args.seed,
            "true_links": truth.height,
            "generator": "synthetic.businesses",
            "generation_seconds": round(generation_seconds, 1),
        },
        "scoring": __doc__.split("Scoring: ", 1)[1].strip(),
        "results": results,
        "ratios": ratios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    logging.info("wrote %s", args.output)


if __name__ == "__main__":
    if "--data" in sys.argv:
        from benchmarks.business.hard_bench import main as hard_main

        hard_main(sys.argv[1:])
    else:
        main()
