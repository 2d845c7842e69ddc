"""Splink runner configured as Splink's own business-rates example (``docs/demos/examples/
duckdb_no_test/business_rates_match.ipynb``, Splink 4/5): company names split into tokens with
their relative frequencies; a comparison whose levels threshold the product of the relative
frequencies of the shared tokens (< 1e-12, 1e-10, 1e-8, 1e-6, 1e-4); Splink's
PostcodeComparison; exact first number in the address; blocking on postcode, the two rarest
tokens (frequency < 0.01) with partial postcode or first letters of the name, and the exact
name; u from random sampling (1e7 pairs); the best candidate per incoming record.

``--m-training default`` leaves m at Splink's defaults, as the example does; ``--m-training em``
estimates m by expectation maximisation, in two sessions as Splink's documentation does: pairs
blocked on postcode (trains the name and address-number comparisons) and on the exact name
(trains the postcode comparison). The prior (1 in 1e6) stays the example's in both.

Run in ``.venv-bench``: ``python -m benchmarks.business.run_splink --data D --out O``. Writes
``O/best.parquet`` (``incoming_id, entref, match_probability``) and ``O/result.json``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import duckdb

from benchmarks.linkage.runner_io import RunRecord

PREPARE = """
CREATE OR REPLACE TABLE all_input AS
SELECT row_number() OVER () AS unique_id, * FROM (
    SELECT incoming_id AS source_id, name AS company_name, address AS address_concat,
           upper(postcode) AS postcode, 'incoming' AS source_dataset
    FROM read_parquet('{data}/incoming.parquet')
    UNION ALL
    SELECT entref, legal_name, address, upper(postcode), 'register'
    FROM read_parquet('{data}/register.parquet')
);
CREATE OR REPLACE TABLE unnested AS
SELECT unique_id,
       unnest(regexp_split_to_array(upper(trim(company_name)), '\\s+')) AS name_token,
       generate_subscripts(regexp_split_to_array(upper(trim(company_name)), '\\s+'), 1)
           AS token_position_in_name
FROM all_input;
CREATE OR REPLACE TABLE token_frequencies AS
SELECT name_token AS token, count(*)::float / (SELECT count(*) FROM unnested) AS rel_freq
FROM unnested GROUP BY token;
CREATE OR REPLACE TABLE tokens_with_freq AS
SELECT u.unique_id,
       list_transform(
           list_zip(array_agg(u.name_token ORDER BY u.token_position_in_name),
                    array_agg(coalesce(tf.rel_freq, 0.0) ORDER BY u.token_position_in_name)),
           lambda x: struct_pack(token := x[1], rel_freq := x[2])
       ) AS name_tokens_with_freq
FROM unnested u LEFT JOIN token_frequencies tf ON u.name_token = tf.token
GROUP BY u.unique_id;
CREATE OR REPLACE TABLE rare_tokens AS
SELECT unique_id,
       array_agg(t.token_info.token ORDER BY t.token_info.rel_freq ASC)[:2] AS rarest_tokens
FROM (SELECT unique_id, unnest(name_tokens_with_freq) AS token_info FROM tokens_with_freq) t
WHERE t.token_info.rel_freq < 0.01
GROUP BY unique_id;
CREATE OR REPLACE TABLE data_for_matching AS
SELECT m.unique_id, m.source_id, m.source_dataset, upper(m.company_name) AS company_name,
       m.postcode,
       coalesce(regexp_extract(m.address_concat, '(\\d+[A-Z]?)'),
                regexp_extract(upper(m.address_concat), '(\\S+)\\s+HOUSE', 1))
           AS first_num_in_address,
       t.name_tokens_with_freq, r.rarest_tokens
FROM all_input m
LEFT JOIN tokens_with_freq t ON m.unique_id = t.unique_id
LEFT JOIN rare_tokens r ON m.unique_id = r.unique_id;
"""


def tf_product_sql(name: str) -> str:
    """The example's product of relative frequencies of the tokens both names share."""
    return f"""
    list_reduce(
        list_prepend(1.0::FLOAT, list_transform(list_intersect({name}_l, {name}_r),
                                                lambda x: x.rel_freq::float)),
        lambda p, q: p * q)
    """


def settings() -> object:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    levels: list[dict[str, object]] = [
        {
            "sql_condition": (
                '"name_tokens_with_freq_l" IS NULL OR "name_tokens_with_freq_r" IS NULL'
            ),
            "label_for_charts": "name_tokens_with_freq is NULL",
            "is_null_level": True,
        }
    ]
    for threshold in ("1e-12", "1e-10", "1e-8", "1e-6", "1e-4"):
        levels.append(
            {
                "sql_condition": f"{tf_product_sql('name_tokens_with_freq')} < {threshold}",
                "label_for_charts": f"Array product is less than {threshold}",
            }
        )
    levels.append({"sql_condition": "ELSE", "label_for_charts": "All other comparisons"})
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1 / 1e6,
        comparisons=[
            {
                "output_column_name": "name_tokens_with_freq",
                "comparison_levels": levels,
                "comparison_description": "token frequency product",
            },
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("first_num_in_address"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postcode"),
            block_on("rarest_tokens", "substr(postcode,1,3)"),
            "l.rarest_tokens[1] = r.rarest_tokens[2] and "
            "substr(l.company_name,1,3) = substr(r.company_name,1,3)",
            "l.rarest_tokens[2] = r.rarest_tokens[1] and "
            "substr(l.company_name,1,3) = substr(r.company_name,1,3)",
            block_on("company_name"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--u-pairs", type=float, default=1e7)
    parser.add_argument("--m-training", choices=["default", "em"], default="default")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from splink import DuckDBAPI, Linker, block_on

    record = RunRecord(tool="splink" if args.m_training == "default" else "splink-em")
    con = duckdb.connect()
    with record.phase("prepare"):
        for statement in PREPARE.format(data=args.data.resolve()).split(";"):
            if statement.strip():
                con.execute(statement).fetchall()
        db_api = DuckDBAPI(connection=con)
        left = db_api.register(
            con.sql("SELECT * FROM data_for_matching WHERE source_dataset = 'incoming'"),
            dataset_display_name="incoming",
        )
        right = db_api.register(
            con.sql("SELECT * FROM data_for_matching WHERE source_dataset = 'register'"),
            dataset_display_name="register",
        )
        linker = Linker([left, right], settings(), log_level=logging.WARNING)
    with record.phase("train"):
        linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs)
        if args.m_training == "em":
            linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on("company_name")
            )
    with record.phase("predict"):
        predictions = linker.inference.predict(threshold_match_weight=-5)
        table = predictions.physical_name
        record.pairs_scored = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    with record.phase("write"):
        # Best candidate per incoming record, as in the example. Which side is which follows
        # the source_dataset columns Splink keeps.
        con.execute(f"""
            COPY (
                WITH p AS (
                    SELECT CASE WHEN source_dataset_l = 'incoming' THEN unique_id_l
                                ELSE unique_id_r END AS inc,
                           CASE WHEN source_dataset_l = 'incoming' THEN unique_id_r
                                ELSE unique_id_l END AS reg,
                           match_weight, match_probability
                    FROM {table}
                ), ranked AS (
                    SELECT *, row_number() OVER (PARTITION BY inc ORDER BY match_weight DESC)
                        AS rank FROM p
                )
                SELECT i.source_id AS incoming_id, r.source_id AS entref, match_probability
                FROM ranked JOIN data_for_matching i ON i.unique_id = ranked.inc
                JOIN data_for_matching r ON r.unique_id = ranked.reg
                WHERE rank = 1
            ) TO '{args.out.resolve() / "best.parquet"}' (FORMAT parquet)
        """).fetchall()
    record.write(args.out)


if __name__ == "__main__":
    main()
