"""An incoming record as an administrative file (survey, grant scheme, directory) holds it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmarks.unseen_business.model import NO_FAMILY, Business
from benchmarks.unseen_business.proportions import SOURCE_ID_PRESENCE, Proportions


@dataclass(slots=True)
class Record:
    name: str
    trading_name: str
    address: str
    postcode: str
    crn: str
    vat: str
    paye: str
    category: str
    entref: str = ""  # the register row it truly is; "" when the business is not on it
    family: int = NO_FAMILY
    clean: bool = False  # exact copies get no further noise


def draw_source(rng: random.Random, proportions: Proportions) -> str:
    return rng.choices(list(proportions.sources), list(proportions.sources.values()))[0]


def from_business(
    rng: random.Random, proportions: Proportions, business: Business, category: str
) -> Record:
    """The business as it trades, with the identifiers its source file would carry."""
    crn_share, vat_share, paye_share = SOURCE_ID_PRESENCE[draw_source(rng, proportions)]
    trading_name = business.trading_name if rng.random() < 0.3 else ""
    return Record(
        name=business.legal_name,
        trading_name=trading_name,
        address=business.trading_address,
        postcode=business.trading_postcode,
        crn=business.crn if rng.random() < crn_share else "",
        vat=business.vat if rng.random() < vat_share else "",
        paye=business.paye if rng.random() < paye_share else "",
        category=category,
        entref=business.entref if business.in_register else "",
        family=business.family,
    )
