"""Why pprl missed true links: each missed record of the blind or hard business data, by cause.

    python -m benchmarks.business.misses --data blind   # benchmarks/data/blind_business/data
    python -m benchmarks.business.misses --data hard    # the cached 300k x 30k hard data
    python -m benchmarks.business.misses --data blind --names-only
    python -m benchmarks.business.misses --data unseen --dir WORK/data --previous-names

A diagnostic, not a benchmark: it runs ``link_to_register`` in this process (no CLI, no timing)
and keeps every candidate pair the model scored by wrapping ``Linker.predict`` and
``register_link.decide`` (so it follows the engine as it is, without a debug option in it).
A true link is missed because:

* ``wrong_link``: the record was linked to another enterprise;
* ``not_candidate``: blocking never paired the record with its enterprise;
* ``crn_rule``: ``crn_not_in_register`` (its valid CRN is in no register row);
* ``ambiguous``: candidates sharing the probability;
* ``below_floor``: a candidate, but scored below the floor kept for deciding;
* ``other_better``: another candidate scored higher;
* ``review_true_best`` / ``not_found``: the enterprise was the best candidate, in the review
  band / below it;

and per cause, the record's kind (blind and unseen: its category; hard: its address kind), and
the levels of the comparisons on the missed pairs that were candidates (mean weight in bits).
With the register's previous names mapped (``--previous-names``), the pairs the second engine
scores on them are captured too and counted for their company.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from linkage import linker as linker_module
from linkage.explain import waterfall
from pipeline.business import probabilistic, register_link
from pipeline.business.columns import IncomingColumns, RegisterColumns
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser

BLIND = Path("benchmarks/data/blind_business/data")
HARD = Path("benchmarks/data/business_hard_300000x30000_seed20261201")
LINKED = ("matched_exact", "matched_probabilistic", "matched_clerical")


class Capture:
    """Every scored candidate pair (``Linker.predict`` asked for all of them) and the pairs
    :func:`register_link.decide` saw, from one in-process run."""

    def __init__(self) -> None:
        self.pairs: pl.DataFrame | None = None
        self.decided: pl.DataFrame | None = None
        self.explain: tuple[Any, Any] | None = None
        self.owners: pl.DataFrame | None = None  # previous-name rows: ``id_r, reg_uid``

    def install(self) -> None:
        predict, decide = linker_module.Linker.predict, register_link.decide
        own_uids = probabilistic.with_own_uids

        def every_pair(linker: Any, threshold: Any = None) -> pl.DataFrame:
            pairs = predict(linker, threshold=None)
            owned = self._owned(pairs)
            self.pairs = owned if self.pairs is None else pl.concat([self.pairs, owned])
            self.explain = (linker.comparisons, linker.parameters)
            cut = pl.col("match_probability") >= threshold
            return pairs if threshold is None else pairs.filter(cut)

        def owners(previous: pl.DataFrame, first_uid: int) -> tuple[pl.DataFrame, pl.DataFrame]:
            renumbered, self.owners = own_uids(previous, first_uid)
            return renumbered, self.owners

        def keep(pairs: pl.DataFrame, settings: Any, **options: Any) -> Any:
            self.decided = pairs
            return decide(pairs, settings, **options)

        linker_module.Linker.predict = every_pair  # type: ignore[method-assign]
        register_link.decide = keep
        probabilistic.with_own_uids = owners

    def _owned(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """``pairs`` with a previous-name row's ``id_r`` replaced by its company's row."""
        if self.owners is None or self.owners.height == 0:
            return pairs
        owner = pl.coalesce("reg_uid", "id_r").alias("id_r")
        joined = pairs.join(self.owners, on="id_r", how="left", maintain_order="left")
        return joined.with_columns(owner).drop("reg_uid")


def load(
    data: str, names_only: bool, folder: Path | None = None, previous_names: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    """incoming, register, truth (``incoming_id, entref_true, kind``), link_to_register kwargs;
    ``folder``: the data's folder (blind and unseen), ``previous_names``: map the register's
    ``previous_name`` column (unseen)."""
    if data in ("blind", "unseen"):
        folder = folder or BLIND
        incoming = pl.read_csv(folder / "incoming_ids.csv", infer_schema_length=0)
        register = pl.read_parquet(folder / "register.parquet")
        detail = pl.read_parquet(folder / "truth_detail.parquet")
        entref = pl.when(pl.col("entref") != "").then(pl.col("entref"))
        truth = detail.select("incoming_id", entref.alias("entref_true"), pl.col("category"))
        columns = {
            "incoming_columns": IncomingColumns(trading_name="trading_name"),
            "register_columns": RegisterColumns(
                trading_name="trading_name",
                previous_names=("previous_name",) if previous_names else (),
            ),
        }
    else:
        incoming = pl.read_parquet(HARD / "incoming.parquet")
        register = pl.read_parquet(HARD / "register.parquet")
        truth = pl.read_parquet(HARD / "truth.parquet").select(
            "incoming_id", pl.col("entref").alias("entref_true"), pl.col("address_kind")
        )
        columns = {}
    if names_only:
        incoming = incoming.drop([c for c in ("crn", "vat", "paye") if c in incoming.columns])
    return incoming, register, truth.rename({truth.columns[2]: "kind"}), columns


def causes(
    results: pl.DataFrame, truth: pl.DataFrame, entrefs: pl.DataFrame, capture: Capture
) -> pl.DataFrame:
    """One row per missed true link: ``uid, entref_true, kind, status, cause``; ``entrefs``:
    ``reg_uid, entref_true`` (the register's row numbers as linking numbers them: every
    register row of these datasets has a valid entref, so none is dropped)."""
    assert capture.pairs is not None and capture.decided is not None
    judged = (
        results.rename({"key": "incoming_id"})
        .with_row_index("uid")
        .with_columns(pl.col("uid").cast(pl.Int64), pl.col("status").is_in(LINKED).alias("linked"))
        .join(truth, on="incoming_id", how="left")
    )
    correct = pl.col("linked") & (pl.col("entref") == pl.col("entref_true")).fill_null(False)
    missed = judged.filter(pl.col("entref_true").is_not_null() & ~correct)
    decided = capture.decided.rename({"entref": "entref_true"})
    best = capture.decided.sort("match_weight", descending=True).group_by("uid").first()
    true_pair = missed.select("uid", "entref_true").join(
        decided.select("uid", "entref_true", pl.col("match_weight").alias("kept_w")),
        on=["uid", "entref_true"],
        how="left",
    )
    cause = (
        pl.when(pl.col("linked")).then(pl.lit("wrong_link"))
        .when(~pl.col("candidate")).then(pl.lit("not_candidate"))
        .when(pl.col("status") == "crn_not_in_register").then(pl.lit("crn_rule"))
        .when(pl.col("status") == "ambiguous").then(pl.lit("ambiguous"))
        .when(pl.col("kept_w").is_null()).then(pl.lit("below_floor"))
        .when(pl.col("best_entref") != pl.col("entref_true")).then(pl.lit("other_better"))
        .when(pl.col("status") == "review").then(pl.lit("review_true_best"))
        .otherwise(pl.col("status"))
    )  # fmt: skip
    return (
        missed.join(true_pair, on=["uid", "entref_true"], how="left")
        .join(best.select("uid", pl.col("entref").alias("best_entref")), on="uid", how="left")
        .join(_candidates(missed, entrefs, capture), on="uid", how="left")
        .with_columns(pl.col("candidate").fill_null(False))
        .with_columns(cause.alias("cause"))
        .select("uid", "entref_true", "kind", "status", "cause")
    )


def _candidates(missed: pl.DataFrame, entrefs: pl.DataFrame, capture: Capture) -> pl.DataFrame:
    """``uid, candidate`` of the missed records whose enterprise was scored at all."""
    assert capture.pairs is not None
    pairs = capture.pairs.select(pl.col("id_l").alias("uid"), pl.col("id_r").alias("reg_uid"))
    found = pairs.join(entrefs, on="reg_uid").join(
        missed.select("uid", "entref_true"), on=["uid", "entref_true"]
    )
    return found.select("uid").unique().with_columns(candidate=pl.lit(True))


def levels_of_missed(missed: pl.DataFrame, entrefs: pl.DataFrame, capture: Capture) -> pl.DataFrame:
    """Per cause and comparison level, how many missed candidate pairs have it and its mean
    weight (bits)."""
    assert capture.pairs is not None and capture.explain is not None
    scored = missed.filter(pl.col("cause") != "not_candidate")
    true_pairs = scored.select(pl.col("uid").alias("id_l"), "entref_true")
    pairs = (
        capture.pairs.join(entrefs.rename({"reg_uid": "id_r"}), on="id_r")
        .join(true_pairs, on=["id_l", "entref_true"], how="semi")
        .unique(["id_l", "id_r"])
    )
    steps = waterfall(pairs, *capture.explain).join(
        scored.select(pl.col("uid").alias("id_l"), "cause"), on="id_l"
    )
    return (
        steps.filter(pl.col("component") != "prior")
        .group_by("cause", "component", "label")
        .agg(pl.len().alias("pairs"), pl.col("match_weight").mean().round(2).alias("bits"))
        .sort("cause", "component", "pairs", descending=[False, False, True])
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["blind", "hard", "unseen"], default="blind")
    parser.add_argument("--dir", type=Path, help="the data folder (blind, unseen)")
    parser.add_argument("--previous-names", action="store_true", help="map previous_name")
    parser.add_argument("--out", type=Path, help="write the missed records here (parquet)")
    parser.add_argument("--names-only", action="store_true")
    parser.add_argument("--levels", action="store_true", help="also the levels of missed pairs")
    args = parser.parse_args(argv)
    incoming, register, truth, columns = load(
        args.data, args.names_only, args.dir, args.previous_names
    )
    entrefs = register.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("reg_uid"),
        pl.col("entref").cast(pl.String).alias("entref_true"),
    )
    keystore = Keystore.create(Path(tempfile.mkdtemp()) / "ks", master=generate_master_key())
    keystore.add_environment("diagnostic")
    capture = Capture()
    capture.install()
    outcome = register_link.link_to_register(
        incoming, register, Pseudonymiser.from_keystore(keystore, "diagnostic"), **columns
    )
    missed = causes(outcome.results, truth, entrefs, capture)
    report = {
        "data": args.data,
        "names_only": args.names_only,
        "true_links": int(truth["entref_true"].count()),
        "missed": missed.height,
        "by_cause": dict(missed.group_by("cause").len().sort("len", descending=True).rows()),
        "by_cause_and_kind": [
            {"cause": c, "kind": k, "records": n}
            for c, k, n in missed.group_by("cause", "kind")
            .len()
            .sort("len", descending=True)
            .rows()
        ],
    }
    print(json.dumps(report, indent=2))
    if args.out is not None:
        missed.write_parquet(args.out)
    if args.levels:
        with pl.Config(tbl_rows=200, tbl_width_chars=160, fmt_str_lengths=70):
            print(levels_of_missed(missed, entrefs, capture))


if __name__ == "__main__":
    main()
