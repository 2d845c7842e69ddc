"""Synthetic people living in households, and two-file samples of them with known truth.

Households share an address and (mostly) a surname, so relatives are near-duplicates that a
linkage model must tell apart; twins share a date of birth too. Names follow a Zipf-like skew
over embedded UK name lists, so common names (SMITH, JAMES) recur as they do in real data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

from synthetic.addresses import generate_addresses
from synthetic.checkdigits import nhs_check_digit
from synthetic.corruption import Corruption
from synthetic.errors import SyntheticError
from synthetic.person_edits import corrupt_persons
from synthetic.sampling import draw_surnames, surname_pool, zipf_indices
from synthetic.vocab import (
    DIAGNOSIS_CODES,
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
)

PERSON_COLUMNS: tuple[str, ...] = (
    "record_id", "nhs_number", "first_name", "surname", "dob", "sex", "postcode",
    "house_number", "street", "town", "income", "diagnosis_code", "employment_status",
)  # fmt: skip

EMPLOYMENT_STATUSES: tuple[str, ...] = (
    "employed", "self-employed", "unemployed", "student", "retired", "inactive",
    "not applicable",
)  # fmt: skip

_PEOPLE_PER_HOUSEHOLD = 2.4
_EARLIEST_DOB = dt.date(1925, 1, 1)
_REFERENCE_DATE = dt.date(2025, 1, 1)  # ages and "adult" are judged on this date
_EPOCH = dt.date(1970, 1, 1)


def generate_persons(n: int, *, seed: int) -> pl.DataFrame:
    """``n`` synthetic people with the columns in :data:`PERSON_COLUMNS`, deterministic by seed.

    ``record_id`` is "P" and 8 digits in random order; ``nhs_number`` is a unique valid mod-11
    number in the 400-499 or 600-799 million ranges; ``dob`` is an ISO date string.
    """
    _check_count("n", n)
    people = _people(np.random.default_rng(seed), n)
    return _with_record_ids(people.drop("_person"), "P").select(PERSON_COLUMNS)


def generate_person_pair(
    n_left: int,
    n_right: int,
    *,
    overlap: float = 0.8,
    seed: int,
    corruption: Corruption | None = None,
    left_corruption: Corruption | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two files about overlapping people, and which records are the same person.

    ``round(overlap * min(n_left, n_right))`` people appear in both files. The right file is
    corrupted as described by ``corruption`` (default :class:`Corruption`); the left file is
    clean unless ``left_corruption`` is given (e.g. ``Corruption().scaled(0.3)``). Returns
    ``(left, right, truth)`` where ``truth`` has columns ``record_id_left`` and
    ``record_id_right`` (ids "L…" and "R…", in random order so they carry no signal).
    """
    _check_count("n_left", n_left)
    _check_count("n_right", n_right)
    if not 0.0 <= overlap <= 1.0:
        raise SyntheticError("generate_person_pair: overlap must be between 0 and 1")
    rng = np.random.default_rng(seed)
    n_match = round(overlap * min(n_left, n_right))
    people = _people(rng, n_left + n_right - n_match)
    left = people.slice(0, n_left)
    right = people.slice(n_left - n_match, n_right)
    right = corrupt_persons(
        right, corruption or Corruption(), rng, donors=people, reference_date=_REFERENCE_DATE
    )
    if left_corruption is not None:
        left = corrupt_persons(
            left, left_corruption, rng, donors=people, reference_date=_REFERENCE_DATE
        )
    left = _with_record_ids(left.sample(fraction=1.0, shuffle=True, seed=_subseed(rng)), "L")
    right = _with_record_ids(right.sample(fraction=1.0, shuffle=True, seed=_subseed(rng)), "R")
    truth = (
        left.select("_person", pl.col("record_id").alias("record_id_left"))
        .join(right.select("_person", pl.col("record_id").alias("record_id_right")), on="_person")
        .drop("_person")
        .sort("record_id_left")
    )
    return left.select(PERSON_COLUMNS), right.select(PERSON_COLUMNS), truth


def _check_count(name: str, value: int) -> None:
    if value < 0:
        raise SyntheticError(f"synthetic persons: {name} must be zero or more")


def _subseed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _with_record_ids(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    ids = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.String).str.zfill(8)
    return frame.with_columns(record_id=pl.lit(prefix) + ids)


def _people(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """People in random order with a hidden ``_person`` index (equal index = same person)."""
    n_households = max(1, round(n / _PEOPLE_PER_HOUSEHOLD))
    household = np.sort(rng.integers(0, n_households, n))
    addresses = generate_addresses(rng, n_households)

    surname_idx = draw_surnames(rng, n_households)[household]
    own_surname = rng.random(n) < 0.15  # lodgers, step-families, unmarried partners
    surname_idx = np.where(own_surname, draw_surnames(rng, n), surname_idx)

    female = rng.random(n) < 0.51
    first_idx = np.where(
        female,
        zipf_indices(rng, len(FEMALE_FIRST_NAMES), n, 0.6),
        len(FEMALE_FIRST_NAMES) + zipf_indices(rng, len(MALE_FIRST_NAMES), n, 0.6),
    )
    first = pl.Series(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES).gather(first_idx)

    span = (_REFERENCE_DATE - _EARLIEST_DOB).days
    dob_days = (_EARLIEST_DOB - _EPOCH).days + rng.integers(0, span, n)
    same_household = np.r_[False, household[1:] == household[:-1]]
    twins = np.flatnonzero(same_household & (rng.random(n) < 0.02))
    dob_days[twins] = dob_days[twins - 1]
    age_days = (_REFERENCE_DATE - _EPOCH).days - dob_days
    age_years: npt.NDArray[np.float64] = np.floor(age_days / 365.25)

    frame = pl.DataFrame(
        {
            "_person": np.arange(n, dtype=np.int64),
            "nhs_number": _nhs_numbers(rng, n),
            "first_name": first,
            "surname": pl.Series(surname_pool()[0]).gather(surname_idx),
            "dob": pl.Series(dob_days, dtype=pl.Int32).cast(pl.Date).dt.to_string("%Y-%m-%d"),
            "sex": np.where(female, "F", "M"),
            **{name: column.gather(household) for name, column in addresses.items()},
            "income": _incomes(rng, age_years),
            "diagnosis_code": _diagnoses(rng, n),
            "employment_status": _employment(rng, age_years),
        }
    )
    return frame.sample(fraction=1.0, shuffle=True, seed=_subseed(rng))


def _nhs_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` distinct valid NHS numbers from 400000000x-499999999x and 600000000x-799999999x."""
    found = np.empty(0, dtype=np.int64)
    while found.size < n:
        want = int((n - found.size) * 1.2) + 16
        block = rng.choice(np.array([4, 6, 7]), want, p=[1 / 3, 1 / 3, 1 / 3])
        stems = block * 100_000_000 + rng.integers(0, 100_000_000, want)
        check = nhs_check_digit(stems)
        numbers = (stems * 10 + check)[check != 10]
        found = np.unique(np.concatenate([found, numbers]))
    chosen = rng.permutation(found)[:n]
    return pl.Series(chosen).cast(pl.String)


def _incomes(rng: np.random.Generator, age: npt.NDArray[np.float64]) -> pl.Series:
    income = np.round(rng.lognormal(mean=10.2, sigma=0.6, size=age.size), -2).astype(np.int64)
    return pl.Series(income).set(pl.Series(age < 16), None)


def _diagnoses(rng: np.random.Generator, n: int) -> pl.Series:
    codes = pl.Series(DIAGNOSIS_CODES).gather(zipf_indices(rng, len(DIAGNOSIS_CODES), n, 1.0))
    return codes.set(pl.Series(rng.random(n) < 0.35), None)


def _employment(rng: np.random.Generator, age: npt.NDArray[np.float64]) -> pl.Series:
    n = age.size
    working = rng.choice(
        [0, 1, 2, 5], n, p=[0.72, 0.12, 0.05, 0.11]
    )  # employed, self-employed, unemployed, inactive
    status = np.where(age < 16, 6, working)
    status = np.where((age >= 16) & (age < 22) & (rng.random(n) < 0.6), 3, status)
    status = np.where((age >= 66) & (rng.random(n) < 0.85), 4, status)
    return pl.Series(EMPLOYMENT_STATUSES).gather(status)
