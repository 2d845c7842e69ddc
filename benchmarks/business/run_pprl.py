"""pprl runner: ``python -m benchmarks.business.run_pprl --data D --out O --mode full``.

``full``: deterministic on CRN and VAT, then probabilistic (m from ID-confirmed pairs).
``names``: probabilistic only on name, postcode and address (no identifiers; m by EM), the
like-for-like comparison with Splink. Writes ``O/best.parquet`` (``incoming_id, entref,
match_probability, status, method``) and ``O/result.json``. A throwaway keystore with a random
master key is created in a fresh directory under ``O`` (the benchmark never delivers pseudonyms).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import polars as pl

from benchmarks.linkage.runner_io import RunRecord


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mode", choices=["full", "names"], default="full")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from pipeline.business.columns import IncomingColumns
    from pipeline.business.register_link import link_to_register
    from pipeline.business.settings import MatchSettings
    from pseudonym.keystore import Keystore
    from pseudonym.secret import Secret
    from pseudonym.tokens import Pseudonymiser

    record = RunRecord(tool=f"pprl-{args.mode}")
    with record.phase("load"):
        register = pl.read_parquet(args.data / "register.parquet")
        incoming = pl.read_parquet(args.data / "incoming.parquet")
        keystore_dir = tempfile.mkdtemp(prefix="bench-ks-", dir=args.out)
        keystore = Keystore.create(keystore_dir, master=Secret(os.urandom(32)))
        keystore.add_environment("bench")
        pseudonymiser = Pseudonymiser.from_keystore(keystore, "bench")
    ids = {} if args.mode == "full" else {"crn": None, "vat": None, "paye": None}
    columns = IncomingColumns(key="incoming_id", **ids)  # type: ignore[arg-type]
    settings = MatchSettings()
    with record.phase("link"):
        outcome = link_to_register(
            incoming, register, pseudonymiser, incoming_columns=columns, settings=settings
        )
    with record.phase("write"):
        outcome.results.select(
            pl.col("key").alias("incoming_id"),
            "entref",
            "match_probability",
            "status",
            "method",
        ).write_parquet(args.out / "best.parquet")
    record.threshold = outcome.threshold.threshold if outcome.threshold else None
    record.notes = {"facts": outcome.facts}
    record.write(args.out)


if __name__ == "__main__":
    main()
