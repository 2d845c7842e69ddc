"""A small trained linkage whose inputs hold sentinel values, for the chart tests: a chart
meant for delivery must show none of them, a work-folder view must show them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import polars as pl

from linkage import Linker
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons

# Three copies on each side agree on everything: one cluster of six, the largest.
SENTINELS = {
    "first_name": "zoltanqx",
    "surname": "quixwobble",
    "dob": "1911-11-11",
    "postcode": "ZZ9 9QX",
    "house_number": "9191",
    "street": "wobblequix lane",
    "town": "qxtown",
}
SENTINEL_IDS = [f"{side}SENTINEL{i}" for side in ("L", "R") for i in range(3)]


@dataclass
class Trained:
    linker: Linker
    left: pl.DataFrame
    right: pl.DataFrame
    pairs: pl.DataFrame
    clusters: pl.DataFrame

    def values(self, min_length: int = 6) -> set[str]:
        """Every input value at least ``min_length`` characters long, ids included."""
        found: set[str] = set()
        for frame in (self.left, self.right):
            for column in frame.columns:
                found |= {str(v) for v in frame[column].drop_nulls().to_list()}
        return {v for v in found if len(v) >= min_length}


def _with_sentinels(frame: pl.DataFrame, side: str) -> pl.DataFrame:
    rows = pl.DataFrame(
        [{"record_id": f"{side}SENTINEL{i}", **SENTINELS, "dob_year": "1911"} for i in range(3)]
    )
    return pl.concat([frame, rows.select(frame.columns)])


@functools.cache
def trained() -> Trained:
    left, right, _ = generate_person_pair(800, 800, overlap=0.8, seed=11)
    left = _with_sentinels(prepare_persons(left), "L")
    right = _with_sentinels(prepare_persons(right), "R")
    linker = Linker(person_settings(), left, right)
    linker.train()
    pairs = linker.predict(threshold=None)  # every candidate pair, none floored
    clusters = linker.cluster(pairs, threshold=0.9)
    return Trained(linker, left, right, pairs, clusters)
