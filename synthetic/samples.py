"""The small sample files the README's examples run on (``configs/samples/``), all fictitious.

=====================  =================================================================
``people.csv``         ``pprl pseudonymise``: ``nhs_number``, ``crn``, ``visits``; two NHS
                       numbers broken on purpose (a wrong check digit, a wrong length)
``register.csv``       ``pprl crn-request`` / ``link-register``: a business register
``crns.csv``           ``pprl crn-request``: a researcher's request (``request_id``, ``crn``,
                       ``name``, ``postcode``): register CRNs, unknown ones, invalid ones
``businesses.csv``     ``pprl link-register``: a dataset about businesses, most in the register
``cohort.parquet``     ``pprl check-output --data``: one row per person (``region``, ``sex``,
                       ``age_band``, ``income``)
``counts.csv``         ``pprl check-output --table``: the cohort counted by region and sex
=====================  =================================================================

Regenerate them with ``python -m synthetic.samples configs/samples`` (deterministic; a test
checks the committed files match).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

from synthetic.businesses import generate_incoming, generate_register
from synthetic.persons import generate_persons

SEED = 2026
REGIONS = (
    "North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
    "East of England", "London", "South East", "South West",
)  # fmt: skip
AGE_BANDS = ("16-24", "25-34", "35-44", "45-54", "55-64", "65+")


def sample_frames() -> dict[str, pl.DataFrame]:
    """Every sample file's content, by file name."""
    register = generate_register(200, seed=SEED)
    incoming, _ = generate_incoming(register, 60, seed=SEED + 1)
    cohort = _cohort(np.random.default_rng(SEED))
    counts = cohort.group_by("region", "sex").len("count").sort("region", "sex")
    return {
        "people.csv": _people(register),
        "register.csv": register,
        "crns.csv": _crn_request(register),
        "businesses.csv": incoming,
        "cohort.parquet": cohort,
        "counts.csv": counts,
    }


def _people(register: pl.DataFrame) -> pl.DataFrame:
    persons = generate_persons(20, seed=SEED)
    nhs = persons["nhs_number"].to_list()
    nhs[3] = nhs[3][:-1] + str((int(nhs[3][-1]) + 1) % 10) if nhs[3] else "4000000005"
    nhs[7] = "12345"
    crns = register["crn"].drop_nulls().head(20).to_list()
    return pl.DataFrame(
        {
            "nhs_number": nhs,
            "crn": crns,
            "visits": [(i * 7) % 5 + 1 for i in range(20)],
        }
    )


def _crn_request(register: pl.DataFrame) -> pl.DataFrame:
    known = register.filter(pl.col("crn").is_not_null()).head(20)
    rows = [
        (f"R{i:03d}", crn, name, postcode)
        for i, (crn, name, postcode) in enumerate(
            known.select("crn", "legal_name", "postcode").iter_rows(), start=1
        )
    ]
    rows += [
        ("R021", "99999999", "Nobody Here Ltd", None),  # valid form, not in the register
        ("R022", "SC999999", None, None),
        ("R023", "ZZ12", None, None),  # invalid
    ]
    return pl.DataFrame(rows, schema=["request_id", "crn", "name", "postcode"], orient="row")


def _cohort(rng: np.random.Generator, n: int = 240) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region": rng.choice(REGIONS, n, p=_weights(len(REGIONS), rng)),
            "sex": rng.choice(["F", "M"], n),
            "age_band": rng.choice(AGE_BANDS, n),
            "income": rng.gamma(2.0, 14_000.0, n).round(-2),
        }
    )


def _weights(k: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.uniform(0.3, 1.0, k)
    return raw / raw.sum()


def write_samples(folder: str | Path) -> list[Path]:
    """Write every sample file into ``folder``; return their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in sample_frames().items():
        path = out / name
        if path.suffix == ".parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for path in write_samples(sys.argv[1] if len(sys.argv) > 1 else "configs/samples"):
        print(path)
