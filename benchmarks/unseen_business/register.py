"""Builds the world and its register: groups, agents' clients, single companies, traders."""

from __future__ import annotations

import datetime
import random

from benchmarks.unseen_business import families, names, vocab
from benchmarks.unseen_business.identities import Identities
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.proportions import Proportions
from benchmarks.unseen_business.world import (
    World,
    add_agent_client,
    add_unincorporated,
    make_agents,
    unique_company,
)

_FIRST_DISSOLUTION = datetime.date(2012, 1, 1)
_LAST_DISSOLUTION = datetime.date(2026, 10, 30)


def build_world(proportions: Proportions, seed: int) -> World:
    rng = random.Random(seed)
    world = World(proportions, rng, Identities(rng, proportions))
    make_agents(world)
    rows = proportions.register_rows
    unincorporated = round(rows * proportions.unincorporated)
    companies = rows - unincorporated
    in_families = families.add_families(world, round(companies * proportions.family_members))
    agent_clients = round(companies * proportions.agent_clients)
    for _ in range(agent_clients):
        add_agent_client(world, proportions.surname_names)
    for _ in range(companies - in_families - agent_clients):
        unique_company(world, role="single", surname_share=proportions.surname_names)
    for _ in range(unincorporated):
        add_unincorporated(world)
    _give_tax_identifiers(world)
    families.share_vat_groups(world)
    _dissolve(world)
    _reuse_names(world)
    _rename(world)
    _add_trading_names(world)
    _assign_entrefs(world)
    return world


def _give_tax_identifiers(world: World) -> None:
    rng, proportions = world.rng, world.proportions
    for business in world.businesses:
        incorporated = business.kind != "unincorporated"
        vat_share = proportions.vat_registered if incorporated else proportions.unincorporated_vat
        paye_share = (
            proportions.paye_registered if incorporated else proportions.unincorporated_paye
        )
        if rng.random() < vat_share:
            business.vat = world.ids.vat()
        if rng.random() < paye_share:
            business.paye = world.ids.paye()
        if not incorporated and not business.vat and not business.paye:
            business.vat = world.ids.vat()  # a trader is on a business register through a tax


def _dissolve(world: World) -> None:
    """Dissolved companies stay on the register, with the date they were struck off."""
    rng = world.rng
    span = (_LAST_DISSOLUTION - _FIRST_DISSOLUTION).days
    for business in world.businesses:
        if business.kind != "unincorporated" and rng.random() < world.proportions.dissolved:
            business.status = "dissolved"
            date = _FIRST_DISSOLUTION + datetime.timedelta(days=rng.randrange(span))
            business.dissolution_date = date.isoformat()


def _reuse_names(world: World) -> None:
    """A dissolved company's name taken by an active one: a phoenix at the same address
    (half), or an unrelated firm elsewhere. The successor is an existing single company, given
    the old one's register (CRN prefix) and the name with LTD and LIMITED perhaps swapped."""
    rng = world.rng
    singles = [b for b in world.businesses if b.role == "single" and b.status == "active"]
    rng.shuffle(singles)
    dissolved = [
        b
        for b in world.businesses
        if b.status == "dissolved" and b.role == "single" and b.kind == "company"
    ]
    for old, successor in zip(dissolved, singles, strict=False):
        if rng.random() >= world.proportions.name_reused:
            continue
        successor.role, successor.kind, successor.core = "successor", old.kind, old.core
        successor.crn = world.ids.crn(old.crn[:2] if old.crn[:2].isalpha() else "")
        successor.legal_name = _swap_ending(rng, old.legal_name)
        other_nation = vocab.TOWNS[successor.town].nation != vocab.TOWNS[old.town].nation
        if other_nation or rng.random() < 0.5:  # the prefix names the nation's register
            successor.town = old.town
            successor.address, successor.postcode = old.address, old.postcode
            successor.trading_address, successor.trading_postcode = old.address, old.postcode


def _swap_ending(rng: random.Random, name: str) -> str:
    if rng.random() < 0.5:
        return name
    if name.endswith(" LIMITED"):
        return name.removesuffix(" LIMITED") + " LTD"
    return name.removesuffix(" LTD") + " LIMITED" if name.endswith(" LTD") else name


def _previous_name(rng: random.Random, business: Business) -> str:
    """The name before a change: another brand, or a word the company has since dropped."""
    suffix = business.legal_name.rsplit(" ", 1)[-1]
    draw = rng.random()
    if draw < 0.45:
        return names.with_suffix(names.brand_stem(rng), suffix)
    body = business.legal_name[: -len(suffix)].strip()
    if draw < 0.8:
        return f"{body} {rng.choice(('TRADING', 'SERVICES', 'SOLUTIONS', 'UK'))} {suffix}"
    return f"{business.core} {rng.choice(vocab.TRADES)} {suffix}"


def _rename(world: World) -> None:
    for business in world.businesses:
        if business.kind == "company" and world.rng.random() < world.proportions.changed_name:
            previous = business.legal_name
            while names.same_as_key(previous) == names.same_as_key(business.legal_name):
                previous = _previous_name(world.rng, business)
            business.previous_name = previous


def _add_trading_names(world: World) -> None:
    rng = world.rng
    for business in world.businesses:
        if business.kind == "unincorporated" or rng.random() >= world.proportions.trading_name:
            continue
        business.trading_name = rng.choice(
            (
                f"{rng.choice(vocab.DESCRIPTIVE)} {rng.choice(vocab.TRADES)}",
                f"{business.core} {rng.choice(vocab.TRADES)}",
                f"{business.core}S",
            )
        )


def _assign_entrefs(world: World) -> None:
    """Register order says nothing about groups: rows shuffled, entrefs numbered in order."""
    world.register = [business for business in world.businesses if business.in_register]
    world.rng.shuffle(world.register)
    for index, business in enumerate(world.register, start=1):
        business.entref = f"{9_000_000_000 + index * 7:010d}"
