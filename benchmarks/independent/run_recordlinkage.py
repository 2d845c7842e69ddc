"""recordlinkage 0.16 runner for an independent-benchmark task: binary features, ECM.

ECM needs binary features: ``name`` and ``string`` fields agree at Jaro-Winkler >= 0.85, the
rest on exact equality; missing values disagree (recordlinkage's default). Candidate pairs are
the union of the task's blocks (``Index.block`` per rule). Not tuned on the truth. ECM's match
share ``p`` among the candidates gives its lambda: ``p * candidates / all pairs``. Run in its
own interpreter: ``python -m benchmarks.independent.run_recordlinkage --data TASK_DIR --out O``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from benchmarks.independent.tasks import ID_COLUMN, Task
from benchmarks.linkage.run_recordlinkage import fit_and_write_ecm
from benchmarks.linkage.runner_io import RunRecord, parse_args

STRING_THRESHOLD = 0.85


def run(data: Path, out: Path) -> RunRecord:
    import recordlinkage

    task = Task.read(data)
    record = RunRecord(tool="recordlinkage")
    link = task.link_type == "link_only"
    with record.phase("load"):
        left = pd.read_parquet(data / "left.parquet").set_index(ID_COLUMN)
        right = pd.read_parquet(data / "right.parquet").set_index(ID_COLUMN) if link else left
    with record.phase("block"):
        indexer = recordlinkage.Index()
        for rule in task.blocking:  # the union of the added algorithms is taken
            indexer.block(list(rule))
        candidates = indexer.index(left, right) if link else indexer.index(left)
        record.pairs_scored = len(candidates)
    with record.phase("compare"):
        compare = recordlinkage.Compare()
        for col, kind in task.fields:
            if kind in ("name", "string"):
                compare.string(
                    col, col, method="jarowinkler", threshold=STRING_THRESHOLD, label=col
                )
            else:
                compare.exact(col, col, label=col)
        features = (
            compare.compute(candidates, left, right) if link else compare.compute(candidates, left)
        )
    ecm = fit_and_write_ecm(features, out, record)
    n_l = len(left)
    total = n_l * len(right) if link else n_l * (n_l - 1) // 2
    record.notes = {
        "string_threshold": STRING_THRESHOLD,
        "classifier": "ECMClassifier",
        "ecm_p": float(ecm.p),
        "lambda_estimate": float(ecm.p) * len(candidates) / total if total else None,
    }
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run recordlinkage (ECM) on an independent-benchmark task.", argv)
    run(args.data, args.out).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
