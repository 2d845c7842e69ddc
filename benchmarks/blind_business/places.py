"""Towns, postcodes and street addresses in real UK formats (the places are real, the
addresses fictitious).

A postcode is the town's outward code (area + district, as Royal Mail allocates them) and an
inward code: a digit and two letters from the 20 letters Royal Mail uses there (never C, I, K,
M, O or V).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmarks.blind_business.vocab import words

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class Town:
    """A post town with the districts a generated postcode may fall in."""

    name: str
    districts: tuple[str, ...]
    weight: float
    country: str  # "E", "W", "S" or "N"


def _span(area: str, low: int, high: int) -> tuple[str, ...]:
    return tuple(f"{area}{n}" for n in range(low, high + 1))


TOWNS: tuple[Town, ...] = (
    Town(
        "LONDON",
        _span("E", 1, 18)
        + _span("N", 1, 22)
        + _span("NW", 1, 11)
        + _span("SE", 1, 28)
        + _span("SW", 1, 20)
        + _span("W", 2, 14)
        + ("EC1A", "EC2A", "EC3A", "WC1B", "WC2H"),
        14.0,
        "E",
    ),
    Town("MANCHESTER", _span("M", 1, 40), 4.0, "E"),
    Town("BIRMINGHAM", _span("B", 1, 45), 4.0, "E"),
    Town("LEEDS", _span("LS", 1, 29), 3.0, "E"),
    Town("SHEFFIELD", _span("S", 1, 36), 2.0, "E"),
    Town("BRISTOL", _span("BS", 1, 16), 2.5, "E"),
    Town("LIVERPOOL", _span("L", 1, 38), 2.0, "E"),
    Town("NEWCASTLE UPON TYNE", _span("NE", 1, 15), 1.5, "E"),
    Town("NOTTINGHAM", _span("NG", 1, 16), 1.5, "E"),
    Town("LEICESTER", _span("LE", 1, 5), 1.5, "E"),
    Town("COVENTRY", _span("CV", 1, 6), 1.0, "E"),
    Town("SOUTHAMPTON", _span("SO", 14, 19), 1.0, "E"),
    Town("PORTSMOUTH", _span("PO", 1, 6), 0.8, "E"),
    Town("BRIGHTON", _span("BN", 1, 2), 1.0, "E"),
    Town("READING", _span("RG", 1, 6), 1.2, "E"),
    Town("OXFORD", _span("OX", 1, 4), 0.8, "E"),
    Town("CAMBRIDGE", _span("CB", 1, 5), 0.8, "E"),
    Town("NORWICH", _span("NR", 1, 7), 0.8, "E"),
    Town("EXETER", _span("EX", 1, 4), 0.7, "E"),
    Town("PLYMOUTH", _span("PL", 1, 9), 0.7, "E"),
    Town("TRURO", ("TR1",), 0.3, "E"),
    Town("BATH", _span("BA", 1, 2), 0.5, "E"),
    Town("GLOUCESTER", _span("GL", 1, 4), 0.5, "E"),
    Town("CHELTENHAM", _span("GL", 50, 53), 0.5, "E"),
    Town("WORCESTER", _span("WR", 1, 5), 0.5, "E"),
    Town("STOKE-ON-TRENT", _span("ST", 1, 6), 0.8, "E"),
    Town("DERBY", _span("DE", 1, 24), 0.9, "E"),
    Town("LINCOLN", _span("LN", 1, 6), 0.5, "E"),
    Town("HULL", _span("HU", 1, 9), 0.8, "E"),
    Town("YORK", _span("YO", 1, 32), 0.7, "E"),
    Town("BRADFORD", _span("BD", 1, 10), 1.0, "E"),
    Town("WAKEFIELD", _span("WF", 1, 4), 0.6, "E"),
    Town("HUDDERSFIELD", _span("HD", 1, 5), 0.6, "E"),
    Town("BOLTON", _span("BL", 1, 3), 0.6, "E"),
    Town("PRESTON", _span("PR", 1, 5), 0.6, "E"),
    Town("BLACKPOOL", _span("FY", 1, 4), 0.5, "E"),
    Town("CARLISLE", _span("CA", 1, 3), 0.4, "E"),
    Town("MIDDLESBROUGH", _span("TS", 1, 8), 0.6, "E"),
    Town("SUNDERLAND", _span("SR", 1, 6), 0.6, "E"),
    Town("CHESTER", _span("CH", 1, 4), 0.5, "E"),
    Town("WARRINGTON", _span("WA", 1, 5), 0.6, "E"),
    Town("WOLVERHAMPTON", _span("WV", 1, 14), 0.8, "E"),
    Town("NORTHAMPTON", _span("NN", 1, 5), 0.7, "E"),
    Town("MILTON KEYNES", _span("MK", 1, 19), 0.9, "E"),
    Town("LUTON", _span("LU", 1, 4), 0.6, "E"),
    Town("PETERBOROUGH", _span("PE", 1, 7), 0.6, "E"),
    Town("CHELMSFORD", _span("CM", 1, 3), 0.6, "E"),
    Town("COLCHESTER", _span("CO", 1, 4), 0.5, "E"),
    Town("MAIDSTONE", _span("ME", 14, 16), 0.5, "E"),
    Town("GUILDFORD", _span("GU", 1, 4), 0.6, "E"),
    Town("CROYDON", ("CR0", "CR2", "CR7", "CR9"), 0.8, "E"),
    Town("WATFORD", _span("WD", 17, 25), 0.6, "E"),
    Town("SWINDON", _span("SN", 1, 5), 0.6, "E"),
    Town("BOURNEMOUTH", _span("BH", 1, 11), 0.6, "E"),
    Town("CARDIFF", _span("CF", 10, 24), 1.5, "W"),
    Town("SWANSEA", _span("SA", 1, 7), 0.8, "W"),
    Town("NEWPORT", _span("NP", 10, 20), 0.5, "W"),
    Town("WREXHAM", _span("LL", 11, 14), 0.4, "W"),
    Town("BANGOR", ("LL57",), 0.2, "W"),
    Town("ABERYSTWYTH", ("SY23",), 0.2, "W"),
    Town("CARMARTHEN", ("SA31",), 0.2, "W"),
    Town("GLASGOW", _span("G", 1, 53), 2.5, "S"),
    Town("EDINBURGH", _span("EH", 1, 17), 2.0, "S"),
    Town("ABERDEEN", _span("AB", 10, 25), 0.8, "S"),
    Town("DUNDEE", _span("DD", 1, 5), 0.5, "S"),
    Town("INVERNESS", _span("IV", 1, 3), 0.3, "S"),
    Town("BELFAST", _span("BT", 1, 17), 1.2, "N"),
    Town("LONDONDERRY", ("BT47", "BT48"), 0.3, "N"),
    Town("NEWRY", ("BT34", "BT35"), 0.2, "N"),
)
TOWN_WEIGHTS = [town.weight for town in TOWNS]

STREETS = words(
    """
HIGH_STREET STATION_ROAD MAIN_STREET PARK_ROAD CHURCH_ROAD CHURCH_STREET LONDON_ROAD
VICTORIA_ROAD GREEN_LANE MANOR_ROAD CHURCH_LANE PARK_AVENUE THE_AVENUE THE_CRESCENT
QUEENS_ROAD NEW_ROAD GRANGE_ROAD KINGS_ROAD MILL_LANE ALBERT_ROAD STATION_STREET
MARKET_STREET BRIDGE_STREET WATER_LANE MILL_ROAD NORTH_STREET SOUTH_STREET WEST_STREET
EAST_STREET YORK_ROAD GEORGE_STREET KING_STREET QUEEN_STREET CASTLE_STREET BROAD_STREET
ELM_ROAD OAK_AVENUE CEDAR_CLOSE MEADOW_WAY RIVERSIDE_DRIVE HARBOUR_ROAD DOCK_STREET
"""
)
STREET_NAMES = [street.replace("_", " ") for street in STREETS]

ESTATE_KINDS = ["INDUSTRIAL ESTATE", "BUSINESS PARK", "TRADING ESTATE", "ENTERPRISE PARK"]

#: Street words and the short forms incoming data use for them.
STREET_ABBREVIATIONS = {
    "STREET": "ST",
    "ROAD": "RD",
    "AVENUE": "AVE",
    "LANE": "LN",
    "CRESCENT": "CRES",
    "DRIVE": "DR",
    "CLOSE": "CL",
    "INDUSTRIAL ESTATE": "IND EST",
    "BUSINESS PARK": "BUS PK",
    "TRADING ESTATE": "TRAD EST",
}


@dataclass(frozen=True)
class Place:
    """One address: street line(s), town and postcode."""

    street: str
    town: str
    postcode: str
    country: str

    @property
    def address(self) -> str:
        return f"{self.street}, {self.town}"


def pick_town(rng: random.Random) -> Town:
    return rng.choices(TOWNS, weights=TOWN_WEIGHTS)[0]


def postcode_in(rng: random.Random, town: Town, district: str | None = None) -> str:
    outward = district or rng.choice(town.districts)
    letters = rng.choice(INWARD_LETTERS) + rng.choice(INWARD_LETTERS)
    return f"{outward} {rng.randrange(10)}{letters}"


def street_line(rng: random.Random, street_names: list[str]) -> str:
    """A street address line: a numbered street, or a unit on an estate (a fifth of them)."""
    street = rng.choice(street_names)
    if rng.random() < 0.2:
        estate = f"{rng.choice(['PENNINE', 'OAK', 'CENTRAL', 'RIVERSIDE', 'PARKWAY', 'GATEWAY'])}"
        return f"UNIT {rng.randint(1, 40)}, {estate} {rng.choice(ESTATE_KINDS)}, {street}"
    return f"{rng.randint(1, 240)} {street}"


def random_place(rng: random.Random, town: Town | None = None) -> Place:
    town = town or pick_town(rng)
    return Place(street_line(rng, STREET_NAMES), town.name, postcode_in(rng, town), town.country)


def town_named(name: str) -> Town:
    for town in TOWNS:
        if town.name == name:
            return town
    raise KeyError(name)
