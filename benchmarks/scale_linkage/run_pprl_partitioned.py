"""pprl runner, partitioned: the benchmark's ``run_pprl`` with comparison and scoring done
partition by partition (:meth:`linkage.Linker.partition`), pairs written one file per
partition and then gathered into the one pairs file the harness scores.

``--executor local`` runs the jobs one after another in this process (each job's DuckDB
takes ``--threads``); ``--executor dask`` runs them on a dask LocalCluster of ``--workers``
single-threaded workers. Run in its own interpreter:
``python -m benchmarks.scale_linkage.run_pprl_partitioned --data D --out O --partitions 8``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.linkage.run_pprl import _settings
from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import MIN_WRITTEN_PROBABILITY

DEFAULT_PARTITIONS = 8


def parse_partition_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--workers", type=int, default=2, help="dask workers (--executor dask)")
    p.add_argument("--threads", type=int, default=2, help="DuckDB threads per job")
    p.add_argument("--job-memory-limit", default="2GB", help="DuckDB memory_limit per job")
    return p.parse_known_args(argv)


@contextlib.contextmanager
def _job_map(options: argparse.Namespace) -> Iterator[Any]:
    if options.executor == "local":
        yield map
        return
    from linkage.distributed import DaskPartitionMap

    with DaskPartitionMap.connect(n_workers=options.workers) as dask_map:
        yield dask_map


def _gather(pairs: Any, out: Path) -> None:
    """The partitions' pairs files as the single file the harness reads."""
    import duckdb

    columns = "id_l, id_r, match_weight, match_probability"
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT {columns} FROM {pairs.source_sql()}) "
            f"TO '{out / PAIRS_FILE}' (FORMAT parquet)"
        )
    finally:
        con.close()


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _partition_sizes(work: Path) -> dict[str, Any]:
    """Bytes on disk of each kind of partition file: what the work folder must hold."""
    gammas = sorted((work / "work" / "gammas").glob("part-*.parquet"))
    return {
        "records_bytes": _folder_bytes(work / "work" / "records"),
        "gammas_bytes": _folder_bytes(work / "work" / "gammas"),
        "largest_gammas_file_bytes": max((f.stat().st_size for f in gammas), default=0),
        "pairs_bytes": _folder_bytes(work / "pairs"),
    }


def run(data: Path, out: Path, seed: int, options: argparse.Namespace) -> RunRecord:
    from linkage import Linker

    record = RunRecord(tool="pprl")
    work = out / "partitioned"
    shutil.rmtree(work, ignore_errors=True)
    with _job_map(options) as job_map:
        with record.phase("load"):
            linker = Linker(_settings(), data / "left.parquet", data / "right.parquet")  # type: ignore[arg-type]
            linker.partition(
                work / "work",
                options.partitions,
                map=job_map,
                memory_limit=options.job_memory_limit,
                threads=options.threads,
            )
        with record.phase("train"):
            linker.train(seed=seed + 1)
        with record.phase("predict"):
            pairs = linker.predict_partitioned(work / "pairs", threshold=MIN_WRITTEN_PROBABILITY)
            summary = linker.posterior_summary()
            record.threshold = float(summary.auto_threshold)
    with record.phase("write"):
        _gather(pairs, out)
        record.pairs_scored = int(linker.candidate_patterns().pairs)
    record.notes = {
        "threshold_source": "Linker.posterior_summary().auto_threshold",
        "partitioned": dict(vars(options)),
        "partition_files": _partition_sizes(work),
        "lambda_estimate": linker.parameters.probability_two_random_records_match,
        "unsupervised": dataclasses.asdict(summary),
        "training_warnings": [w.to_dict() for w in getattr(linker, "training_warnings", [])],
    }
    linker.close()
    shutil.rmtree(work, ignore_errors=True)
    return record


def main(argv: list[str] | None = None) -> int:
    options, rest = parse_partition_args(argv)
    args = parse_args("Run pprl's partitioned linkage on a prepared benchmark dataset.", rest)
    run(args.data, args.out, args.seed, options).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
