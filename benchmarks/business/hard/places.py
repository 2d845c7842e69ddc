"""Business addresses and postcodes: street addresses, shared premises (business parks, office
buildings where many unrelated businesses share a postcode) and formation-agent offices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.business.hard.vocab import (
    AGENT_ADDRESSES,
    INWARD_LETTERS,
    PREMISES,
    STREET_STEMS,
    STREET_TYPES,
    TOWNS,
)

PREMISES_PER_TOWN = 60


@dataclass(frozen=True)
class Address:
    """One address: ``line`` without the town, ``town``, ``postcode`` ("LS11 5QT")."""

    line: str
    town: str
    postcode: str
    nation: str

    def text(self) -> str:
        return f"{self.line}, {self.town}"


class Places:
    """Draws addresses; the shared premises of each town are fixed at construction."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        weights = np.array([t[4] for t in TOWNS], dtype=float)
        self.town_p = weights / weights.sum()
        self.town_names = [t[0] for t in TOWNS]
        self.premises = [
            [self._premises(i) for _ in range(PREMISES_PER_TOWN)] for i in range(len(TOWNS))
        ]
        self.agents = [
            Address(line.rsplit(", ", 1)[0], town, postcode, "E")
            for line, postcode, town in AGENT_ADDRESSES
        ]

    def town(self, exclude: int | None = None) -> int:
        """A town index, weighted by size; never ``exclude`` (or its town name)."""
        while True:
            index = int(self.rng.choice(len(TOWNS), p=self.town_p))
            if exclude is None or TOWNS[index][0] != TOWNS[exclude][0]:
                return index

    def postcode(self, town: int) -> str:
        _, area, districts, _, _ = TOWNS[town]
        rng = self.rng
        letters = rng.choice(list(INWARD_LETTERS), size=2)
        return f"{area}{rng.integers(1, districts + 1)} {rng.integers(0, 10)}{''.join(letters)}"

    def _premises(self, town: int) -> tuple[str, str]:
        rng = self.rng
        name = f"{rng.choice(STREET_STEMS)} {rng.choice(PREMISES)}"
        return name, self.postcode(town)

    def address(self, town: int) -> Address:
        """A street address (75%) or a unit in one of the town's shared premises."""
        rng = self.rng
        name, _, _, nation, _ = TOWNS[town]
        if rng.random() < 0.25:
            premises, postcode = self.premises[town][rng.integers(PREMISES_PER_TOWN)]
            line = f"UNIT {rng.integers(1, 40)}, {premises}"
            return Address(line, name, postcode, nation)
        street, _ = STREET_TYPES[rng.integers(len(STREET_TYPES))]
        number = int(rng.integers(1, 260))
        suffix = "A" if rng.random() < 0.04 else ""
        line = f"{number}{suffix} {rng.choice(STREET_STEMS)} {street}"
        return Address(line, name, self.postcode(town), nation)

    def agent(self, index: int) -> Address:
        return self.agents[index % len(self.agents)]

    def next_door(self, address: Address) -> Address:
        """Another unit at the same premises or the next street number: same postcode."""
        head, _, rest = address.line.partition(" ")
        if head == "UNIT":
            number, _, premises = rest.partition(", ")
            return Address(
                f"UNIT {int(number) + 1}, {premises}",
                address.town,
                address.postcode,
                address.nation,
            )
        digits = "".join(ch for ch in head if ch.isdigit())
        return Address(f"{int(digits) + 2} {rest}", address.town, address.postcode, address.nation)
