"""Incoming records: about 80% businesses on the register, 20% businesses that are not.

Who is in the file (shares of the in-register part): members of sister groups 30%, companies
registered at a formation agent 10% or an accountant 8%, sole traders and partnerships 10%,
dissolved companies 4%, companies whose name a dissolved company held 1.5%, the rest drawn
from everything else. Not in the register: unregistered members of a registered group, at
the group's office, most with their own valid CRN (35%); new companies with common surname
names (20%); look-alikes of a registered company in another town (20%); new sole traders
(15%); new companies at a formation agent (10%).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from benchmarks.blind_business import corrupt_fields as cf
from benchmarks.blind_business import corrupt_names as cn
from benchmarks.blind_business import places as pl
from benchmarks.blind_business import vocab
from benchmarks.blind_business.families import unregistered_sibling
from benchmarks.blind_business.names import LegalName, same_as_key
from benchmarks.blind_business.register import Business, Family, RegisterBuilder

IN_REGISTER_SHARES = {
    "reused_name": 0.015,
    "dissolved": 0.04,
    "family_member": 0.30,
    "agent_office": 0.10,
    "accountant_office": 0.08,
    "unincorporated": 0.10,
}
OUTSIDE_SHARES = {
    "unregistered_sibling": 0.35,
    "new_common_name": 0.20,
    "lookalike_elsewhere": 0.20,
    "new_unincorporated": 0.15,
    "new_at_agent": 0.10,
}
TA_FORMS = ("T/A", "T/A", "TRADING AS", "T/AS", "TA")


@dataclass
class Incoming:
    business: Business
    category: str
    sister_crn: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def category_of(business: Business) -> str:
    """The in-register category a business falls in (first that applies)."""
    if "reused_name" in business.tags:
        return "reused_name"
    if business.status == "dissolved":
        return "dissolved"
    if business.family >= 0:
        return "family_member"
    if business.office == "agent":
        return "agent_office"
    if business.office == "accountant":
        return "accountant_office"
    if business.kind == "unincorporated":
        return "unincorporated"
    return "other"


def pick_registered(rng: random.Random, register: list[Business], count: int) -> list[Incoming]:
    pools: dict[str, list[Business]] = {}
    for business in register:
        pools.setdefault(category_of(business), []).append(business)
    picked: list[Incoming] = []
    for category, share in IN_REGISTER_SHARES.items():
        picked += [Incoming(b, category) for b in rng.sample(pools[category], round(count * share))]
    rest = count - len(picked)
    picked += [Incoming(b, "other") for b in rng.sample(pools["other"], rest)]
    return picked


def _lookalike_body(rng: random.Random, body: str) -> str:
    """A real-word change: another activity, a plural surname, an initial, a town."""
    for activity in sorted(vocab.ACTIVITIES, key=len, reverse=True):
        if body.endswith(" " + activity):
            other = rng.choice([a for a in vocab.ACTIVITIES if a != activity])
            return body[: -len(activity)] + other
    first = body.split()[0]
    if first in vocab.SURNAMES:
        return (
            body.replace(first, first + "S", 1)
            if rng.random() < 0.5
            else f"{rng.choice('ABDJKMPRST')} {body}"
        )
    return f"{body} ({pl.pick_town(rng).name})"


def make_outsiders(rng: random.Random, builder: RegisterBuilder, count: int) -> list[Incoming]:
    registered_companies = [
        b
        for b in builder.businesses
        if b.kind == "company" and b.family < 0 and b.status == "active"
    ]
    live_families = [f for f in builder.families if any(m.status == "active" for m in f.members)]
    out: list[Incoming] = []
    for category, share in OUTSIDE_SHARES.items():
        for _ in range(round(count * share)):
            out.append(_outsider(rng, builder, category, registered_companies, live_families))
    while len(out) < count:
        out.append(_outsider(rng, builder, "new_common_name", registered_companies, live_families))
    return out[:count]


def _outsider(
    rng: random.Random,
    builder: RegisterBuilder,
    category: str,
    companies: list[Business],
    families: list[Family],
) -> Incoming:
    if category == "unregistered_sibling":
        family = rng.choice(families)
        business = unregistered_sibling(builder, family)
        sisters = [m.crn for m in family.members if m.crn]
        return Incoming(business, category, sister_crn=rng.choice(sisters) if sisters else "")
    if category == "new_unincorporated":
        business = builder.unincorporated()
        business.entref, business.in_register = "", False
        business.status, business.dissolved_on = "active", ""
        return Incoming(business, category)
    if category == "lookalike_elsewhere":
        template, body = rng.choice(companies), ""
        while not body or same_as_key(body) in builder.live_keys:
            template = rng.choice(companies)
            body = _lookalike_body(rng, template.name.body)
        place = pl.random_place(rng)
        business = builder.company(body, template.name.form, place, place, "own", in_register=False)
        business.tags.append(f"lookalike_of:{template.entref}")
        return Incoming(business, category)
    if category == "new_at_agent":
        place, trade, office = builder.office_and_trade(agent_share=1.0, accountant_share=0.0)
    else:
        place, trade, office = builder.office_and_trade(agent_share=0.1, accountant_share=0.2)
    body = builder.names.surname_body() if category == "new_common_name" else ""
    if not body or same_as_key(body) in builder.live_keys:
        body = builder.unique_body(place.country == "W")
    business = builder.company(body, "ltd", place, trade, office, in_register=False)
    return Incoming(business, category)


def _sister_crn(register_by_family: dict[int, list[Business]], business: Business) -> str:
    others = [m.crn for m in register_by_family.get(business.family, []) if m is not business]
    return others[0] if others else ""


def written_name(rng: random.Random, record: Incoming) -> tuple[str, str]:
    """(name, trading name column) as the sender wrote them."""
    business, flags = record.business, record.flags
    legal = business.name
    if business.sibling_word not in ("", "=LLP") and rng.random() < 0.015:
        stem = legal.body.replace(business.sibling_word, "").replace("  ", " ").strip()
        legal = LegalName(stem, legal.form, legal.ending)
        flags.append("sibling_word_dropped")
    name = cn.vary_legal(rng, legal, flags)
    trading_column = ""
    if business.trading_name:
        trading = cn.trading_variant(rng, business.trading_name, flags)
        roll = rng.random()
        only_share = 0.55 if business.kind == "unincorporated" else 0.25
        if roll < only_share:
            name = trading
            flags.append("trading_name_only")
        elif roll < only_share + 0.15:
            name = f"{name} {rng.choice(TA_FORMS)} {trading}"
            flags.append("t/a_in_name")
        elif roll < only_share + 0.45:
            trading_column = trading
    if business.status == "dissolved" and rng.random() < 0.1:
        name = f"{name} ({rng.choice(['IN LIQUIDATION', 'DISSOLVED', 'IN ADMINISTRATION'])})"
        flags.append("status_note")
    return cn.finish(rng, name, flags), trading_column


def written_place(rng: random.Random, business: Business, flags: list[str]) -> pl.Place:
    if rng.random() < 0.06:
        flags.append("moved")
        town = pl.town_named(business.place.town) if rng.random() < 0.5 else None
        return pl.random_place(rng, town)
    moves_away = rng.random() < (0.7 if business.office in ("agent", "accountant") else 0.5)
    if business.trade_place is not business.place and moves_away:
        flags.append("trading_address")
        return business.trade_place
    return business.place


def render(rng: random.Random, record: Incoming, crn_share: float) -> None:
    """Fill ``record.fields`` with what the sender wrote."""
    business, flags = record.business, record.flags
    name, trading = written_name(rng, record)
    place = written_place(rng, business, flags)
    fields = {
        "name": name,
        "trading_name": trading,
        "address": cf.render_address(rng, place, flags),
        "postcode": cf.render_postcode(rng, place.postcode, flags),
        "crn": "",
        "vat": "",
        "paye": "",
    }
    if business.crn and rng.random() < crn_share:
        fields["crn"] = cf.render_crn(rng, business.crn, record.sister_crn, flags)
    if business.vat and rng.random() < 0.4:
        fields["vat"] = cf.render_vat(rng, business.vat, flags)
    if business.paye and rng.random() < 0.2:
        fields["paye"] = cf.render_paye(rng, business.paye, flags)
    record.fields = fields


def build_incoming(
    rng: random.Random, builder: RegisterBuilder, total: int, in_register_share: float
) -> list[Incoming]:
    inside = round(total * in_register_share)
    records = pick_registered(rng, builder.businesses, inside)
    by_family: dict[int, list[Business]] = {}
    for business in builder.businesses:
        if business.family >= 0:
            by_family.setdefault(business.family, []).append(business)
    for record in records:
        if record.business.family >= 0:
            record.sister_crn = _sister_crn(by_family, record.business)
        render(rng, record, crn_share=0.5)
    outsiders = make_outsiders(rng, builder, total - inside)
    for record in outsiders:
        share = 0.75 if record.category == "unregistered_sibling" else 0.5
        render(rng, record, crn_share=share)
    records += outsiders
    rng.shuffle(records)
    return records
