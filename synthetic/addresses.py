"""Synthetic UK addresses: real postcode districts, generated sectors, units and streets."""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.places import DISTRICTS, UNIT_LETTERS
from synthetic.sampling import zipf_indices
from synthetic.vocab import STREET_NAMES, STREET_TYPES

_ADDRESSES_PER_POSTCODE = 12


def generate_addresses(rng: np.random.Generator, n: int) -> dict[str, pl.Series]:
    """``n`` addresses: units of ~12 addresses share a postcode; each unit has 1-2 streets."""
    n_units = max(1, n // _ADDRESSES_PER_POSTCODE)
    weights = np.array([w for _, _, w in DISTRICTS], dtype=float)
    district = rng.choice(len(DISTRICTS), n_units, p=weights / weights.sum())
    sector = (district * 7 + rng.integers(0, 4, n_units)) % 10  # ~4 sectors per district
    letters = np.array(list(UNIT_LETTERS))
    units = pl.DataFrame(
        {
            "outward": pl.Series([d for d, _, _ in DISTRICTS]).gather(district),
            "sector": sector.astype(str),
            "l1": letters[rng.integers(0, len(letters), n_units)],
            "l2": letters[rng.integers(0, len(letters), n_units)],
            "town": pl.Series([t for _, t, _ in DISTRICTS]).gather(district),
        }
    ).select(
        postcode=pl.concat_str("outward", pl.lit(" "), "sector", "l1", "l2"),
        town=pl.col("town"),
    )
    street_names = zipf_indices(rng, len(STREET_NAMES), 2 * n_units, 0.6).reshape(n_units, 2)
    type_weights = np.array([w for _, w in STREET_TYPES])
    street_types = rng.choice(len(STREET_TYPES), (n_units, 2), p=type_weights / type_weights.sum())

    unit = rng.integers(0, n_units, n)
    which = (rng.random(n) < 0.3).astype(np.int64)  # second street of the unit
    streets = (
        pl.Series(STREET_NAMES).gather(street_names[unit, which])
        + " "
        + pl.Series([t for t, _ in STREET_TYPES]).gather(street_types[unit, which])
    )
    numbers = pl.Series(rng.integers(1, 160, n)).cast(pl.String)
    suffix = np.where(rng.random(n) < 0.06, np.where(rng.random(n) < 0.7, "A", "B"), "")
    return {
        "postcode": units["postcode"].gather(unit),
        "house_number": numbers + pl.Series(suffix),
        "street": streets,
        "town": units["town"].gather(unit),
    }
