"""Splink 5 (DuckDB) runner for an independent-benchmark task, trained as its tutorials do.

The prior from the task's deterministic rules (recall 0.7), u from 1e7 random pairs, then one
EM session per ``task.em_blocks``; ``predict()``. Comparisons are Splink's ready-made ones for
each field kind (names with term-frequency adjustments). Run in its own interpreter:
``python -m benchmarks.independent.run_splink --data TASK_DIR --out OUT``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.independent.tasks import ID_COLUMN, Task
from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import MIN_WRITTEN_PROBABILITY

U_SAMPLE_PAIRS = 1e7
PRIOR_RECALL = 0.7


def comparison_for(column: str, kind: str) -> Any:
    import splink.comparison_library as cl

    if kind == "name":
        return cl.NameComparison(column).configure(term_frequency_adjustments=True)
    if kind == "string":
        return cl.JaroWinklerAtThresholds(column, [0.9, 0.7])
    if kind == "dob":
        return cl.DateOfBirthComparison(column, input_is_string=True)
    return cl.ExactMatch(column)


def settings_for(task: Task) -> Any:
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=task.link_type,
        unique_id_column_name=ID_COLUMN,
        comparisons=[comparison_for(c, k) for c, k in task.fields],
        blocking_rules_to_generate_predictions=[block_on(*r) for r in task.blocking],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _pair_ids_sql(task: Task, left: str) -> tuple[str, str]:
    """Splink orders a link pair by source dataset; map back to (left id, right id)."""
    if task.link_type == "dedupe_only":
        return f"{ID_COLUMN}_l", f"{ID_COLUMN}_r"
    first = f"source_dataset_l = '{left}'"
    return (
        f"CASE WHEN {first} THEN {ID_COLUMN}_l ELSE {ID_COLUMN}_r END",
        f"CASE WHEN {first} THEN {ID_COLUMN}_r ELSE {ID_COLUMN}_l END",
    )


def run(data: Path, out: Path, seed: int) -> RunRecord:
    from splink import DuckDBAPI, Linker, block_on

    task = Task.read(data)
    record = RunRecord(tool="splink")
    con = duckdb.connect()
    names = ["left_input", "right_input"][: 2 if task.link_type == "link_only" else 1]
    with record.phase("load"):
        for name, file in zip(names, ("left.parquet", "right.parquet"), strict=False):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{data / file}')")
        db_api = DuckDBAPI(connection=con)
        inputs = [db_api.register(n, dataset_display_name=n) for n in names]
        linker = Linker(inputs, settings_for(task), log_level=logging.WARNING)
    with record.phase("train"):
        deterministic: list[Any] = [block_on(*r) for r in task.deterministic]
        linker.training.estimate_probability_two_random_records_match(
            deterministic, recall=PRIOR_RECALL
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
        em_failures = []
        for rule in task.em_blocks:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
            except ValueError as exc:  # e.g. an m that underflows: skip it, as a user would
                em_failures.append({"block": "+".join(rule), "error": str(exc)[:200]})
    with record.phase("predict"):
        predictions = linker.inference.predict()
    with record.phase("write"):
        table = predictions.physical_name
        record.pairs_scored = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        id_l, id_r = _pair_ids_sql(task, names[0])
        con.execute(
            f"""COPY (SELECT {id_l} AS id_l, {id_r} AS id_r, match_weight, match_probability
                FROM {table} WHERE match_probability >= {MIN_WRITTEN_PROBABILITY}
            ) TO '{out / PAIRS_FILE}' (FORMAT PARQUET)"""
        )
        model = linker.misc.save_model_to_json()
        (out / "splink_model.json").write_text(json.dumps(model, indent=2, default=str))
    record.notes = {
        "prior_recall": PRIOR_RECALL,
        "u_sample_pairs": U_SAMPLE_PAIRS,
        "em_blocks": ["+".join(r) for r in task.em_blocks],
        "em_failures": em_failures,
        "lambda_estimate": model.get("probability_two_random_records_match"),
    }
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run Splink on an independent-benchmark task.", argv)
    run(args.data, args.out, args.seed).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
