"""The jobs of partitioned linkage: plain functions of (file paths, settings or model as JSON)
that open their own DuckDB connection, read their partition's Parquet files and write their
own, so any worker that sees the same folder can run them (a process, a dask worker).

Partition ``p`` holds, for each blocking rule with equality keys, the records whose keys hash
to ``p`` (both records of any pair the rule finds share its keys, hence the partition); for
a rule without them, the left records whose row id hashes to ``p`` with every right record
(the shared part). Each pair is then found in exactly one partition, by exactly the SQL the
unpartitioned linker runs (:func:`linkage.blocking.rule_pairs_sql`).

* :func:`compare_partition` writes the partition's comparison vectors (the unpartitioned
  linker's gamma table) and their scoring patterns (the linker's histograms read those),
  and returns their aggregated patterns, which training sums;
* :func:`score_partition` scores those vectors with a trained model and writes the pairs at
  or above a threshold with both records' ids, as :meth:`Linker.predict` returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from linkage.backend import DuckDBBackend
from linkage.blocking import RID, rule_pairs_sql
from linkage.errors import ModelNotTrainedError
from linkage.patterns import pattern_count_sql, scoring_pattern_sql
from linkage.persist import atomic_path, model_from_json
from linkage.predict import (
    comparison_select,
    pair_columns,
    scored_pairs_sql,
    scored_sql,
)
from linkage.settings import LinkageSettings
from linkage.sql import literal, quote

#: Columns the record files add to each record: the rule it is partitioned for and its role
#: in that rule's join (``l``: left, ``r``: right, ``b``: both, in a symmetric dedupe rule).
RULE, SIDE = "__rule", "__side"


@dataclass(frozen=True)
class JobResources:
    """What one job's DuckDB may use; it spills to ``temp_directory`` beyond the limit."""

    memory_limit: str = "2GB"
    threads: int = 1
    temp_directory: str | None = None


@dataclass(frozen=True)
class CompareTask:
    """Compare the candidate pairs of one partition: read ``records`` (this partition's
    record files and the shared ones), write ``gammas`` and their ``scoring`` patterns."""

    partition: int
    records: tuple[str, ...]
    gammas: str
    scoring: str
    resources: JobResources


@dataclass(frozen=True)
class ScoreTask:
    """Score one partition's comparison vectors, write the pairs with probability >=
    ``threshold`` (every pair when None) to ``output``."""

    partition: int
    records: tuple[str, ...]
    gammas: str
    output: str
    threshold: float | None
    resources: JobResources


def _open(resources: JobResources) -> DuckDBBackend:
    return DuckDBBackend(
        memory_limit=resources.memory_limit,
        threads=resources.threads,
        temp_directory=resources.temp_directory,
    )


def _parquet_list(paths: Sequence[str]) -> str:
    files = ", ".join(literal(p) for p in paths)
    return f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"


def _role(side: str) -> str:
    return f"{SIDE} IN ({literal(side)}, 'b')"


def _rule_views(backend: DuckDBBackend, settings: LinkageSettings, records: Sequence[str]) -> None:
    """Views ``__l<k>``/``__r<k>``: the records of this partition in each role of rule k."""
    backend.execute(f"CREATE VIEW __records AS SELECT * FROM {_parquet_list(records)}")
    for k in range(len(settings.blocking_rules)):
        for side in ("l", "r"):
            backend.execute(
                f"CREATE VIEW __{side}{k} AS SELECT * EXCLUDE ({RULE}, {SIDE}) FROM __records "
                f"WHERE {RULE} = {k} AND {_role(side)}"
            )


def compare_partition(task: CompareTask, settings_json: str) -> pl.DataFrame:
    """Write the comparison vectors of the partition's candidate pairs to ``task.gammas``
    and their scoring patterns to ``task.scoring`` (each atomically;
    :func:`linkage.patterns.scoring_pattern_sql`) and return their patterns: the distinct
    (gammas, ``rules_mask``) rows with their count ``n``."""
    settings, _ = model_from_json(settings_json)
    backend = _open(task.resources)
    try:
        _rule_views(backend, settings, task.records)
        rules = settings.blocking_rules
        tables = [(f"__l{k}", f"__r{k}") for k in range(len(rules))]
        select = comparison_select(settings.comparisons, backend.dialect)
        sql = rule_pairs_sql(rules, settings.link_type, tables, select)
        with atomic_path(task.gammas) as tmp:
            backend.execute(f"COPY ({sql}) TO {literal(str(tmp))} (FORMAT parquet)")
        scoring = scoring_pattern_sql(f"read_parquet({literal(task.gammas)})", settings.comparisons)
        with atomic_path(task.scoring) as tmp:
            backend.execute(f"COPY ({scoring}) TO {literal(str(tmp))} (FORMAT parquet)")
        source = f"read_parquet({literal(task.scoring)})"
        return backend.frame(pattern_count_sql(source, settings.comparisons))
    finally:
        backend.close()


def score_partition(task: ScoreTask, model_json: str) -> int:
    """Write the partition's pairs with probability >= ``task.threshold`` (ids, weight,
    probability, match key, gammas, term frequencies) to ``task.output``, atomically, in id
    order: the file's bytes do not depend on DuckDB's threads nor on the worker that ran the
    job. Returns how many."""
    settings, parameters = model_from_json(model_json)
    if parameters is None:
        raise ModelNotTrainedError("scoring a partition needs trained parameters")
    backend = _open(task.resources)
    try:
        backend.execute(f"CREATE VIEW __records AS SELECT * FROM {_parquet_list(task.records)}")
        id_col, rid = quote(settings.unique_id_column), quote(RID)
        for side in ("l", "r"):
            backend.execute(
                f"CREATE VIEW __ids_{side} AS SELECT DISTINCT {rid}, {id_col} FROM __records "
                f"WHERE {_role(side)}"
            )
        scored = scored_sql(
            f"read_parquet({literal(task.gammas)})", settings.comparisons, parameters
        )
        sql = scored_pairs_sql(
            scored,
            settings.unique_id_column,
            "__ids_r",
            pair_columns(settings.comparisons),
            task.threshold,
            left_table="__ids_l",
        )
        with atomic_path(task.output) as tmp:
            backend.execute(
                f"COPY ({sql} ORDER BY id_l, id_r) TO {literal(str(tmp))} (FORMAT parquet)"
            )
        written = backend.rows(f"SELECT count(*) FROM read_parquet({literal(task.output)})")
        return int(written[0][0])
    finally:
        backend.close()
