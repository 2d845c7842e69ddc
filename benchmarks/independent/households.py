"""Small person files built around households: the case pprl's training gets wrong today.

Written for the household reproduction (:mod:`.household_repro`), independently of the
project's own person generator (``synthetic``): its assumptions (one person per address,
independent fields) are exactly what hides the failure. Here, as in a census:

* households of 1-6 people at one address (street number, street name, postcode), sizes
  drawn from a census-like distribution (28% one person, 35% two, 15% three, ...);
* families share the surname and address; partners are of either sex, a fifth keep their own
  surname; children are born 18-45 years after the younger partner; ``twin_rate`` of
  families with children have twins (same dob, same surname and address, own first name,
  either sex);
* a tenth of the multi-person households are house shares (unrelated adults, own surnames);
* first names come from separate female and male lists, so a sex disagreement goes with a
  first-name disagreement, as in real data.

:func:`household_link_pair` returns two files: every person in the left file, ``overlap``
of them again in the right with typos (a letter substituted, dropped or swapped in a name;
a transposed digit or swapped day and month in the dob), missing values and, for
``move_rate`` of them, a new address. :func:`household_dedupe` returns one file in which
``duplicate_rate`` of the people appear twice. Truth: ``person_id`` and ``household_id``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE = _words(
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy "
    "betty margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah "
    "stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela "
    "emma nicole helen samantha katherine christine debra rachel carolyn janet catherine "
    "maria heather diane ruth julie olivia joyce virginia victoria kelly lauren christina"
)
MALE = _words(
    "james robert john michael david william richard joseph thomas charles christopher "
    "daniel matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george "
    "timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry "
    "justin scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis "
    "jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah ethan jeremy"
)
SURNAME_SYLLABLES = _words(
    "ab al an ar ash bar ber bl br cal car ch cl cr dal der ed el er fen for gar gr ham har "
    "hen hol kin lan ley lin mar mer mor nel nor ol par per pr ram ren rob ros sh son st tal "
    "ter th tom ton vin war wel wil win wood"
)
STREET_TYPES = ("st", "rd", "ave", "ln", "dr", "way", "ct", "pl")
SIZE_SHARES = (0.28, 0.35, 0.15, 0.13, 0.06, 0.03)  # households of 1..6 people
LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    parts = rng.choice(SURNAME_SYLLABLES, size=(n * 2, 2))
    names = np.unique(np.array(["".join(p) + "s" * (i % 3 == 0) for i, p in enumerate(parts)]))
    rng.shuffle(names)
    return names[:n]


def _zipf(rng: np.random.Generator, pool: np.ndarray | tuple[str, ...], size: int) -> np.ndarray:
    w = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    return rng.choice(np.asarray(pool), size=size, p=w / w.sum())


def _person(rng: np.random.Generator, sex: str, surname: str, born: dt.date) -> dict[str, str]:
    pool = FEMALE if sex == "f" else MALE
    return {
        "first_name": str(_zipf(rng, pool, 1)[0]),
        "last_name": surname,
        "dob": born.isoformat(),
        "sex": sex,
    }


def _date(rng: np.random.Generator, start: int, end: int) -> dt.date:
    return dt.date(start, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * (end - start))))


def _family(
    rng: np.random.Generator, size: int, surnames: np.ndarray, twin_rate: float
) -> list[dict[str, str]]:
    surname = str(_zipf(rng, surnames, 1)[0])
    first = _date(rng, 1940, 1985)
    sex = str(rng.choice(["f", "m"]))
    people = [_person(rng, sex, surname, first)]
    if size == 1:
        return people
    partner_surname = surname if rng.random() > 0.2 else str(_zipf(rng, surnames, 1)[0])
    partner_born = first + dt.timedelta(days=int(rng.integers(-3000, 3000)))
    people.append(_person(rng, str(rng.choice(["f", "m"])), partner_surname, partner_born))
    younger = max(first, partner_born)
    twins = rng.random() < twin_rate
    latest = min(younger + dt.timedelta(days=45 * 365), dt.date(2020, 12, 31))
    earliest = younger + dt.timedelta(days=18 * 365)
    while len(people) < size:
        span = max((latest - earliest).days, 1)
        born = earliest + dt.timedelta(days=int(rng.integers(0, span)))
        n_kids = 2 if twins and len(people) + 2 <= size else 1
        twins = twins and n_kids == 1  # one pair of twins per family
        for _ in range(n_kids):
            people.append(_person(rng, str(rng.choice(["f", "m"])), surname, born))
    return people


def _house_share(rng: np.random.Generator, size: int, surnames: np.ndarray) -> list[dict[str, str]]:
    return [
        _person(
            rng,
            str(rng.choice(["f", "m"])),
            str(_zipf(rng, surnames, 1)[0]),
            _date(rng, 1960, 2000),
        )
        for _ in range(size)
    ]


def _address(rng: np.random.Generator, streets: np.ndarray) -> dict[str, str]:
    return {
        "street_number": str(int(rng.integers(1, 400))),
        "street_name": str(rng.choice(streets)),
        "postcode": f"{int(rng.integers(10000, 99999))}",
    }


def generate_population(
    n_households: int, *, seed: int = 0, twin_rate: float = 0.05
) -> pl.DataFrame:
    """One row per person: ``person_id``, ``household_id``, names, dob, sex, address."""
    rng = np.random.default_rng(seed)
    surnames = _surnames(rng, max(200, n_households // 3))
    streets = np.array(
        [
            f"{s[:-1] if s.endswith('s') else s} {rng.choice(STREET_TYPES)}"
            for s in _surnames(rng, 300)
        ]
    )
    rows = []
    sizes = rng.choice(np.arange(1, 7), size=n_households, p=SIZE_SHARES)
    for h, size in enumerate(sizes):
        shared = size > 1 and rng.random() < 0.1
        members = (
            _house_share(rng, size, surnames) if shared else _family(rng, size, surnames, twin_rate)
        )
        address = _address(rng, streets)
        rows += [{"household_id": h, **address, **p} for p in members]
    frame = pl.DataFrame(rows)
    return frame.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return word[:i] + str(rng.choice(LETTERS)) + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _dob_error(rng: np.random.Generator, dob: str) -> str:
    y, m, d = dob.split("-")
    if int(d) <= 12 and rng.random() < 0.5:
        return f"{y}-{d}-{m}"
    return f"{y[:2]}{y[3]}{y[2]}-{m}-{d}"


def corrupt(
    people: pl.DataFrame, *, seed: int, typo_rate: float = 0.1, missing_rate: float = 0.03
) -> pl.DataFrame:
    """A second record of each person: name typos, dob errors and missing values."""
    rng = np.random.default_rng(seed)
    rows = people.to_dicts()
    for row in rows:
        for col in ("first_name", "last_name"):
            if rng.random() < typo_rate:
                row[col] = _typo(rng, row[col])
        if rng.random() < typo_rate / 2:
            row["dob"] = _dob_error(rng, row["dob"])
        for col in ("first_name", "last_name", "dob", "sex", "street_number"):
            if rng.random() < missing_rate:
                row[col] = None
    return pl.DataFrame(rows, schema=people.schema)


def _with_ids(frame: pl.DataFrame, prefix: str, seed: int) -> pl.DataFrame:
    order = np.random.default_rng(seed).permutation(frame.height)
    shuffled = frame[order]
    ids = pl.Series("record_id", [f"{prefix}{i:06d}" for i in range(frame.height)])
    return shuffled.insert_column(0, ids)


def household_link_pair(
    n_households: int = 2000,
    *,
    seed: int = 0,
    overlap: float = 0.7,
    move_rate: float = 0.05,
    twin_rate: float = 0.05,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(left, right, truth)``: ``truth`` has ``id_l, id_r``; both files keep ``person_id``
    and ``household_id`` (drop them before giving the files to a linker)."""
    rng = np.random.default_rng(seed + 1)
    people = generate_population(n_households, seed=seed, twin_rate=twin_rate)
    again = people.filter(pl.Series(rng.random(people.height) < overlap))
    moved = rng.random(again.height) < move_rate
    streets = people["street_name"].unique().sort().to_numpy()
    new = [_address(rng, streets) for _ in range(int(moved.sum()))]
    again = again.with_row_index("__i")
    if new:
        moves = pl.DataFrame(new).with_columns(
            pl.Series("__i", np.flatnonzero(moved), dtype=pl.UInt32)
        )
        again = again.update(moves, on="__i")
    right = corrupt(again.drop("__i"), seed=seed + 2)
    left = _with_ids(people, "l", seed + 3)
    right = _with_ids(right, "r", seed + 4)
    truth = left.select(pl.col("record_id").alias("id_l"), "person_id").join(
        right.select(pl.col("record_id").alias("id_r"), "person_id"), on="person_id"
    )
    return left, right, truth.select("id_l", "id_r")


def household_dedupe(
    n_households: int = 2000,
    *,
    seed: int = 0,
    duplicate_rate: float = 0.15,
    twin_rate: float = 0.05,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(records, truth)``: one file in which ``duplicate_rate`` of the people appear twice
    (the second record corrupted); ``truth`` has ``id_l < id_r``."""
    rng = np.random.default_rng(seed + 1)
    people = generate_population(n_households, seed=seed, twin_rate=twin_rate)
    dupes = corrupt(
        people.filter(pl.Series(rng.random(people.height) < duplicate_rate)), seed=seed + 2
    )
    records = _with_ids(pl.concat([people, dupes]), "d", seed + 3)
    a = records.select("record_id", "person_id")
    truth = a.join(a, on="person_id", suffix="_r").filter(
        pl.col("record_id") < pl.col("record_id_r")
    )
    return records, truth.select(
        pl.col("record_id").alias("id_l"), pl.col("record_id_r").alias("id_r")
    )
