"""EXPERIMENT (issue 10, d16): date of birth's m from the first name + surname pass with
each comparison's u given the block key, deduplicating census + ACS + CPS.

The pass that trains dob's m blocks on first name + surname. Its non-matches are same-named
strangers (born closer than random pairs, middle initial shared more often) and same-named
relatives at one address, yet EM scores them with random-pair u and without the address
(held out: correlated with surname). This script replays that pass in numpy on the pairs the
trained model scores (``E0``: the engine's pass, reproduced to three places), and again with

* ``E4``: the address (street number exact and street name at or near its top, as one
  binary comparison) in the pass at its u given a shared surname, dob's distance levels and
  middle initial at their u given a shared first name (all three from record pairs sharing
  that one name, where matches are a negligible share);

then replaces dob's m (comparison and dependency) by the refit's, re-estimates lambda and
scores ``link_by_source`` at its automatic threshold as the benchmark does. The truth is read
for the report only (pairs' classes, the true dob level tallies), never by the estimators.

Run: ``python -m benchmarks.independent.experiments.name_pass_u 10 6`` (seeds whose task
folder exists under ``/work/data/independent``; ``--data-dir`` to change).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.independent.data import DEFAULT_DATA_DIR, tool_records
from benchmarks.independent.run_pprl import settings_for
from benchmarks.independent.scoring import linked_pair_scores, ordered
from benchmarks.independent.tasks import Task
from benchmarks.linkage.spec import MIN_WRITTEN_PROBABILITY

TASK = "dedupe_census_acs_cps"
PASS_COMPARISONS = ("middle_initial", "dob", "sex", "unit_number")


def em(
    gammas: np.ndarray, m0: Sequence[np.ndarray], u: Sequence[np.ndarray], iterations: int = 200
) -> tuple[list[np.ndarray], np.ndarray]:
    """Two-class EM, u held, m free; gamma -1 (null) is no evidence. m and posteriors."""
    m = [np.asarray(x, dtype=float) for x in m0]
    lam = 0.1
    post = np.zeros(len(gammas))
    for _ in range(iterations):
        like_m, like_u = np.full(len(gammas), lam), np.full(len(gammas), 1 - lam)
        for j in range(len(m)):
            g = gammas[:, j]
            known = g >= 0
            like_m[known] *= m[j][g[known]]
            like_u[known] *= u[j][g[known]]
        post = like_m / (like_m + like_u)
        lam = float(post.mean())
        for j in range(len(m)):
            g = gammas[:, j]
            known = g >= 0
            tally = np.bincount(g[known], weights=post[known], minlength=len(m[j])) + 1e-6
            m[j] = tally / tally.sum()
    return m, post


def dob_level(days: pl.Expr) -> pl.Expr:
    """DateOfBirthComparison's levels from a day distance (DL<=1 not told apart)."""
    return (
        pl.when(days == 0)
        .then(5)
        .when(days <= 31)
        .then(3)
        .when(days <= 366)
        .then(2)
        .when(days <= 3653)
        .then(1)
        .otherwise(0)
    )


def shared_name_u(records: pl.DataFrame, key: str, ordinary_dob: np.ndarray) -> dict[str, Any]:
    """u of address given surname, and of dob levels and middle initial given first name."""
    pairs = records.join(records, on=key, suffix="_r").filter(pl.col("id") < pl.col("id_r"))
    if key == "last_name":
        known = pairs.drop_nulls(["street_number", "street_name", "street_number_r"])
        same = (pl.col("street_number") == pl.col("street_number_r")) & (
            pl.col("street_name") == pl.col("street_name_r")
        )
        return {"address": float(known.select(same.mean()).item())}
    dated = pairs.drop_nulls(["dob", "dob_r"])
    days = (pl.col("dob") - pl.col("dob_r")).dt.total_days().abs()
    levels = dated.select(dob_level(days).alias("level"))["level"].to_numpy()
    shares = np.bincount(levels, minlength=6).astype(float) + 0.5
    shares /= shares.sum()
    dob = ordinary_dob.copy()  # exact, DL<=1 and one month: too few pairs, ordinary u
    dob[:3] = shares[:3] / shares[:3].sum() * (1 - dob[3:].sum())
    initials = pairs.drop_nulls(["middle_initial", "middle_initial_r"])
    same_initial = float((initials["middle_initial"] == initials["middle_initial_r"]).mean())
    return {"dob": dob, "middle_initial": same_initial}


def replay(seed: int, data_dir: Path) -> None:
    from linkage import Linker
    from linkage.sources import one_link_per_source

    folder = data_dir / f"{TASK}_seed{seed}"
    task = Task.read(folder)
    records = tool_records(folder, task)
    linker = Linker(settings_for(task), records)
    linker.train(seed=seed + 1)
    params = linker.parameters
    truth = pl.read_parquet(folder / "truth.parquet").with_columns(is_match=pl.lit(True))
    pairs = ordered(linker.predict(threshold=None), task.link_type)
    pairs = pairs.join(truth, on=["id_l", "id_r"], how="left").with_columns(
        pl.col("is_match").fill_null(False)
    )
    top = {name: len(c.m) - 1 for name, c in params.comparisons.items()}
    block = pairs.filter(
        (pl.col("gamma_first_name") == top["first_name"])
        & (pl.col("gamma_last_name") == top["last_name"])
    )
    at_address = (pl.col("gamma_street_number") == top["street_number"]) & (
        pl.col("gamma_street_name") >= top["street_name"] - 1
    )
    known = (pl.col("gamma_street_number") >= 0) & (pl.col("gamma_street_name") >= 0)
    block = block.with_columns(address=pl.when(known).then(at_address.cast(pl.Int8)).otherwise(-1))
    gammas = block.select([f"gamma_{c}" for c in PASS_COMPARISONS]).to_numpy().astype(int)
    u = [np.asarray(params.comparisons[c].u, dtype=float) for c in PASS_COMPARISONS]
    u[2] = np.asarray(params.dependencies["sex"].u_top) if "sex" in params.dependencies else u[2]
    m0 = [np.asarray(params.comparisons[c].m, dtype=float) for c in PASS_COMPARISONS]
    m_e0, post_e0 = em(gammas, m0, u)

    frame = pl.DataFrame(records) if not isinstance(records, pl.DataFrame) else records
    people = frame.rename({frame.columns[0]: "id"})
    if people.schema["dob"] == pl.Utf8:
        people = people.with_columns(pl.col("dob").str.to_date(strict=False))
    given_surname = shared_name_u(people, "last_name", u[1])
    given_first = shared_name_u(people, "first_name", u[1])
    u4 = [np.array([1 - given_first["middle_initial"], given_first["middle_initial"]])]
    u4 += [given_first["dob"], u[2], u[3], np.array([1 - given_surname["address"], 0.0])]
    u4[4][1] = given_surname["address"]
    gammas4 = np.column_stack([gammas, block["address"].to_numpy()])
    m_e4, post_e4 = em(gammas4, [*m0, np.array([0.2, 0.8])], u4)

    is_match = block["is_match"].to_numpy()
    same_place = block["address"].to_numpy() == 1
    true_dob = block.filter(pl.col("is_match") & (pl.col("gamma_dob") >= 0))["gamma_dob"]
    print(f"seed {seed}: true pairs' dob levels {np.bincount(true_dob, minlength=6)}")
    for label, m, post in (("E0", m_e0, post_e0), ("E4", m_e4, post_e4)):
        relatives = post[same_place & ~is_match].sum()
        strangers = post[~same_place & ~is_match].sum()
        print(
            f"  {label} dob m {np.round(m[1], 3)}; non-matches' posterior mass: "
            f"{relatives:.1f} at one address, {strangers:.1f} elsewhere"
        )
    for label, m_dob in (("model", None), ("E4", m_e4[1])):
        if m_dob is not None:
            values = [float(v) for v in m_dob]
            params.comparisons["dob"].m = values
            dependency = params.dependencies["dob"]
            dependency.m_top = dependency.m_other = values
            if dependency.m_prefix:
                dependency.m_prefix = values
            linker.estimate_lambda()
        scored = linker.predict(threshold=MIN_WRITTEN_PROBABILITY)
        decided = linker.link_by_source(scored)
        out = decided.pairs.with_columns(one_link=one_link_per_source(decided.pairs))
        scores = linked_pair_scores(
            ordered(out, task.link_type), truth.drop("is_match"), decided.threshold
        )
        best = max(scores["best_f1"], scores["best_f1_one_link"], scores["best_f1_model"])
        print(f"  {label}: F1 {scores['f1']:.4f} best {best:.4f} gap {best - scores['f1']:.3f}")
    linker.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    for seed in args.seeds:
        replay(seed, args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
