"""Splink 5 runner (DuckDB backend), trained the way Splink's documentation trains it.

Unsupervised training as in Splink's tutorials: the prior from deterministic rules with an
assumed recall, u from random sampling, m from two EM sessions blocked on different fields.
Comparisons are Splink's ready-made ones for each field; names and town carry term-frequency
adjustments. Run in its own interpreter (``.venv-bench``): ``python -m
benchmarks.linkage.run_splink --data D --out O``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import duckdb

from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import BLOCKING_RULES, ID_COLUMN, MIN_WRITTEN_PROBABILITY

LEFT, RIGHT = "persons_left", "persons_right"
U_SAMPLE_PAIRS = 1e7
PRIOR_RECALL = 0.7


def _settings() -> object:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name=ID_COLUMN,
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("house_number"),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
            cl.ExactMatch("town").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on(*r.columns) for r in BLOCKING_RULES],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def run(
    data: Path,
    out: Path,
    seed: int,
    memory_limit: str | None = None,
    dob_em_with: tuple[str, ...] = (),
    predict_chunks: tuple[int, ...] = (),
) -> RunRecord:
    from splink import DuckDBAPI, Linker, block_on

    record = RunRecord(tool="splink")
    con = duckdb.connect()
    if memory_limit:  # DuckDB's default is 80% of RAM; a limit makes it spill to disk instead
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{out / 'duckdb_tmp'}'")
    with record.phase("load"):
        for name, file in ((LEFT, "left.parquet"), (RIGHT, "right.parquet")):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{data / file}')")
        db_api = DuckDBAPI(connection=con)
        inputs = [db_api.register(n, dataset_display_name=n) for n in (LEFT, RIGHT)]
        linker = Linker(inputs, _settings(), log_level=logging.WARNING)
    with record.phase("train"):
        deterministic = [
            block_on("first_name", "surname", "dob"),
            block_on("surname", "dob", "postcode"),
        ]
        linker.training.estimate_probability_two_random_records_match(
            deterministic, recall=PRIOR_RECALL
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("first_name", "surname")
        )
        # dob alone as in Splink's tutorials; at millions of records a user must narrow it
        # (every block's comparisons are computed at once: splink discussion #3000)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("dob", *dob_em_with)
        )
    with record.phase("predict"):
        # The same floor pprl's predict() gets: Splink drops lower pairs before it
        # materialises the predictions, as its docs advise, instead of spilling all of them.
        # Chunks (Splink's own memory management) score one slice of each input at a time.
        left_chunks, right_chunks = predict_chunks or (None, None)
        predictions = linker.inference.predict(
            threshold_match_probability=MIN_WRITTEN_PROBABILITY,
            num_chunks_left=left_chunks,
            num_chunks_right=right_chunks,
        )
    with record.phase("write"):
        table = predictions.physical_name
        # Pairs under the floor are never materialised, so the candidate count is not known
        # here (the same blocks as pprl's: see pprl's pairs_scored); record what was kept.
        kept = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        # Splink orders each pair by source dataset; map back to (left id, right id).
        con.execute(
            f"""COPY (
                SELECT
                  CASE WHEN source_dataset_l = '{LEFT}' THEN {ID_COLUMN}_l
                       ELSE {ID_COLUMN}_r END AS id_l,
                  CASE WHEN source_dataset_l = '{LEFT}' THEN {ID_COLUMN}_r
                       ELSE {ID_COLUMN}_l END AS id_r,
                  match_weight, match_probability
                FROM {table} WHERE match_probability >= {MIN_WRITTEN_PROBABILITY}
            ) TO '{out / PAIRS_FILE}' (FORMAT PARQUET)"""
        )
    record.notes = {
        "prior_recall": PRIOR_RECALL,
        "u_sample_pairs": U_SAMPLE_PAIRS,
        "em_blocks": ["first_name+surname", "+".join(("dob", *dob_em_with))],
        "predict_threshold_match_probability": MIN_WRITTEN_PROBABILITY,
        "predict_chunks": list(predict_chunks) or None,
        "pairs_kept": kept,
        "duckdb_memory_limit": memory_limit or "duckdb default (80% of RAM)",
    }
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run Splink on a prepared benchmark dataset.", argv)
    run(
        args.data, args.out, args.seed, args.memory_limit, args.dob_em_with, args.predict_chunks
    ).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
