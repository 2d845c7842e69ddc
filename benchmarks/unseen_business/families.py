"""Groups of sister companies: one name stem, one registered office, different legal persons.

"NOVANEX TEXTILES LTD", "NOVANEX TEXTILES HOLDINGS LTD" and "NOVANEX TEXTILES (UK) LTD" are
three companies with three CRNs. Some sisters are not on the register (newly incorporated, or
outside the register's scope) yet carry their own valid CRN on the files that mention them.
Some groups share one VAT registration (a VAT group: the representative member's number).
"""

from __future__ import annotations

from benchmarks.unseen_business import addresses, vocab
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.world import World, company_body, new_company

_SIZES = (2, 3, 4, 5, 6, 8)
_SIZE_WEIGHTS = (40, 28, 14, 9, 6, 3)
# The commonest sister words first, and drawn more often.
_QUALIFIER_WEIGHTS = [1.0 / (rank + 2) for rank in range(len(vocab.FAMILY_QUALIFIERS))]


def _qualifiers(world: World, size: int) -> list[str]:
    rng = world.rng
    chosen = [""] if rng.random() < 0.8 else []
    while len(chosen) < size:
        word = rng.choices(vocab.FAMILY_QUALIFIERS, _QUALIFIER_WEIGHTS)[0]
        if word not in chosen:
            chosen.append(word)
    return chosen


def _members(world: World, family: int, size: int) -> list[Business] | None:
    """The sisters of one group, or None when the stem clashes with an existing company."""
    rng = world.rng
    nation = rng.choices(("E", "S", "N"), (90, 7, 3))[0]
    prefix = world.ids.nation_prefix(nation)
    town = addresses.pick_town(rng, nation)
    body, core = company_body(rng, 0.3)
    if any(world.ids.is_taken(f"{body} {q} LTD") for q in ("", *vocab.FAMILY_QUALIFIERS[:3])):
        return None
    members: list[Business] = []
    for qualifier in _qualifiers(world, size):
        stem = f"{body} {qualifier}" if qualifier else body
        member = new_company(world, role="family", body=stem, core=core, prefix=prefix, town=town)
        if member is None:
            continue
        member.family = family
        members.append(world.add(member))
    return members


def _place(world: World, members: list[Business]) -> None:
    """Most sisters share the group's registered office (sometimes an agent's)."""
    rng = world.rng
    proportions = world.proportions
    head = members[0]
    office, office_postcode = head.address, head.postcode
    if rng.random() < proportions.family_at_agent:
        agent_index = world.pick_agent()
        agent = world.agents[agent_index]
        office, office_postcode = agent.address, agent.postcode
        for member in members:
            member.agent = agent_index
    for member in members:
        if member.agent >= 0 or rng.random() < proportions.family_same_address:
            member.address, member.postcode = office, office_postcode
            if member.agent < 0:
                member.trading_address, member.trading_postcode = office, office_postcode
            else:
                member.trading_address = head.trading_address
                member.trading_postcode = head.trading_postcode


def _register_membership(world: World, members: list[Business]) -> None:
    rng = world.rng
    for member in members:
        member.in_register = rng.random() >= world.proportions.family_unregistered
    if not any(member.in_register for member in members):
        members[0].in_register = True


def add_families(world: World, registered_target: int) -> int:
    """Groups until ``registered_target`` sisters are on the register; returns the number of
    register rows added (a lone survivor of a name clash stays as an ordinary company)."""
    registered = 0
    lone = 0
    family = 0
    while registered < registered_target:
        size = world.rng.choices(_SIZES, _SIZE_WEIGHTS)[0]
        members = _members(world, family, size)
        if not members or len(members) < 2:
            for member in members or []:
                member.family, member.role = -1, "single"
                lone += 1
            continue
        _place(world, members)
        _register_membership(world, members)
        world.families[family] = members
        registered += sum(member.in_register for member in members)
        family += 1
    return registered + lone


def share_vat_groups(world: World) -> None:
    """A VAT group: the registered, VAT-registered sisters all show the representative's VAT."""
    for members in world.families.values():
        payers = [m for m in members if m.in_register and m.vat]
        if len(payers) >= 2 and world.rng.random() < world.proportions.vat_group:
            for member in payers:
                member.vat = payers[0].vat
                member.vat_group = True


def sisters_at_address(business: Business, world: World) -> list[Business]:
    """Registered sisters of ``business`` (itself excluded) at its registered office."""
    if business.family < 0:
        return []
    return [
        member
        for member in world.families[business.family]
        if member is not business and member.in_register and member.address == business.address
    ]
