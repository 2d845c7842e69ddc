"""pprl runner for an independent-benchmark task: ``linkage.Linker`` as a user would call it.

``train()`` (u from random pairs, m by EM over the prediction blocks, dependencies, lambda
from the posterior), ``predict()``, ``auto_threshold()``, the unsupervised summary
(``posterior_summary()``) and ``cluster()`` at its defaults (the automatic threshold).
Deduplicating several sources, the task gives each record its source
(``LinkageSettings.source_column``) and the decisions are ``link_by_source()``'s: priors
within and across sources, at most one link per record and source (see
:mod:`linkage.sources`); the pairs file then also holds ``linked`` (the links at the
threshold), ``one_link`` (kept by the one-link rule at any threshold: the greedy rule keeps
the same pairs above a threshold whatever lower pairs it also saw) and the model's
``match_weight_model``/``match_probability_model`` without the source priors.
Training is watched by :mod:`benchmarks.independent.pprl_probe` (per-pass m and match rate,
kept passes, log lines) for the diagnosis; the watch changes nothing. Run in its own interpreter:
``python -m benchmarks.independent.run_pprl --data TASK_DIR --out OUT``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from benchmarks.independent.data import tool_records
from benchmarks.independent.pprl_probe import probe
from benchmarks.independent.tasks import ID_COLUMN, SOURCE_COLUMN, Task
from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import MIN_WRITTEN_PROBABILITY

CLUSTERS_FILE = "clusters.parquet"
#: Columns of the pairs file when the decisions are link_by_source's (module docstring)
WRITTEN_BY_SOURCE = ("match_weight_model", "match_probability_model", "linked", "one_link")


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
        source_column=SOURCE_COLUMN if task.has_source_column else None,
    )


def run(data: Path, out: Path, seed: int) -> RunRecord:
    import polars as pl

    from linkage import Linker
    from linkage.sources import LINKED, one_link_per_source

    task = Task.read(data)
    record = RunRecord(tool="pprl")
    right = data / "right.parquet" if task.link_type == "link_only" else None
    with record.phase("load"):
        left = tool_records(data, task) if task.has_source_column else data / "left.parquet"
        linker = Linker(settings_for(task), left, right)
    with record.phase("train"), probe(linker) as trace:
        linker.train(seed=seed + 1)
    with record.phase("predict"):
        pairs = linker.predict(threshold=MIN_WRITTEN_PROBABILITY)
        summary = linker.posterior_summary()
        lam = linker.parameters.probability_two_random_records_match
        extra: dict[str, Any] = {"threshold_source": "Linker.posterior_summary().auto_threshold"}
        if task.has_source_column:
            extra["threshold_source"] = "Linker.link_by_source().threshold (automatic)"
            decided = linker.link_by_source(pairs)
            summary, lam = decided.summary, decided.priors.overall
            extra["source_priors"] = dataclasses.asdict(decided.priors)
            pairs = decided.pairs.with_columns(one_link=one_link_per_source(decided.pairs))
        record.threshold = float(summary.auto_threshold)
    with record.phase("cluster"):
        links = pairs.filter(pl.col(LINKED)) if LINKED in pairs.columns else pairs
        clusters = linker.cluster(links, record.threshold)  # components at the threshold
    with record.phase("write"):
        columns = ("id_l", "id_r", "match_weight", "match_probability")
        columns += tuple(c for c in WRITTEN_BY_SOURCE if c in pairs.columns)
        pairs.select(columns).write_parquet(out / PAIRS_FILE)
        clusters.select("id", "cluster_id").write_parquet(out / CLUSTERS_FILE)
        record.pairs_scored = int(linker.blocking_report()["pairs"].sum())
    record.notes = {
        "lambda_estimate": lam,
        "unsupervised": dataclasses.asdict(summary),
        "cluster_threshold": record.threshold,
        **extra,
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
