"""``pprl link-register``'s match threshold on the seen business data (blind and hard): F1 with
identifiers, names-only recall and sister links for one threshold setting, and how well the
model's probabilities are calibrated.

    python -m benchmarks.business.threshold_check --blind DIR --hard DIR --out runs \\
        [--label auto] [-- --match-threshold 0.9]

Everything after ``--`` is passed to ``pprl link-register`` (default: its own defaults).
Calibration: the probabilistic links binned by their exclusive probability, the model's mean
probability against the share that is right. Run with ``--match-threshold 0.5`` to see every
link the model would make from 0.5 up; the F1 of any cut above it is then read off the same
run (``sweep``). Prints one JSON document; scoring is the harnesses' own
(:mod:`benchmarks.blind_business.score`, :mod:`benchmarks.business.hard_score`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from benchmarks.blind_business.score import Truth, score_links
from benchmarks.business.hard_bench import ENVIRONMENT, Scorer, make_keystore, token_map

ROOT = Path(__file__).resolve().parents[2]
MATCHED = ("matched_exact", "matched_probabilistic", "matched_clerical")
BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.99)
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: incoming files (with identifiers, names only) and the key column of each dataset
INPUTS = {
    "blind": ("incoming_ids.csv", "incoming_names.csv"),
    "hard": ("incoming.parquet", "incoming_names.parquet"),
}


def run(data: Path, incoming: str, out: Path, keys: tuple[Path, str], extra: list[str]) -> None:
    argv = [
        sys.executable, "-m", "pipeline.cli", "link-register", "--keystore", str(keys[0]),
        "--env", ENVIRONMENT, "--register", str(data / "register.parquet"),
        "--input", str(data / incoming), "--key-column", "incoming_id",
        "--out", str(out), *extra,
    ]  # fmt: skip
    if incoming.endswith(".csv"):  # the blind data's incoming files have trading names
        argv += ["--trading-name-column", "trading_name"]
    env = {**os.environ, "PPRL_MASTER_KEY": keys[1], "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")


def links(out: Path, tokens: pl.DataFrame) -> pl.DataFrame:
    """``incoming_id, entref, status, match_probability`` of every linked record."""
    results = pl.read_csv(out / "results.csv", infer_schema=False)
    return (
        results.filter(pl.col("status").is_in(MATCHED))
        .join(tokens, on="entref_pseudonym", how="left")
        .select("incoming_id", "entref", "status", pl.col("match_probability").cast(pl.Float64))
    )


def calibration(judged: pl.DataFrame) -> list[dict[str, object]]:
    """Probabilistic links (``match_probability``, ``ok``) per probability bin."""
    probabilistic = judged.filter(pl.col("status") == "matched_probabilistic")
    rows = []
    edges = (*BINS, 1.01)
    for low, high in itertools.pairwise(edges):
        group = probabilistic.filter(
            (pl.col("match_probability") >= low) & (pl.col("match_probability") < high)
        )
        if group.height:
            rows.append(
                {
                    "bin": f"{low:g}-{min(high, 1.0):g}",
                    "links": group.height,
                    "mean_p": round(float(group["match_probability"].mean()), 4),  # type: ignore[arg-type]
                    "precision": round(float(group["ok"].mean()), 4),  # type: ignore[arg-type]
                }
            )
    return rows


def score(name: str, data: Path, linked: pl.DataFrame) -> dict[str, object]:
    """Precision, recall, F1 and sister links (% of incoming) by the dataset's own harness."""
    pairs = linked.select("incoming_id", "entref")
    if name == "blind":
        return score_links(pairs, Truth.load(data)).as_dict()
    overall = Scorer(data).score(pairs)["overall"]
    assert isinstance(overall, dict)
    keep = ("linked", "correct", "true_links", "precision", "recall", "f1")
    share = 100 * float(overall["sister_wrong_share_of_incoming"])
    return {k: overall[k] for k in keep} | {"sister_links_pct_of_incoming": round(share, 4)}


def judged(name: str, data: Path, linked: pl.DataFrame) -> pl.DataFrame:
    """``linked`` with ``ok``: the link is to the record's true company."""
    if name == "blind":
        truth = Truth.load(data).records.select("incoming_id", "true_entref")
    else:
        truth = pl.read_parquet(data / "truth.parquet").select(
            "incoming_id", pl.col("entref").alias("true_entref")
        )
    return linked.join(truth, on="incoming_id", how="left").with_columns(
        (pl.col("entref") == pl.col("true_entref")).fill_null(False).alias("ok")
    )


def check(
    name: str, data: Path, out: Path, extra: list[str], kinds: list[str]
) -> dict[str, object]:
    keys = make_keystore(out)
    tokens = token_map(*keys, pl.read_parquet(data / "register.parquet")["entref"])
    entry: dict[str, object] = {}
    for kind, incoming in zip(("ids", "names_only"), INPUTS[name], strict=True):
        if kind not in kinds:
            continue
        run(data, incoming, out / kind, keys, extra)
        linked = links(out / kind, tokens)
        manifest = json.loads((out / kind / "manifest.json").read_text())
        entry[kind] = {
            "score": score(name, data, linked),
            "by_status": manifest["counts"],
            "threshold": manifest["facts"].get("threshold", manifest["settings"]),
        }
        if kind == "ids":
            verdicts = judged(name, data, linked)
            entry["calibration"] = calibration(verdicts)
            exact = linked.filter(pl.col("status") != "matched_probabilistic")
            entry["sweep"] = {
                str(t): score(name, data, pl.concat([exact, linked.filter(above(t))]))
                for t in SWEEP
            }
    return entry


def above(t: float) -> pl.Expr:
    return (pl.col("status") == "matched_probabilistic") & (pl.col("match_probability") >= t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blind", type=Path, required=True)
    parser.add_argument("--hard", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--label", default="default")
    parser.add_argument("--datasets", default="blind,hard", help="comma-separated")
    parser.add_argument("--inputs", default="ids,names_only", help="comma-separated")
    parser.add_argument("extra", nargs="*", help="options for pprl link-register, after --")
    args = parser.parse_args(argv)
    kinds = args.inputs.split(",")
    result = {
        name: check(name, data, args.out / args.label / name, args.extra, kinds)
        for name, data in (("blind", args.blind), ("hard", args.hard))
        if name in args.datasets.split(",")
    }
    print(json.dumps({"label": args.label, "options": args.extra, **result}, indent=1))


if __name__ == "__main__":
    main()
