"""STAND-IN person-pair generator, used only when ``synthetic`` is not importable.

It mimics the interface of ``synthetic.generate_person_pair`` (returns left, right,
truth) so the harness could be developed before the real generator landed. Results produced
with it are labelled ``data_source: "standin"`` in the JSON and are not comparable with runs on
the real generator. Names are syllable compounds with Zipf frequencies; corruption is typos,
missing values, day/month swaps and house moves.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

_SYLLABLES = (
    "al",
    "an",
    "ar",
    "be",
    "bel",
    "bri",
    "ca",
    "car",
    "da",
    "del",
    "el",
    "em",
    "fa",
    "fer",
    "ga",
    "gil",
    "ha",
    "han",
    "is",
    "ja",
    "jo",
    "ka",
    "ke",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "mar",
    "mi",
    "mo",
    "na",
    "ne",
    "no",
    "ol",
    "pa",
    "pe",
    "ra",
    "ri",
    "ro",
    "sa",
    "se",
    "sha",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "vi",
    "wil",
    "ya",
    "ze",
)
_STREET_TYPES = ("road", "street", "lane", "avenue", "close", "way", "drive", "grove")
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _names(rng: np.random.Generator, n: int, parts: int) -> np.ndarray:
    picks = rng.choice(len(_SYLLABLES), size=(n * 3, parts))
    words = np.unique(np.array(["".join(_SYLLABLES[i] for i in row) for row in picks]))
    rng.shuffle(words)
    return words[:n]


def _zipf_choice(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.9
    return rng.choice(pool, size=size, p=weights / weights.sum())


def _postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    area = rng.choice(np.array(["AB", "B", "BS", "CF", "E", "LS", "M", "N", "NE", "SW"]), n * 2)
    district = rng.integers(1, 30, n * 2)
    sector = rng.integers(0, 10, n * 2)
    unit = rng.choice(_LETTERS, (n * 2, 2))
    codes = [
        f"{a}{d} {s}{u[0]}{u[1]}".upper()
        for a, d, s, u in zip(area, district, sector, unit, strict=True)
    ]
    return np.unique(np.array(codes))[:n]


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 2:
        return word
    i = int(rng.integers(0, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:  # substitution
        return word[:i] + str(rng.choice(_LETTERS)) + word[i + 1 :]
    if kind == 1:  # deletion
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # transposition


def _corrupt(rng: np.random.Generator, people: dict[str, np.ndarray]) -> dict[str, list[object]]:
    n = len(people["first_name"])
    out: dict[str, list[object]] = {k: list(v) for k, v in people.items()}
    for col in ("first_name", "surname", "street", "town"):
        for i in np.flatnonzero(rng.random(n) < 0.06):
            out[col][i] = _typo(rng, str(out[col][i]))
    for i in np.flatnonzero(rng.random(n) < 0.03):  # day/month swap when it stays a date
        d = out["dob"][i]
        assert isinstance(d, dt.date)
        if d.day <= 12:
            out["dob"][i] = d.replace(month=d.day, day=d.month)
    for col in ("first_name", "surname", "dob", "postcode", "house_number", "street", "town"):
        for i in np.flatnonzero(rng.random(n) < 0.03):
            out[col][i] = None
    return out


def generate_person_pair_standin(
    n_left: int, n_right: int, *, overlap: float = 0.8, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Return ``(left, right, truth)``; ``truth`` has columns ``id_l``, ``id_r``.

    ``overlap`` is the share of the smaller file whose people also appear in the other file.
    """
    rng = np.random.default_rng(seed)
    shared = int(overlap * min(n_left, n_right))
    n_people = n_left + n_right - shared
    first_pool = _names(rng, max(500, n_people // 200), 2)
    surname_pool = _names(rng, max(2000, n_people // 20), 3)
    n_addr = max(100, n_people // 2)
    postcodes = _postcodes(rng, n_addr)
    n_addr = len(postcodes)
    street_pool = np.array([f"{w} {rng.choice(_STREET_TYPES)}" for w in _names(rng, 5000, 2)])
    town_pool = _names(rng, 300, 2)
    addr_street = rng.choice(street_pool, n_addr)
    addr_town = _zipf_choice(rng, town_pool, n_addr)

    start = dt.date(1930, 1, 1).toordinal()
    dob = [dt.date.fromordinal(start + int(d)) for d in rng.integers(0, 80 * 365, n_people)]
    people = {
        "first_name": _zipf_choice(rng, first_pool, n_people),
        "surname": _zipf_choice(rng, surname_pool, n_people),
        "dob": np.array(dob, dtype=object),
        "sex": rng.choice(np.array(["F", "M"]), n_people),
        "addr": rng.integers(0, n_addr, n_people),
        "house_number": rng.integers(1, 200, n_people).astype(str),
    }
    left_people = np.arange(n_left)  # people 0..shared-1 are in both files
    right_people = np.concatenate([np.arange(shared), np.arange(n_left, n_people)])

    def build(idx: np.ndarray, prefix: str, moves: float) -> pl.DataFrame:
        addr = people["addr"][idx].copy()
        house = people["house_number"][idx].copy()
        moved = rng.random(len(idx)) < moves
        addr[moved] = rng.integers(0, n_addr, int(moved.sum()))
        house[moved] = rng.integers(1, 200, int(moved.sum())).astype(str)
        base = {
            "first_name": people["first_name"][idx],
            "surname": people["surname"][idx],
            "dob": people["dob"][idx],
            "postcode": postcodes[addr],
            "house_number": house,
            "street": addr_street[addr],
            "town": addr_town[addr],
        }
        cols = _corrupt(rng, base)
        order = rng.permutation(len(idx))
        frame = pl.DataFrame(
            {
                **{
                    k: pl.Series(k, v, dtype=pl.Date if k == "dob" else pl.String)
                    for k, v in cols.items()
                },
                "sex": people["sex"][idx],
                "person": idx,
            }
        )
        # Ids are assigned after shuffling so they say nothing about who matches whom.
        ids = pl.Series("record_id", [f"{prefix}{i:08d}" for i in range(len(idx))])
        return frame[order].insert_column(0, ids)

    left = build(left_people, "L", 0.0)
    right = build(right_people, "R", 0.12)
    truth = (
        left.select(pl.col("record_id").alias("id_l"), "person")
        .join(right.select(pl.col("record_id").alias("id_r"), "person"), on="person")
        .select("id_l", "id_r")
    )
    return left.drop("person"), right.drop("person"), truth
