"""Incoming records of businesses that are NOT on the register, built to look like ones that are.

- unregistered_sibling: a sister of a registered company, same stem and office, own valid CRN;
- namesake_other_town: a business in another town whose name is (nearly) a register name;
- new_business: a company or trader started after the register was taken;
- unincorporated_not_in_register: a sole trader with a common name ("J SMITH").
"""

from __future__ import annotations

from benchmarks.unseen_business import addresses, names, vocab
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.record import Record, from_business
from benchmarks.unseen_business.world import World, add_unincorporated, unique_company


def sibling(world: World, business: Business) -> Record:
    """Files about a sister the register lacks; many carry its own CRN."""
    record = from_business(world.rng, world.proportions, business, "unregistered_sibling")
    if world.rng.random() < world.proportions.sibling_carries_crn:
        record.crn = business.crn
    return record


def _off_register(world: World, business: Business) -> Business:
    """Off the register, with the tax registrations a business of its kind would have."""
    proportions = world.proportions
    business.in_register = False
    company = business.kind != "unincorporated"
    vat = proportions.vat_registered if company else proportions.unincorporated_vat
    paye = proportions.paye_registered if company else proportions.unincorporated_paye
    business.vat = world.ids.vat() if world.rng.random() < vat else ""
    business.paye = world.ids.paye() if world.rng.random() < paye else ""
    return business


def _namesake_name(world: World, original: Business) -> tuple[str, str]:
    """(name, kind) of a namesake: the same words as a trader, or a near-variant company."""
    rng = world.rng
    body = original.legal_name
    for ending in (" LIMITED", " LTD", " LLP", " PLC", " CIC"):
        body = body.removesuffix(ending)
    if original.kind == "unincorporated" or rng.random() < 0.5:
        return body, "unincorporated"
    variants = [
        f"{body}S",
        f"{rng.choice(vocab.INITIALS)} {body}",
        f"{body} & SONS",
        f"{body} {rng.choice(vocab.TRADES)}",
        f"{original.core} {rng.choice(vocab.TRADES)}",
        f"{body} ({vocab.TOWNS[original.town].name})",
    ]
    rng.shuffle(variants)
    for variant in variants:
        name = names.with_suffix(variant, names.company_suffix(rng, "company"))
        if world.ids.claim_name(name):
            return name, "company"
    return body, "unincorporated"


def namesake(world: World, original: Business) -> Record:
    rng = world.rng
    name, kind = _namesake_name(world, original)
    town = addresses.other_town(rng, original.town)
    business = world.on_premises(
        kind=kind, role="namesake", legal_name=name, core=original.core, town=town
    )
    business.crn = world.ids.crn("") if kind == "company" else ""
    world.add(_off_register(world, business))
    return from_business(rng, world.proportions, business, "namesake_other_town")


def new_business(world: World) -> Record:
    if world.rng.random() < 0.75:
        business = unique_company(world, role="new", surname_share=world.proportions.surname_names)
    else:
        business = add_unincorporated(world)
    _off_register(world, business)
    return from_business(world.rng, world.proportions, business, "new_business")


def sole_trader(world: World) -> Record:
    business = _off_register(world, add_unincorporated(world))
    return from_business(world.rng, world.proportions, business, "unincorporated_not_in_register")
