"""recordlinkage 0.16 runner: shared blocks, binary comparison vectors, unsupervised ECM.

ECM needs binary features, so string fields are agreement at Jaro-Winkler >= 0.85 and the rest
exact agreement; missing values count as disagreement. All seven link fields are compared, as
in recordlinkage's own ECM example (FEBRL), without tuning on the truth: on the 100k synthetic
data dropping street and town gives F1 0.30 and keeping only names, dob and street 0.96, so
ECM's result is very sensitive to which correlated address fields it sees. Run in its own
interpreter: ``python -m benchmarks.linkage.run_recordlinkage --data D --out O``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import BLOCKING_RULES, ID_COLUMN, MIN_WRITTEN_PROBABILITY

JARO_WINKLER_FIELDS = ("first_name", "surname", "street")
EXACT_FIELDS = ("dob", "postcode", "house_number", "town")
STRING_THRESHOLD = 0.85


def fit_and_write_ecm(features: Any, out: Path, record: RunRecord) -> Any:
    """Fit recordlinkage's ECM classifier to ``features``, write its pair probabilities
    (those at or above ``MIN_WRITTEN_PROBABILITY``) to ``out``, and return the classifier;
    each step timed as a phase of ``record``."""
    import recordlinkage

    with record.phase("train"):
        ecm = recordlinkage.ECMClassifier()
        ecm.fit(features)
    with record.phase("predict"):
        prob = ecm.prob(features)
    with record.phase("write"):
        pairs = pd.DataFrame(
            {
                "id_l": prob.index.get_level_values(0),
                "id_r": prob.index.get_level_values(1),
                "match_probability": prob.to_numpy(),
            }
        )
        pairs = pairs[pairs["match_probability"] >= MIN_WRITTEN_PROBABILITY]
        pairs.to_parquet(out / PAIRS_FILE, index=False)
    return ecm


def run(data: Path, out: Path) -> RunRecord:
    import recordlinkage

    record = RunRecord(tool="recordlinkage")
    with record.phase("load"):
        left = pd.read_parquet(data / "left.parquet").set_index(ID_COLUMN)
        right = pd.read_parquet(data / "right.parquet").set_index(ID_COLUMN)
    with record.phase("block"):
        indexer = recordlinkage.Index()
        for rule in BLOCKING_RULES:  # the union of the added algorithms is taken
            indexer.block(list(rule.columns))
        candidates = indexer.index(left, right)
        record.pairs_scored = len(candidates)
    with record.phase("compare"):
        compare = recordlinkage.Compare()
        for col in JARO_WINKLER_FIELDS:
            compare.string(col, col, method="jarowinkler", threshold=STRING_THRESHOLD, label=col)
        for col in EXACT_FIELDS:
            compare.exact(col, col, label=col)
        features = compare.compute(candidates, left, right)
    fit_and_write_ecm(features, out, record)
    record.notes = {
        "string_threshold": STRING_THRESHOLD,
        "classifier": "ECMClassifier",
        "fields": [*JARO_WINKLER_FIELDS, *EXACT_FIELDS],
    }
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run recordlinkage (ECM) on a prepared benchmark dataset.", argv)
    run(args.data, args.out).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
