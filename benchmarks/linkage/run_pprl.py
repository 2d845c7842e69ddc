"""pprl runner: ``linkage.Linker`` with the same comparisons and blocks as the Splink runner.

Training is pprl's automatic path (``Linker.train()``: u from random pairs, m by EM over the
prediction blocks, lambda from the posterior) and the headline threshold is pprl's own
``auto_threshold()``. Run in its own interpreter:
``python -m benchmarks.linkage.run_pprl --data D --out O``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from benchmarks.linkage.runner_io import PAIRS_FILE, RunRecord, parse_args
from benchmarks.linkage.spec import BLOCKING_RULES, ID_COLUMN, MIN_WRITTEN_PROBABILITY


def _settings() -> object:
    from linkage import LinkageSettings, block_on
    from linkage import comparisons as cl

    return LinkageSettings(
        link_type="link_only",
        unique_id_column=ID_COLUMN,
        comparisons=[
            cl.NameComparison("first_name", term_frequency=True),
            cl.NameComparison("surname", term_frequency=True),
            cl.DateOfBirthComparison("dob"),
            cl.PostcodeComparison("postcode"),
            cl.ExactComparison("house_number"),
            cl.JaroWinklerAtThresholds("street", (0.9, 0.7)),
            cl.ExactComparison("town", term_frequency=True),
        ],
        blocking_rules=[block_on(*r.columns) for r in BLOCKING_RULES],
    )


def _pairs_scored(linker: object) -> int | None:
    """Candidate pairs pprl scored; read from its gamma table (an internal, hence guarded)."""
    try:
        from linkage.linker import GAMMA_TABLE

        rows = linker.backend.rows(f"SELECT count(*) FROM {GAMMA_TABLE}")  # type: ignore[attr-defined]
        return int(rows[0][0])
    except Exception:  # a renamed internal must not sink the benchmark
        return None


def run(data: Path, out: Path, seed: int) -> RunRecord:
    from linkage import Linker

    record = RunRecord(tool="pprl")
    with record.phase("load"):
        linker = Linker(_settings(), data / "left.parquet", data / "right.parquet")  # type: ignore[arg-type]
    with record.phase("train"):
        linker.train(seed=seed + 1)
    with record.phase("predict"):
        pairs = linker.predict(threshold=MIN_WRITTEN_PROBABILITY)
        summary = linker.posterior_summary()
        record.threshold = float(summary.auto_threshold)
    with record.phase("write"):
        columns = ("id_l", "id_r", "match_weight", "match_probability")
        pairs.select(columns).write_parquet(out / PAIRS_FILE)
        record.pairs_scored = _pairs_scored(linker)
    record.notes = {
        "threshold_source": "Linker.posterior_summary().auto_threshold",
        "lambda_estimate": linker.parameters.probability_two_random_records_match,
        "unsupervised": dataclasses.asdict(summary),
        "training_warnings": [w.to_dict() for w in getattr(linker, "training_warnings", [])],
    }
    linker.close()
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Run pprl's linkage package on a prepared benchmark dataset.", argv)
    run(args.data, args.out, args.seed).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
