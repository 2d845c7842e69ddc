"""Groups of sister companies sharing a registered office, and their unregistered siblings."""

from __future__ import annotations

from benchmarks.blind_business import places as pl
from benchmarks.blind_business.names import same_as_key
from benchmarks.blind_business.register import Business, Family, RegisterBuilder, sibling_word

FAMILY_SIZES = (2, 3, 4, 5, 6, 7, 8)
FAMILY_SIZE_WEIGHTS = (40, 26, 15, 8, 5, 3, 3)
GROUP_VAT_SHARE = 0.15  # groups registered for VAT as one (one number for every member)
LLP_TWIN_SHARE = 0.04  # "X LLP" beside "X LIMITED" (professional firms and their service company)


def _member(builder: RegisterBuilder, family: Family, word: str, form: str) -> Business:
    rng = builder.rng
    body = f"{family.stem} {word}".strip()
    shared = rng.random() < 0.92
    place = family.place if shared else pl.random_place(rng)
    trade = family.members[0].trade_place if shared and family.members else place
    office = family.members[0].office if shared and family.members else "own"
    business = builder.company(body, form, place, trade, office, vat_share=0.6)
    business.family = family.ident
    business.sibling_word = word
    if family.group_vat and business.vat:
        business.vat = family.group_vat
    if business.status == "active":
        builder.live_keys.setdefault(same_as_key(body), family.ident)
    return business


def _form_for(builder: RegisterBuilder, word: str, welsh: bool) -> str:
    if word == "GROUP" and builder.rng.random() < 0.35:
        return "plc"
    if welsh and builder.rng.random() < 0.12:
        return "cyf"
    return "ltd"


def add_family(builder: RegisterBuilder) -> Family:
    """Add one group of 2-8 sister companies to the register."""
    rng = builder.rng
    ident = len(builder.families)
    place, trade, office = builder.office_and_trade(agent_share=0.08, accountant_share=0.3)
    welsh = place.country == "W"
    family = Family(ident, builder.unique_body(welsh, family=ident), place, welsh)
    size = rng.choices(FAMILY_SIZES, weights=FAMILY_SIZE_WEIGHTS)[0]
    words = [""] if rng.random() < 0.85 else []
    while len(words) < size:
        words.append(sibling_word(rng, words))
    family.words = words
    family.group_vat = builder.ids.vat() if rng.random() < GROUP_VAT_SHARE else ""
    for word in words:
        business = _member(builder, family, word, _form_for(builder, word, welsh))
        if not family.members:
            business.place, business.trade_place, business.office = place, trade, office
        family.members.append(business)
    if "" in words and rng.random() < LLP_TWIN_SHARE:
        twin = _member(builder, family, "", "llp")
        twin.sibling_word = "=LLP"
        family.members.append(twin)
        family.words.append("=LLP")
    builder.businesses.extend(family.members)
    builder.families.append(family)
    return family


def unregistered_sibling(builder: RegisterBuilder, family: Family) -> Business:
    """A group member the register does not hold, with its own valid CRN, at the group's office."""
    word = sibling_word(builder.rng, family.words)
    family.words.append(word)
    base = family.members[0]
    rng = builder.rng
    at_office = rng.random() < 0.85
    place = base.place if at_office else pl.random_place(rng)
    trade = base.trade_place if at_office else place
    form = _form_for(builder, word, family.welsh)
    business = builder.company(
        f"{family.stem} {word}", form, place, trade, base.office, in_register=False
    )
    business.family = family.ident
    business.sibling_word = word
    if family.group_vat and rng.random() < 0.3:
        business.vat = family.group_vat  # a group VAT number covers it too
    return business
