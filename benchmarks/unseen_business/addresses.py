"""UK-shaped addresses and postcodes: trading premises, homes, and formation-agent offices."""

from __future__ import annotations

import random
from itertools import accumulate

from benchmarks.unseen_business import vocab

_TOWN_WEIGHTS = list(accumulate(town.weight for town in vocab.TOWNS))
# Letters used in the inward code (the Royal Mail excludes C, I, K, M, O and V).
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
NATION_TOWNS: dict[str, list[int]] = {
    nation: [index for index, town in enumerate(vocab.TOWNS) if town.nation == nation]
    for nation in ("E", "S", "N")
}


def pick_town(rng: random.Random, nation: str | None = None) -> int:
    """Index into ``vocab.TOWNS``, weighted by business counts; optionally within a nation."""
    if nation is None:
        return rng.choices(range(len(vocab.TOWNS)), cum_weights=_TOWN_WEIGHTS)[0]
    return rng.choice(NATION_TOWNS[nation])


def other_town(rng: random.Random, town: int) -> int:
    """A different town (a namesake elsewhere, a move across the country)."""
    while True:
        candidate = pick_town(rng)
        if vocab.TOWNS[candidate].name != vocab.TOWNS[town].name:
            return candidate


def postcode(rng: random.Random, town: int) -> str:
    """A postcode of the town's area: outward code (area, district) and inward code."""
    area = vocab.TOWNS[town].area
    if area in ("EC", "WC") or (area in ("W", "SW") and rng.random() < 0.3):
        district = f"{rng.randint(1, 2)}{rng.choice('ABCHMNPRSVWXY')}"  # central London: EC1A
    else:
        district = str(rng.randint(1, 24 if len(area) == 2 else 40))
    inward = f"{rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return f"{area}{district} {inward}"


def street(rng: random.Random) -> str:
    return f"{rng.choice(vocab.STREET_STEMS)} {rng.choice(vocab.STREET_TYPES)}"


def premises(rng: random.Random, town: int) -> tuple[str, str]:
    """(address, postcode) of an ordinary business: a shopfront, a unit, an office, a home."""
    place = vocab.TOWNS[town].name
    draw = rng.random()
    if draw < 0.45:
        line = f"{rng.randint(1, 240)} {street(rng)}"
    elif draw < 0.75:
        estate = f"{rng.choice(vocab.BUILDING_WORDS)} {rng.choice(vocab.ESTATE_WORDS)}"
        line = f"UNIT {rng.randint(1, 40)}, {estate}, {street(rng)}"
    else:
        building = f"{rng.choice(vocab.BUILDING_WORDS)} HOUSE"
        line = f"{rng.choice(('SUITE', 'FLOOR', 'OFFICE'))} {rng.randint(1, 12)}, {building}"
        line += f", {rng.randint(1, 120)} {street(rng)}"
    return f"{line}, {place}", postcode(rng, town)


def agent_office(rng: random.Random, town: int) -> tuple[str, str]:
    """A formation agent's or accountant's office, the registered office of hundreds."""
    building = f"{rng.choice(vocab.BUILDING_WORDS)} {rng.choice(('HOUSE', 'CHAMBERS', 'COURT'))}"
    first = rng.randrange(1, 90, 2)
    line = f"{building}, {first}-{first + rng.choice((2, 4, 6))} {street(rng)}"
    return f"{line}, {vocab.TOWNS[town].name}", postcode(rng, town)
