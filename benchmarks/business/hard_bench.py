"""The hard business benchmark: ``python -m benchmarks.business --data hard``.

Generates (or reuses) the hard dataset (:mod:`benchmarks.business.hard`), then runs each tool in
a fresh process, measuring whole-process wall time, CPU time and peak RSS
(:func:`benchmarks.linkage.measure.run_measured`):

* ``pprl-full``: ``python -m pipeline.cli link-register`` (the command line, so the benchmark
  does not depend on the library's internals) on the register and the incoming file: IDs first,
  then name/postcode/address;
* ``pprl-names``: the same on a copy of the incoming file without its crn/vat/paye columns;
* ``splink`` / ``splink-em``: Splink's business-rates example model (``run_splink``) with
  Splink's default m / with m trained by EM, names, postcode and address only.

Splink runs names only; ``splink+ids`` and ``splink-em+ids`` put the same ID pass first: records
that pprl-full linked on an identifier (``matched_exact``) keep that link, the rest take Splink's
best candidate. Their times are Splink's own (the ID pass is a small part of pprl-full's).
Scoring and error kinds: :mod:`benchmarks.business.hard_score`. Splink links at p >= 0.9
(pprl's match threshold); its best threshold with hindsight is reported too.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import polars as pl

from benchmarks.business.hard.dataset import ensure_hard_dataset
from benchmarks.business.hard_score import GROUPS, crn_conflicts, judge, metrics
from benchmarks.linkage.measure import run_measured

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "business_hard.json"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
MATCHED = ("matched_exact", "matched_probabilistic", "matched_clerical")
ENVIRONMENT = "bench"
DEFAULT_TOOLS = "pprl-full,pprl-names,splink,splink-em"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, prog="python -m benchmarks.business")
    parser.add_argument("--data", choices=["hard"], default="hard")
    parser.add_argument("--register", type=int, default=300_000)
    parser.add_argument("--incoming", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--tools", default=DEFAULT_TOOLS)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def make_keystore(runs: Path) -> tuple[Path, str]:
    """A throw-away keystore with a random master key (the CLI needs one to pseudonymise)."""
    from pseudonym.keystore import Keystore
    from pseudonym.secret import Secret

    directory = runs / "keystore"
    shutil.rmtree(directory, ignore_errors=True)
    master = os.urandom(32)
    Keystore.create(directory, master=Secret(master)).add_environment(ENVIRONMENT)
    return directory, base64.b64encode(master).decode()


def token_map(keystore: Path, master_b64: str, entrefs: pl.Series) -> pl.DataFrame:
    """``entref_pseudonym -> entref`` for the register, to read the CLI's pseudonymised output."""
    from pseudonym.keystore import Keystore
    from pseudonym.secret import Secret
    from pseudonym.tokens import Pseudonymiser

    store = Keystore.open(keystore, master=Secret(base64.b64decode(master_b64)))
    tokens = Pseudonymiser.from_keystore(store, ENVIRONMENT).pseudonymise("entref", entrefs)
    return pl.DataFrame({"entref_pseudonym": tokens, "entref": entrefs})


def tool_argv(tool: str, data: Path, out: Path, keystore: Path) -> list[str]:
    if tool.startswith("pprl"):
        incoming = data / ("incoming.parquet" if tool == "pprl-full" else "incoming_names.parquet")
        return [
            sys.executable, "-m", "pipeline.cli", "link-register", "--keystore", str(keystore),
            "--env", ENVIRONMENT, "--register", str(data / "register.parquet"),
            "--input", str(incoming), "--key-column", "incoming_id", "--out", str(out),
        ]  # fmt: skip
    python = str(BENCH_PYTHON) if BENCH_PYTHON.exists() else sys.executable
    training = "em" if tool == "splink-em" else "default"
    return [
        python, "-m", "benchmarks.business.run_splink", "--data", str(data), "--out", str(out),
        "--m-training", training,
    ]  # fmt: skip


def pprl_links(out: Path, tokens: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Linked records (``incoming_id, entref, status, method``) and every record's status."""
    results = pl.read_csv(out / "results.csv", infer_schema=False)
    linked = results.filter(pl.col("status").is_in(list(MATCHED))).join(
        tokens, on="entref_pseudonym", how="left"
    )
    return linked.select("incoming_id", "entref", "status", "method"), results


def statuses_by_group(results: pl.DataFrame, truth: pl.DataFrame) -> dict[str, dict[str, int]]:
    """pprl's status counts over all records and within each record group (where the records
    it did not link went: review, ambiguous, not_found)."""
    # The truth has a "status" column of its own (the company's): pprl's is "link_status".
    linked = results.select("incoming_id", link_status="status")
    joined = truth.join(linked, on="incoming_id", how="left")
    groups = {"all": pl.lit(True), **GROUPS}
    return {
        name: dict(joined.filter(expr).group_by("link_status").len().sort("link_status").rows())
        for name, expr in groups.items()
    }


def splink_links(out: Path, threshold: float) -> pl.DataFrame:
    best = pl.read_parquet(out / "best.parquet").with_columns(
        pl.col("incoming_id").cast(pl.String), pl.col("entref").cast(pl.String)
    )
    return best.filter(pl.col("match_probability") >= threshold)


class Scorer:
    """Judges one tool's links against the dataset's truth."""

    def __init__(self, data: Path) -> None:
        self.truth = pl.read_parquet(data / "truth.parquet")
        self.register_truth = pl.read_parquet(data / "register_truth.parquet")
        self.incoming = pl.read_parquet(data / "incoming.parquet")
        self.register = pl.read_parquet(data / "register.parquet", columns=["entref", "crn"])

    def score(self, links: pl.DataFrame) -> dict[str, object]:
        links = links.select("incoming_id", "entref")
        conflicts = crn_conflicts(self.incoming, self.register, links)
        return metrics(judge(links, self.truth, self.register_truth, conflicts))

    def best_threshold(self, out: Path) -> dict[str, object]:
        """Splink's scores at thresholds 0.01, 0.02, 0.05, 0.10 ... 0.95; the best F1, with
        hindsight."""
        best = splink_links(out, 0.0)
        sweep: list[tuple[float, dict[str, object]]] = []
        for threshold in (0.01, 0.02, *(t / 100 for t in range(5, 100, 5))):
            scored = self.score(best.filter(pl.col("match_probability") >= threshold))
            sweep.append((threshold, scored["overall"]))  # type: ignore[arg-type]
        threshold, overall = max(sweep, key=lambda item: float(item[1]["f1"]))  # type: ignore[arg-type]
        return {"threshold": threshold, **overall}


def run_tool(
    tool: str, data: Path, keystore: tuple[Path, str], args: argparse.Namespace
) -> tuple[dict[str, object], Path]:
    out = data / "runs" / tool
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PPRL_MASTER_KEY": keystore[1], "PYTHONPATH": str(ROOT)}
    logging.info("running %s", tool)
    measured = run_measured(
        tool_argv(tool, data, out, keystore[0]),
        cwd=ROOT,
        log_path=data / "runs" / f"{tool}.log",
        timeout=args.timeout,
        env=env,
    )
    entry: dict[str, object] = {
        "status": measured.status,
        "wall_seconds": round(measured.wall_seconds, 2),
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "peak_rss_gib": round(measured.peak_rss_bytes / 2**30, 3),
        "rss_method": measured.rss_method,
    }
    return entry, out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data, generation_seconds = ensure_hard_dataset(args.register, args.incoming, args.seed)
    incoming = pl.read_parquet(data / "incoming.parquet")
    incoming.drop("crn", "vat", "paye").write_parquet(data / "incoming_names.parquet")
    keystore = make_keystore(data / "runs")
    scorer = Scorer(data)
    tokens = token_map(*keystore, scorer.register["entref"])
    results: dict[str, dict[str, object]] = {}
    id_pass: pl.DataFrame | None = None
    for tool in args.tools.split(","):
        entry, out = run_tool(tool, data, keystore, args)
        if entry["status"] == "ok" and tool.startswith("pprl"):
            links, statuses = pprl_links(out, tokens)
            entry["statuses"] = statuses_by_group(statuses, scorer.truth)
            entry["metrics"] = scorer.score(links)
            entry["by_method"] = {
                str(m): int(n) for m, n in links.group_by("method").len().sort("method").rows()
            }
            if tool == "pprl-full":
                id_pass = links.filter(pl.col("status") == "matched_exact")
        elif entry["status"] == "ok":
            links = splink_links(out, args.threshold)
            entry["metrics"] = scorer.score(links)
            entry["best_threshold"] = scorer.best_threshold(out)
            if id_pass is not None:
                rest = links.join(id_pass, on="incoming_id", how="anti")
                combined = pl.concat(
                    [id_pass.select("incoming_id", "entref"), rest.select("incoming_id", "entref")]
                )
                results[f"{tool}+ids"] = {
                    "note": "pprl-full's identifier links, then Splink's best candidate",
                    "metrics": scorer.score(combined),
                }
        results[tool] = entry
        logging.info("%s: %s", tool, json.dumps(entry.get("metrics", entry))[:400])
    write_document(args, data, generation_seconds, results, scorer)


def ratios(results: dict[str, dict[str, object]]) -> dict[str, dict[str, float]]:
    """pprl over Splink (EM-trained where run) on wall time, CPU time and peak RSS."""
    out: dict[str, dict[str, float]] = {}
    for peer in ("splink-em", "splink"):
        peer_entry = results.get(peer, {})
        if peer_entry.get("status") != "ok":
            continue
        for tool in ("pprl-full", "pprl-names"):
            entry = results.get(tool, {})
            if entry.get("status") == "ok":
                out[f"{tool}/{peer}"] = {
                    key: round(float(entry[key]) / float(peer_entry[key]), 3)  # type: ignore[arg-type]
                    for key in ("wall_seconds", "cpu_seconds", "peak_rss_gib")
                }
    return out


def write_document(
    args: argparse.Namespace,
    data: Path,
    generation_seconds: float,
    results: dict[str, dict[str, object]],
    scorer: Scorer,
) -> None:
    truth = scorer.truth
    document = {
        "benchmark": "business linkage on the hard data: incoming records to a business register",
        "data": {
            "register": args.register,
            "incoming": args.incoming,
            "seed": args.seed,
            "generator": "benchmarks.business.hard",
            "generation_seconds": round(generation_seconds, 1),
            "true_links": int(truth["entref"].is_not_null().sum()),
            "scenarios": dict(truth.group_by("scenario").len().sort("scenario").rows()),
            "in_register_with_registered_sister": int(
                ((truth["scenario"] == "in_register") & (truth["sisters_in_register"] > 0)).sum()
            ),
        },
        "threshold": args.threshold,
        "scoring": (__doc__ or "").split("Splink runs names only; ", 1)[1].strip(),
        "results": results,
        "ratios": ratios(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_suffix(".json.tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(args.output)
    logging.info("wrote %s", args.output)
