"""Apply a :class:`~synthetic.corruption.Corruption` to a frame of synthetic people."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from synthetic.corruption import Corruption, choose, digit_typo, typo
from synthetic.places import UNIT_LETTERS
from synthetic.sampling import draw_surnames, surname_pool
from synthetic.vocab import NICKNAMES, STREET_ABBREVIATIONS

_ADDRESS_COLUMNS = ("postcode", "house_number", "street", "town")


def corrupt_persons(
    frame: pl.DataFrame,
    corruption: Corruption,
    rng: np.random.Generator,
    *,
    donors: pl.DataFrame,
    reference_date: dt.date,
) -> pl.DataFrame:
    """Return ``frame`` with errors drawn at the rates in ``corruption``.

    ``donors`` supplies new addresses for people who moved. Row order and ``_person`` are kept.
    """
    n = frame.height
    if n == 0:
        return frame
    columns = {name: frame[name].to_list() for name in frame.columns}
    # The order of the edits is the order of the random draws: keep it, or seeds change data.
    _edit_names(columns, corruption, rng, reference_date)
    _edit_dates_and_sex(columns, corruption, rng)
    _move_and_edit_addresses(columns, corruption, rng, donors)
    _mistype_and_blank(columns, corruption, rng)
    return pl.DataFrame(
        {
            name: pl.Series(name, values, dtype=frame.schema[name])
            for name, values in columns.items()
        }
    )


Columns = dict[str, list[Any]]  # column name -> values, edited in place


def _edit_names(
    columns: Columns, corruption: Corruption, rng: np.random.Generator, reference_date: dt.date
) -> None:
    first, surname, dob = columns["first_name"], columns["surname"], columns["dob"]
    n = len(first)
    for i in np.flatnonzero(choose(rng, n, corruption.nickname)):
        options = NICKNAMES.get(first[i])
        if options:
            first[i] = options[int(rng.integers(len(options)))]
    for i in np.flatnonzero(choose(rng, n, corruption.first_name_typo)):
        first[i] = typo(first[i], rng)
    for i in np.flatnonzero(choose(rng, n, corruption.surname_typo)):
        surname[i] = typo(surname[i], rng)
    for i in np.flatnonzero(choose(rng, n, corruption.name_swap)):
        first[i], surname[i] = surname[i], first[i]
    adult_cutoff = reference_date.replace(year=reference_date.year - 18).isoformat()
    changed = np.flatnonzero(choose(rng, n, corruption.surname_change))
    all_surnames = surname_pool()[0]
    for i, new in zip(changed, draw_surnames(rng, changed.size), strict=True):
        if columns["sex"][i] == "F" and dob[i] is not None and dob[i] <= adult_cutoff:
            surname[i] = all_surnames[new]


def _edit_dates_and_sex(columns: Columns, corruption: Corruption, rng: np.random.Generator) -> None:
    dob, sex = columns["dob"], columns["sex"]
    n = len(dob)
    for i in np.flatnonzero(choose(rng, n, corruption.dob_day_month_swap)):
        year, month, day = dob[i].split("-")
        if int(day) <= 12 and day != month:
            dob[i] = f"{year}-{day}-{month}"
    for i in np.flatnonzero(choose(rng, n, corruption.dob_typo)):
        dob[i] = _valid_date_typo(dob[i], rng)
    for i in np.flatnonzero(choose(rng, n, corruption.sex_flip)):
        sex[i] = "M" if sex[i] == "F" else "F"


def _move_and_edit_addresses(
    columns: Columns, corruption: Corruption, rng: np.random.Generator, donors: pl.DataFrame
) -> None:
    """Movers take a donor's whole address; then keying errors and abbreviations."""
    postcode, street, house = columns["postcode"], columns["street"], columns["house_number"]
    n = len(postcode)
    movers = np.flatnonzero(choose(rng, n, corruption.move))
    new_homes = rng.integers(0, donors.height, movers.size)
    for name in _ADDRESS_COLUMNS:
        donated = donors[name].gather(new_homes).to_list()
        for i, value in zip(movers, donated, strict=True):
            columns[name][i] = value
    for i in np.flatnonzero(choose(rng, n, corruption.postcode_typo)):
        postcode[i] = postcode_typo(postcode[i], rng)
    for i in np.flatnonzero(choose(rng, n, corruption.street_abbreviation)):
        street[i] = abbreviate_street(street[i])
    for i in np.flatnonzero(choose(rng, n, corruption.house_number_typo)):
        house[i] = digit_typo(house[i], rng)


def _mistype_and_blank(columns: Columns, corruption: Corruption, rng: np.random.Generator) -> None:
    nhs = columns["nhs_number"]
    n = len(nhs)
    for i in np.flatnonzero(choose(rng, n, corruption.nhs_mistyped)):
        nhs[i] = digit_typo(nhs[i], rng)
    for column, rate in (
        ("nhs_number", corruption.nhs_missing),
        ("first_name", corruption.missing_first_name),
        ("surname", corruption.missing_surname),
        ("dob", corruption.missing_dob),
        ("postcode", corruption.missing_postcode),
        ("house_number", corruption.missing_house_number),
        ("street", corruption.missing_street),
    ):
        _blank(columns[column], choose(rng, n, rate))


def _blank(values: list[object], mask: np.ndarray) -> None:
    for i in np.flatnonzero(mask):
        values[i] = None


def _valid_date_typo(value: str, rng: np.random.Generator) -> str:
    """Change one digit of an ISO date; give up (keep the date) if three tries are invalid."""
    for _ in range(3):
        candidate = digit_typo(value, rng)
        try:
            dt.date.fromisoformat(candidate)
        except ValueError:
            continue
        return candidate
    return value


def postcode_typo(value: str, rng: np.random.Generator) -> str:
    """A keying error in the inward code that keeps a valid postcode shape."""
    outward, inward = value.split(" ")
    kind = rng.integers(3)
    if kind == 0:  # sector digit
        inward = str((int(inward[0]) + int(rng.integers(1, 10))) % 10) + inward[1:]
    elif kind == 1:  # one unit letter
        position = 1 + int(rng.integers(2))
        letter = UNIT_LETTERS[int(rng.integers(len(UNIT_LETTERS)))]
        inward = inward[:position] + letter + inward[position + 1 :]
    else:  # unit letters transposed
        inward = inward[0] + inward[2] + inward[1]
    return f"{outward} {inward}"


def abbreviate_street(value: str) -> str:
    head, _, street_type = value.rpartition(" ")
    short = STREET_ABBREVIATIONS.get(street_type)
    return f"{head} {short}" if head and short else value
