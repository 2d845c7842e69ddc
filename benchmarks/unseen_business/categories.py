"""One function per kind of incoming record on the register: who qualifies, what changes.

Each ``make`` takes a register business and returns the record a file would hold for it;
each ``eligible`` says which register rows can be the subject of that kind of record.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.unseen_business import addresses, identifiers, noise, vocab
from benchmarks.unseen_business.families import sisters_at_address
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.record import Record, from_business
from benchmarks.unseen_business.world import World

_SURNAMES = frozenset(vocab.SURNAMES)


@dataclass(frozen=True)
class Kind:
    eligible: Callable[[Business], bool]
    make: Callable[[World, Business], Record]


def _plain(category: str) -> Callable[[World, Business], Record]:
    def make(world: World, business: Business) -> Record:
        return from_business(world.rng, world.proportions, business, category)

    return make


def _exact(world: World, business: Business) -> Record:
    record = from_business(world.rng, world.proportions, business, "exact")
    record.clean = True
    return record


def _noisy_name(world: World, business: Business) -> Record:
    record = from_business(world.rng, world.proportions, business, "noisy_name")
    record.name = noise.noisy_name(world.rng, record.name, edits=world.rng.randint(1, 3))
    return record


def _trading_name(world: World, business: Business) -> Record:
    record = from_business(world.rng, world.proportions, business, "trading_name")
    record.trading_name = ""
    if world.rng.random() < 0.6:
        record.name = business.trading_name
    else:
        record.name = f"{business.legal_name} {world.rng.choice(('T/A', 'TRADING AS'))} "
        record.name += business.trading_name
    return record


def _old_name(world: World, business: Business) -> Record:
    record = from_business(world.rng, world.proportions, business, "old_name")
    record.name = business.previous_name
    return record


def _moved(world: World, business: Business) -> Record:
    """The business has moved since the register was updated (or the file is newer)."""
    rng = world.rng
    record = from_business(rng, world.proportions, business, "moved_address")
    town = business.town if rng.random() < 0.6 else addresses.other_town(rng, business.town)
    record.address, record.postcode = addresses.premises(rng, town)
    return record


def _formation_agent(world: World, business: Business) -> Record:
    """Files give where it trades; the register gives the agent's office."""
    record = from_business(world.rng, world.proportions, business, "formation_agent")
    if world.rng.random() < 0.15:
        record.address, record.postcode = business.address, business.postcode
    return record


def _sister(world: World, business: Business) -> Record:
    record = from_business(world.rng, world.proportions, business, "sister_same_address")
    if world.rng.random() < 0.7:
        record.address, record.postcode = business.address, business.postcode
    return record


def _group_vat(world: World, business: Business) -> Record:
    """A VAT file: the group's number, rarely a CRN."""
    record = from_business(world.rng, world.proportions, business, "group_vat")
    record.vat = business.vat
    if world.rng.random() < 0.7:
        record.crn = ""
    return record


def _unincorporated(world: World, business: Business) -> Record:
    """A sole trader or partnership: initials spelled out or reversed, or the trading name."""
    rng = world.rng
    record = from_business(rng, world.proportions, business, "unincorporated")
    words = business.legal_name.split()
    draw = rng.random()
    if business.trading_name and draw < 0.35:
        record.name = f"{business.legal_name} T/A {business.trading_name}"
    elif business.trading_name and draw < 0.55:
        record.name = business.trading_name
    elif len(words) == 2 and len(words[0]) == 1 and draw < 0.8:
        record.name = rng.choice(
            (f"{words[1]} {words[0]}", f"MR {business.legal_name}", f"{words[0]}. {words[1]}")
        )
    return record


def _wrong_identifier(world: World, business: Business) -> Record:
    """A sister's valid CRN keyed by mistake, or a VAT/CRN keying error."""
    rng = world.rng
    record = from_business(rng, world.proportions, business, "wrong_identifier")
    sisters = [s for s in world.families.get(business.family, []) if s is not business]
    if sisters and rng.random() < world.proportions.wrong_id_is_sister_crn:
        record.crn = rng.choice(sisters).crn
    elif business.vat:
        record.vat = identifiers.vat_typo(rng, business.vat)
    else:
        record.crn = identifiers.crn_typo(rng, business.crn)
    return record


def register_kinds(world: World) -> dict[str, Kind]:
    """The kinds of on-register record, keyed by the category label truth_detail carries."""
    shared_cores = Counter(business.core for business in world.register)
    sister_rows = {id(b) for b in world.register if sisters_at_address(b, world)}

    def common(business: Business) -> bool:
        return (
            business.family < 0 and business.core in _SURNAMES and shared_cores[business.core] >= 3
        )

    company = lambda b: b.kind != "unincorporated"  # noqa: E731
    return {
        "exact": Kind(lambda b: True, _exact),
        "noisy_name": Kind(lambda b: True, _noisy_name),
        "trading_name": Kind(lambda b: bool(b.trading_name), _trading_name),
        "old_name": Kind(lambda b: bool(b.previous_name), _old_name),
        "moved_address": Kind(lambda b: b.agent < 0, _moved),
        "formation_agent": Kind(lambda b: b.agent >= 0, _formation_agent),
        "sister_same_address": Kind(lambda b: id(b) in sister_rows, _sister),
        "common_name": Kind(common, _plain("common_name")),
        "dissolved": Kind(lambda b: b.status == "dissolved", _plain("dissolved")),
        "successor_of_dissolved": Kind(
            lambda b: b.role == "successor", _plain("successor_of_dissolved")
        ),
        "group_vat": Kind(lambda b: b.vat_group, _group_vat),
        "unincorporated": Kind(lambda b: b.kind == "unincorporated", _unincorporated),
        "wrong_identifier": Kind(company, _wrong_identifier),
    }


def pick(rng: random.Random, pool: list[Business], used: set[int], count: int) -> list[Business]:
    """Up to ``count`` businesses from ``pool`` not used by another record yet."""
    chosen: list[Business] = []
    order = list(range(len(pool)))
    rng.shuffle(order)
    for index in order:
        if len(chosen) == count:
            break
        business = pool[index]
        if business.uid not in used:
            used.add(business.uid)
            chosen.append(business)
    return chosen
