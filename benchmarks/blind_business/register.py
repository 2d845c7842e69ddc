"""The business register: companies, groups of sister companies, sole traders.

Proportions (of about 300,000 rows), chosen from what the public Companies House and IDBR
statistics suggest and then pushed towards the hard cases:
  * ~20% unincorporated (sole traders, partnerships: no CRN, often a trading name);
  * ~11,000 groups of 2-8 sister companies at one registered office ("X LIMITED",
    "X HOLDINGS LIMITED", "X (UK) LIMITED", "X GROUP PLC"...), some sharing a group VAT number;
  * 40 formation-agent offices holding ~29,000 companies, 2,500 accountants' offices holding
    ~20 clients each (registered office there, trading elsewhere);
  * ~14% of companies dissolved (with a date); some dissolved names reused by a new company;
  * ~2,500 overseas bodies: entities on the Register of Overseas Entities (OE numbers, holding
    UK property, registered office abroad so the address is the property's agent in the UK)
    and overseas companies' UK establishments (FC numbers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from benchmarks.blind_business import names as nm
from benchmarks.blind_business import places as pl
from benchmarks.blind_business import vocab
from benchmarks.blind_business.ids import Allocator


@dataclass
class Business:
    """One business, registered or not; ``place`` is the registered office."""

    entref: str
    name: nm.LegalName
    trading_name: str
    place: pl.Place
    trade_place: pl.Place
    crn: str = ""
    vat: str = ""
    paye: str = ""
    status: str = "active"
    dissolved_on: str = ""
    family: int = -1
    sibling_word: str = ""
    kind: str = "company"  # company, unincorporated, guarantee, overseas
    office: str = "own"  # own, agent, accountant
    in_register: bool = True
    tags: list[str] = field(default_factory=list)


@dataclass
class Family:
    ident: int
    stem: str
    place: pl.Place
    welsh: bool
    members: list[Business] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # sibling words in use ("" = the base)
    group_vat: str = ""


@dataclass(frozen=True)
class RegisterSizes:
    families: int = 11_000
    standalone: int = 196_000
    unincorporated: int = 60_000
    guarantee: int = 4_500
    overseas: int = 2_500
    agents: int = 40
    accountants: int = 2_500


class RegisterBuilder:
    """Builds the register; also makes the unregistered businesses incoming records need."""

    def __init__(self, rng: random.Random, sizes: RegisterSizes) -> None:
        self.rng = rng
        self.sizes = sizes
        self.ids = Allocator(rng)
        self.names = nm.NameMaker(rng)
        self.live_keys: dict[str, int] = {}  # same-as key -> family (-2 for standalone)
        self.dissolved_bodies: list[tuple[str, pl.Place]] = []
        self.businesses: list[Business] = []
        self.families: list[Family] = []
        self.agents = [self._agent_place(i) for i in range(sizes.agents)]
        self.agent_weights = [rng.lognormvariate(0, 0.9) for _ in self.agents]
        self.accountants = [pl.random_place(rng) for _ in range(sizes.accountants)]

    def _agent_place(self, index: int) -> pl.Place:
        town = pl.town_named(
            self.rng.choice(["LONDON"] * 6 + ["MANCHESTER", "BIRMINGHAM", "CARDIFF", "EDINBURGH"])
        )
        street = f"SUITE {index + 1}, {self.rng.randint(2, 160)} {self.rng.choice(pl.STREET_NAMES)}"
        return pl.Place(street, town.name, pl.postcode_in(self.rng, town), town.country)

    # --- places -------------------------------------------------------------------------------
    def office_and_trade(self, *, agent_share: float, accountant_share: float) -> tuple:
        """(registered place, trading place, office kind)."""
        rng = self.rng
        roll = rng.random()
        if roll < agent_share:
            office = rng.choices(self.agents, weights=self.agent_weights)[0]
            return office, pl.random_place(rng), "agent"
        if roll < agent_share + accountant_share:
            office = rng.choice(self.accountants)
            same_town = pl.town_named(office.town) if rng.random() < 0.8 else None
            return office, pl.random_place(rng, same_town), "accountant"
        own = pl.random_place(rng)
        trade = own if rng.random() < 0.88 else pl.random_place(rng, pl.town_named(own.town))
        return own, trade, "own"

    # --- names --------------------------------------------------------------------------------
    def unique_body(self, welsh: bool, family: int = -2) -> str:
        """A body no live company outside ``family`` holds under the same-as rules."""
        for _ in range(6):
            body = self.names.body(welsh=welsh)
            holder = self.live_keys.get(nm.same_as_key(body))
            if holder is None or (family >= 0 and holder == family):
                return body
        town = pl.pick_town(self.rng).name
        return f"{body} ({town})"

    def _claim(self, body: str, family: int) -> None:
        self.live_keys.setdefault(nm.same_as_key(body), family)

    # --- identifiers --------------------------------------------------------------------------
    def crn_for(self, form: str, country: str) -> str:
        if form == "foreign":  # about 7 in 10 overseas bodies here are overseas entities
            return self.ids.crn("OE" if self.rng.random() < 0.7 else "FC")
        llp = form == "llp"
        prefix = {"S": "SO" if llp else "SC", "N": "NC" if llp else "NI"}.get(
            country, "OC" if llp else ""
        )
        return self.ids.crn(prefix)

    def dissolution(self) -> tuple[str, str]:
        if self.rng.random() >= 0.14:
            return "active", ""
        year = self.rng.randint(2008, 2025)
        return "dissolved", f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def company(
        self,
        body: str,
        form: str,
        place: pl.Place,
        trade: pl.Place,
        office: str,
        *,
        vat_share: float = 0.55,
        in_register: bool = True,
    ) -> Business:
        rng = self.rng
        status, dissolved_on = self.dissolution() if in_register else ("active", "")
        trading = self.names.trading_name() if rng.random() < 0.1 else ""
        return Business(
            entref=self.ids.entref() if in_register else "",
            name=nm.LegalName(body, form, nm.spell(rng, form)),
            trading_name=trading,
            place=place,
            trade_place=trade,
            crn=self.crn_for(form, place.country),
            vat=self.ids.vat() if rng.random() < vat_share else "",
            paye=self.ids.paye() if rng.random() < 0.4 else "",
            status=status,
            dissolved_on=dissolved_on,
            office=office,
            in_register=in_register,
        )

    # --- kinds of business --------------------------------------------------------------------
    def standalone(self) -> Business:
        rng = self.rng
        place, trade, office = self.office_and_trade(agent_share=0.13, accountant_share=0.2)
        welsh = place.country == "W"
        form = self.names.legal_form(welsh=welsh)
        reuse = rng.random() < 0.03 and self.dissolved_bodies
        if reuse:  # a new company takes a dissolved company's name, often at the same office
            body, old_place = rng.choice(self.dissolved_bodies)
            if rng.random() < 0.5:
                place, trade, office = old_place, old_place, "own"
            if rng.random() < 0.3:
                body = f"{body} ({rng.randint(2009, 2025)})"
        else:
            body = self.unique_body(welsh)
        business = self.company(body, form, place, trade, office)
        if reuse:
            business.tags.append("reused_name")
        if business.status == "dissolved":
            self.dissolved_bodies.append((body, place))
        else:
            self._claim(body, -2)
        return business

    def unincorporated(self) -> Business:
        rng = self.rng
        legal, trading = self.names.sole_trader()
        place = pl.random_place(rng)
        status, dissolved_on = self.dissolution()
        return Business(
            entref=self.ids.entref(),
            name=nm.LegalName(legal, "none", ""),
            trading_name=trading,
            place=place,
            trade_place=place,
            vat=self.ids.vat() if rng.random() < 0.6 else "",
            paye=self.ids.paye() if rng.random() < 0.25 else "",
            status=status,
            dissolved_on=dissolved_on,
            kind="unincorporated",
        )

    def guarantee(self) -> Business:
        place, trade, office = self.office_and_trade(agent_share=0.02, accountant_share=0.3)
        body = self.names.guarantee_body()
        form = "none" if self.rng.random() < 0.6 else "ltd"
        business = self.company(body, form, place, trade, office, vat_share=0.2)
        business.kind = "guarantee"
        return business

    def overseas(self) -> Business:
        """An overseas entity or an overseas company's UK establishment."""
        place, trade, office = self.office_and_trade(agent_share=0.5, accountant_share=0.3)
        body = self.unique_body(welsh=False)
        business = self.company(body, "foreign", place, trade, office, vat_share=0.15)
        business.kind = "overseas"
        self._claim(body, -2)
        return business


#: Words that would make two members of one group "the same as" each other.
_CLASHES = ({"UK", "(UK)"}, {"HOLDINGS", "(HOLDINGS)"}, {"PROPERTY", "PROPERTIES"})


def sibling_word(rng: random.Random, taken: list[str]) -> str:
    """A distinguishing word not yet used in the group (nor one that clashes with one used)."""
    while True:
        word = rng.choices(vocab.SIBLING_WORDS, weights=vocab.SIBLING_WEIGHTS)[0]
        clash = any(word in pair and pair & set(taken) for pair in _CLASHES)
        if word not in taken and not clash:
            return word
