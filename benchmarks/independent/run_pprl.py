"""pprl runner for an independent-benchmark task: ``linkage.Linker`` as a user would call it.

``train()`` (u from random pairs, m by EM over the prediction blocks, dependencies, lambda
from the posterior), ``predict()``, ``auto_threshold()``, the unsupervised summary
(``posterior_summary()``) and ``cluster()`` at its defaults (the automatic threshold).
Training is watched by :mod:`benchmarks.independent.pprl_probe` (per-pass m and match rate,
kept passes, log lines) for the diagnosis; the watch changes nothing. Run in its own interpreter:
``python -m benchmarks.independent.run_pprl --data TASK_DIR --out OUT``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from benchmarks.independent.pprl_probe import probe
from benchmarks.independent.tasks import ID_COLUMN, Task
from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import MIN_WRITTEN_PROBABILITY

CLUSTERS_FILE = "clusters.parquet"


def comparison_for(column: str, kind: str) -> Any:
    from linkage import comparisons as cl

    if kind == "name":
        return cl.NameComparison(column, term_frequency=True)
    if kind == "string":
        return cl.JaroWinklerAtThresholds(column, (0.9, 0.7))
    if kind == "dob":
        return cl.DateOfBirthComparison(column)
    return cl.ExactComparison(column)


def settings_for(task: Task) -> Any:
    from linkage import LinkageSettings, block_on

    return LinkageSettings(
        link_type=task.link_type,
        unique_id_column=ID_COLUMN,
        comparisons=[comparison_for(c, k) for c, k in task.fields],
        blocking_rules=[block_on(*r) for r in task.blocking],
    )


def run(data: Path, out: Path, seed: int) -> RunRecord:
    from linkage import Linker

    task = Task.read(data)
    record = RunRecord(tool="pprl")
    right = data / "right.parquet" if task.link_type == "link_only" else None
    with record.phase("load"):
        linker = Linker(settings_for(task), data / "left.parquet", right)
    with record.phase("train"), probe(linker) as trace:
        linker.train(seed=seed + 1)
    with record.phase("predict"):
        pairs = linker.predict(threshold=MIN_WRITTEN_PROBABILITY)
        summary = linker.posterior_summary()
        record.threshold = float(summary.auto_threshold)
    with record.phase("cluster"):
        clusters = linker.cluster(pairs)  # its defaults: the automatic threshold, components
        cluster_t = linker.auto_threshold()
    with record.phase("write"):
        columns = ("id_l", "id_r", "match_weight", "match_probability")
        pairs.select(columns).write_parquet(out / PAIRS_FILE)
        clusters.select("id", "cluster_id").write_parquet(out / CLUSTERS_FILE)
        record.pairs_scored = int(linker.blocking_report()["pairs"].sum())
    record.notes = {
        "threshold_source": "Linker.posterior_summary().auto_threshold",
        "lambda_estimate": linker.parameters.probability_two_random_records_match,
        "unsupervised": dataclasses.asdict(summary),
        "cluster_threshold": cluster_t,
        "parameters": linker.parameters.to_dict(),
        "training": trace.to_dict(),
        "training_warnings": [w.to_dict() for w in linker.training_warnings],
        "checks": linker.diagnostics.checks,
    }
    linker.close()
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run pprl on an independent-benchmark task.", argv)
    run(args.data, args.out, args.seed).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
