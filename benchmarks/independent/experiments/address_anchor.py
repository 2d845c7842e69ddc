"""EXPERIMENT: does pprl's own dependency model (``Linker.estimate_dependencies``) rescue the
household tasks when the address is one comparison with its own block?

pprl models comparisons that move with an *anchor* (conditional m/u given the anchor's top
level; :class:`linkage.model.Dependency`), but an anchor must be one comparison with a
prediction rule blocking on exactly its columns. The benchmark tasks block on
``street_number + street_name``, two comparisons, so no anchor qualifies and
``dependencies`` stays empty. Here the two are joined into one ``address`` column (exact
and Jaro-Winkler levels) blocked on by itself; the candidate pairs are the same (address
agreement is street number and name agreement), everything else is as in the benchmark.

Run: ``python -m benchmarks.independent.experiments.address_anchor``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.independent.data import DEFAULT_DATA_DIR, TaskData, build_task, ensure_sources
from benchmarks.independent.run_pprl import comparison_for
from benchmarks.independent.scoring import (
    cluster_scores,
    components,
    false_positive_profile,
    ordered,
    pair_scores,
)
from benchmarks.independent.tasks import ID_COLUMN, TASKS

TASK_NAMES = ("census_w2", "dedupe_w2", "dedupe_census_acs_cps")


def with_address(data: TaskData, root: Path) -> Path:
    """A copy of the task's tool files with ``address`` = street number + street name."""
    out = root / f"{data.directory.name}_address_anchor"
    out.mkdir(parents=True, exist_ok=True)
    joined = pl.concat_str(["street_number", "street_name"], separator=" ")
    for side in ("left", "right"):
        src = data.directory / f"{side}.parquet"
        if src.exists():
            pl.read_parquet(src).with_columns(joined.alias("address")).write_parquet(
                out / f"{side}.parquet"
            )
    shutil.copy(data.directory / "task.json", out / "task.json")
    return out


def settings(data: TaskData) -> Any:
    from linkage import LinkageSettings, block_on
    from linkage import comparisons as cl

    fields = [(c, k) for c, k in data.task.fields if c not in ("street_number", "street_name")]
    comparisons = [comparison_for(c, k) for c, k in fields]
    comparisons.append(cl.JaroWinklerAtThresholds("address", (0.9, 0.7)))
    rules = [
        ("address",) if r == ("street_number", "street_name") else r for r in data.task.blocking
    ]
    return LinkageSettings(
        link_type=data.task.link_type,
        unique_id_column=ID_COLUMN,
        comparisons=comparisons,
        blocking_rules=[block_on(*r) for r in rules],
    )


def run(name: str, data_dir: Path, seed: int) -> dict[str, Any]:
    from linkage import Linker

    sources = ensure_sources(data_dir, seed)
    data = build_task(TASKS[name], sources, data_dir, quick=False, seed=seed)
    folder = with_address(data, data_dir / "experiments")
    right = folder / "right.parquet" if data.task.link_type == "link_only" else None
    linker = Linker(settings(data), folder / "left.parquet", right)
    try:
        linker.train(seed=seed + 1)
        pairs = ordered(linker.predict(threshold=1e-4), data.task.link_type)
        summary = linker.posterior_summary()
        lam = linker.parameters.probability_two_random_records_match
        scores = pair_scores(pairs, data.truth, summary.auto_threshold)
        clusters = None
        if data.task.link_type == "dedupe_only":
            ids = data.entities["record_id"]
            clusters = {
                "at_auto_threshold": cluster_scores(
                    components(ids, pairs, summary.auto_threshold), data.entities
                ),
                "at_0.9": cluster_scores(components(ids, pairs, 0.9), data.entities),
            }
        return {
            "task": name,
            "dependencies": {n: d.anchor for n, d in linker.parameters.dependencies.items()},
            "pairs_scored": int(linker.blocking_report()["pairs"].sum()),
            "f1_auto": scores["f1"],
            "precision_auto": scores["precision"],
            "best_f1": scores["best_f1"],
            "lambda_ratio": lam / data.meta["true_lambda"],
            "unsupervised": dataclasses.asdict(summary),
            "clusters": clusters,
            "false_positives": false_positive_profile(
                pairs, summary.auto_threshold, data.truth, data.entities, None
            ),
        }
    finally:
        linker.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(TASK_NAMES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--output", type=Path, default=None, help="JSON file for the results")
    args = p.parse_args(argv)
    results = [run(n, args.data_dir, args.seed) for n in args.tasks.split(",")]
    for r in results:
        print(
            f"{r['task']:<24} dependencies {r['dependencies'] or 'none'}; F1 auto "
            f"{r['f1_auto']:.3f} (P {r['precision_auto']:.3f}, estimated "
            f"{r['unsupervised']['expected_precision']:.3f}), best {r['best_f1']:.3f}, "
            f"lambda x{r['lambda_ratio']:.2f}, pairs {r['pairs_scored']:,}"
        )
        for where, c in (r["clusters"] or {}).items():
            print(
                f"{'':<24} clusters {where}: precision {c['cluster_precision']:.3f} "
                f"recall {c['cluster_recall']:.3f}"
            )
    if args.output:
        args.output.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
