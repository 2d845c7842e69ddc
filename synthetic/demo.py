"""Messy source files for pipeline tests and ``pprl demo``, with known counts of bad IDs.

Two files about overlapping people, formatted the way real extracts arrive:

- ``hospital_episodes.csv``: free-text names ("Mr John SMITH", "SMITH, John"), day-first dates,
  NHS numbers sometimes spaced "943 476 5919", postcodes in any case and spacing.
- ``gp_register.parquet``: split names, typed dates, address in parts, research attributes.

A known number of NHS numbers are deliberately broken in each file (wrong check digit, wrong
length, a letter in place of a digit) on top of the missing ones; the returned
:class:`DemoSources` says how many of each.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from synthetic.corruption import Corruption
from synthetic.errors import SyntheticError
from synthetic.persons import generate_person_pair

InvalidKind = Literal["missing", "bad_check_digit", "wrong_length", "non_numeric"]
INVALID_KINDS: tuple[InvalidKind, ...] = (
    "missing", "bad_check_digit", "wrong_length", "non_numeric",
)  # fmt: skip

HOSPITAL_FILE = "hospital_episodes.csv"
GP_FILE = "gp_register.parquet"
TRUTH_FILE = "truth.parquet"


@dataclass(frozen=True)
class DemoSources:
    """Where :func:`write_demo_sources` put its files and what is in them."""

    hospital_path: Path
    gp_path: Path
    truth_path: Path
    hospital_rows: int
    gp_rows: int
    true_links: int
    #: file label ("hospital" / "gp") -> kind of invalid NHS number -> count
    invalid_nhs: Mapping[str, Mapping[InvalidKind, int]]


def write_demo_sources(out_dir: str | Path, *, n: int, seed: int) -> DemoSources:
    """Write a hospital-episodes CSV (~0.8 n rows) and a GP-register Parquet (n rows).

    80% of the smaller file's people are in both; ``truth.parquet`` lists the true pairs
    (``episode_id``, ``gp_record_id``). Deterministic by ``seed``.
    """
    problems = [
        *(["write_demo_sources: n must be at least 10"] if n < 10 else []),
        *(["write_demo_sources: seed must be zero or more"] if seed < 0 else []),
    ]
    if problems:  # numpy's own error for a negative seed would quote the value
        raise SyntheticError(*problems)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Mistyped NHS numbers are injected below with exact counts instead of at random.
    corruption = Corruption(nhs_mistyped=0.0, nhs_missing=0.15)
    gp, hospital, truth = generate_person_pair(
        n, round(0.8 * n), overlap=0.8, seed=seed, corruption=corruption
    )
    gp_bad: dict[InvalidKind, int] = {"bad_check_digit": max(1, n // 200)}
    hospital_bad: dict[InvalidKind, int] = {
        "bad_check_digit": max(1, n // 100),
        "wrong_length": max(1, n // 200),
        "non_numeric": max(1, n // 400),
    }
    gp_nhs = _break_numbers(gp["nhs_number"], gp_bad, rng)
    hospital_nhs = _break_numbers(hospital["nhs_number"], hospital_bad, rng)

    hospital_frame = _hospital_layout(hospital.with_columns(nhs_number=hospital_nhs), rng)
    gp_frame = _gp_layout(gp.with_columns(nhs_number=gp_nhs))
    paths = (out / HOSPITAL_FILE, out / GP_FILE, out / TRUTH_FILE)
    _write_atomic(paths[0], hospital_frame.write_csv)
    _write_atomic(paths[1], gp_frame.write_parquet)
    truth_frame = truth.select(
        pl.col("record_id_right").str.replace("^R", "HES").alias("episode_id"),
        pl.col("record_id_left").str.replace("^L", "GP").alias("gp_record_id"),
    )
    _write_atomic(paths[2], truth_frame.write_parquet)
    return DemoSources(
        hospital_path=paths[0],
        gp_path=paths[1],
        truth_path=paths[2],
        hospital_rows=hospital_frame.height,
        gp_rows=gp_frame.height,
        true_links=truth_frame.height,
        invalid_nhs={
            "hospital": _counts(hospital_nhs.null_count(), hospital_bad),
            "gp": _counts(gp_nhs.null_count(), gp_bad),
        },
    )


def _counts(missing: int, broken: Mapping[InvalidKind, int]) -> dict[InvalidKind, int]:
    counts: dict[InvalidKind, int] = {kind: 0 for kind in INVALID_KINDS}
    counts.update(broken)
    counts["missing"] = missing
    return counts


def _break_numbers(
    numbers: pl.Series, broken: Mapping[InvalidKind, int], rng: np.random.Generator
) -> pl.Series:
    """Break exactly ``broken[kind]`` present numbers in each way; the rest are untouched."""
    values = numbers.to_list()
    present = np.flatnonzero(numbers.is_not_null().to_numpy())
    total = sum(broken.values())
    if total > present.size:
        raise SyntheticError("write_demo_sources: too few NHS numbers to break")
    chosen = rng.choice(present, total, replace=False)
    start = 0
    for kind, count in broken.items():
        for i in chosen[start : start + count]:
            values[i] = _break(values[i], kind, rng)
        start += count
    return pl.Series(numbers.name, values, dtype=pl.String)


def _break(number: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "bad_check_digit":  # the check digit is unique, so any other digit fails
        return number[:9] + str((int(number[9]) + int(rng.integers(1, 10))) % 10)
    if kind == "wrong_length":
        return number[:9] if rng.random() < 0.5 else number + str(int(rng.integers(10)))
    position = int(rng.integers(10))  # non_numeric: a letter keyed or OCR'd for a digit
    return number[:position] + "OIlSB"[int(rng.integers(5))] + number[position + 1 :]


def _hospital_layout(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    full = _free_text_names(frame, rng.integers(0, 4, n))
    nhs_written = _sometimes_spaced(frame["nhs_number"], rng.random(n) < 0.5)
    postcode_style = pl.Series(rng.integers(0, 3, n))
    return pl.DataFrame(
        {
            "episode_id": frame["record_id"].str.replace("^R", "HES"),
            "nhs_number": nhs_written,
            "patient_name": full.replace("", None),
            "date_of_birth": frame["dob"]
            .str.to_date("%Y-%m-%d", strict=False)
            .dt.to_string("%d/%m/%Y"),
            "sex": frame["sex"],
            "postcode": pl.DataFrame({"pc": frame["postcode"], "s": postcode_style})
            .select(
                pl.when(pl.col("s") == 0)
                .then(pl.col("pc").str.replace(" ", ""))
                .when(pl.col("s") == 1)
                .then(pl.col("pc").str.to_lowercase())
                .otherwise(pl.col("pc"))
            )
            .to_series(),
            "address": frame.select(
                pl.concat_str(
                    [
                        pl.concat_str(
                            ["house_number", pl.col("street").str.to_titlecase()],
                            separator=" ",
                            ignore_nulls=True,
                        ),
                        "town",
                    ],
                    separator=", ",
                    ignore_nulls=True,
                )
            ).to_series(),
            "diagnosis_code": frame["diagnosis_code"],
            # written like the file's dates of birth: one date format per file
            "admission_date": _admission_dates(rng, n).dt.to_string("%d/%m/%Y"),
        }
    )


def _free_text_names(frame: pl.DataFrame, styles: np.ndarray) -> pl.Series:
    """Whole names as clerks type them: "Mr John SMITH", "SMITH, John", "John Smith"..."""
    titles = pl.Series(np.where(frame["sex"].to_numpy() == "F", "Ms", "Mr"))
    first = frame["first_name"].fill_null("").str.to_titlecase()
    surname = frame["surname"].fill_null("")
    return (
        pl.DataFrame({"style": styles, "title": titles, "first": first, "surname": surname})
        .select(
            pl.when(pl.col("style") == 0)
            .then(pl.col("title") + " " + pl.col("first") + " " + pl.col("surname"))
            .when(pl.col("style") == 1)
            .then(pl.col("surname") + ", " + pl.col("first"))
            .when(pl.col("style") == 2)
            .then(pl.col("first") + " " + pl.col("surname").str.to_titlecase())
            .otherwise(pl.col("first").str.to_uppercase() + " " + pl.col("surname"))
            .str.strip_chars(" ,")
        )
        .to_series()
    )


def _sometimes_spaced(nhs: pl.Series, spaced: np.ndarray) -> pl.Series:
    """Ten-digit numbers written "943 476 5919" where ``spaced``, as printed on NHS cards."""
    return (
        pl.DataFrame({"nhs": nhs, "spaced": spaced})
        .select(
            pl.when(pl.col("spaced") & (pl.col("nhs").str.len_chars() == 10))
            .then(
                pl.col("nhs").str.slice(0, 3)
                + " "
                + pl.col("nhs").str.slice(3, 3)
                + " "
                + pl.col("nhs").str.slice(6, 4)
            )
            .otherwise(pl.col("nhs"))
        )
        .to_series()
    )


def _admission_dates(rng: np.random.Generator, n: int) -> pl.Series:
    start = (dt.date(2023, 4, 1) - dt.date(1970, 1, 1)).days
    days = start + rng.integers(0, 365, n)
    return pl.Series(days, dtype=pl.Int32).cast(pl.Date)


def _gp_layout(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("record_id").str.replace("^L", "GP").alias("gp_record_id"),
        "nhs_number",
        pl.col("first_name").alias("forename"),
        "surname",
        pl.col("dob").str.to_date("%Y-%m-%d", strict=False).alias("date_of_birth"),
        "sex",
        "postcode",
        "house_number",
        "street",
        "town",
        "income",
        "employment_status",
    )


def _write_atomic(path: Path, writer: Callable[[Path], object]) -> None:
    """Write through a temporary file beside ``path`` and rename it, so no reader sees half a
    file (the pipeline's own writer is not used: this package depends on nothing in pprl)."""
    tmp = path.with_name(f".tmp-{path.name}")
    writer(tmp)
    os.replace(tmp, path)


def split_demo_sources(inputs: Path, root: Path, *, repeat_last: int = 0) -> None:
    """The demo's hospital episodes in three files (``root/hospital/ep-N.csv``) and its GP
    register in two (``root/gp/reg-N.parquet``); with ``repeat_last``, a fourth hospital file
    repeats that many last episodes (new episodes of known patients)."""
    episodes = pl.read_csv(inputs / HOSPITAL_FILE, infer_schema=False)
    third = -(-episodes.height // 3)
    (root / "hospital").mkdir()
    for n in range(3):
        episodes.slice(n * third, third).write_csv(root / "hospital" / f"ep-{n}.csv")
    if repeat_last:
        episodes.tail(repeat_last).write_csv(root / "hospital" / "ep-3.csv")
    register = pl.read_parquet(inputs / GP_FILE)
    half = register.height // 2
    (root / "gp").mkdir()
    register.head(half).write_parquet(root / "gp" / "reg-0.parquet")
    register.tail(register.height - half).write_parquet(root / "gp" / "reg-1.parquet")
