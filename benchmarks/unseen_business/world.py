"""The generated world: every business, the register's subset of it, groups and agents."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import accumulate

from benchmarks.unseen_business import addresses, names, vocab
from benchmarks.unseen_business.identities import PREFIX_KIND, Identities
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.proportions import Proportions


@dataclass(frozen=True)
class Agent:
    """A formation agent or accountant whose office is the registered office of many."""

    name: str
    address: str
    postcode: str
    town: int


@dataclass
class World:
    proportions: Proportions
    rng: random.Random
    ids: Identities
    businesses: list[Business] = field(default_factory=list)
    register: list[Business] = field(default_factory=list)  # register rows, in file order
    families: dict[int, list[Business]] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)
    agent_weights: list[float] = field(default_factory=list)

    def add(self, business: Business) -> Business:
        self.businesses.append(business)
        return business

    def next_uid(self) -> int:
        return len(self.businesses)

    def on_premises(
        self, *, kind: str, role: str, legal_name: str, core: str, town: int
    ) -> Business:
        """A business (not yet added) that trades from its own premises, also its address."""
        address, postcode = addresses.premises(self.rng, town)
        return Business(
            uid=self.next_uid(),
            kind=kind,
            role=role,
            legal_name=legal_name,
            core=core,
            town=town,
            address=address,
            postcode=postcode,
            trading_address=address,
            trading_postcode=postcode,
        )

    def pick_agent(self) -> int:
        return self.rng.choices(range(len(self.agents)), cum_weights=self.agent_weights)[0]


def make_agents(world: World) -> None:
    """Agents' sizes fall off like a power law: a few hold thousands, most a few hundred."""
    rng, proportions = world.rng, world.proportions
    count = max(3, round(proportions.register_rows / 100_000 * proportions.agents_per_100k))
    for index in range(count):
        town = addresses.pick_town(rng, "E" if rng.random() < 0.85 else "S")
        address, postcode = addresses.agent_office(rng, town)
        name = f"{names.brand_stem(rng).split()[0]} {rng.choice(vocab.AGENT_KINDS)} LTD"
        if rng.random() < 0.4:  # the register shows the agent's name on every client's address
            address = f"C/O {name}, {address}"
        world.agents.append(Agent(name, address, postcode, town))
        world.agent_weights.append(1.0 / (index + 1) ** 0.7)
    world.agent_weights = list(accumulate(world.agent_weights))


def company_body(rng: random.Random, surname_share: float) -> tuple[str, str]:
    """(name body, core): a family-firm name or an invented brand."""
    if rng.random() < surname_share:
        return names.surname_core(rng)
    body = names.brand_stem(rng)
    return body, body.split()[0]


def new_company(
    world: World, *, role: str, body: str, core: str, prefix: str, town: int
) -> Business | None:
    """A company on its own premises; None when its name is taken by an active company."""
    rng = world.rng
    kind = PREFIX_KIND[prefix][0]
    legal_name = names.with_suffix(body, names.company_suffix(rng, kind))
    if not world.ids.claim_name(legal_name):
        return None
    business = world.on_premises(kind=kind, role=role, legal_name=legal_name, core=core, town=town)
    business.crn = world.ids.crn(prefix)
    return business


def unique_company(world: World, *, role: str, surname_share: float) -> Business:
    """A single company whose name no active company has; varied until it is unique."""
    rng = world.rng
    prefix = world.ids.draw_prefix()
    town = addresses.pick_town(rng, PREFIX_KIND[prefix][1])
    for attempt in range(20):
        body, core = company_body(rng, surname_share)
        if attempt >= 3:  # as people do when their first choice is taken
            body = f"{body} ({vocab.TOWNS[town].name})" if attempt < 6 else f"{body} {attempt}"
        business = new_company(world, role=role, body=body, core=core, prefix=prefix, town=town)
        if business is not None:
            return world.add(business)
    raise RuntimeError("no unique company name after 20 attempts")


def add_agent_client(world: World, surname_share: float) -> None:
    """Registered office at an agent's address; trades from its own premises elsewhere."""
    business = unique_company(world, role="agent_client", surname_share=surname_share)
    business.agent = world.pick_agent()
    agent = world.agents[business.agent]
    business.address, business.postcode = agent.address, agent.postcode


def add_unincorporated(world: World) -> Business:
    legal, trading, core = names.unincorporated_name(world.rng)
    business = world.on_premises(
        kind="unincorporated",
        role="unincorporated",
        legal_name=legal,
        core=core,
        town=addresses.pick_town(world.rng),
    )
    business.trading_name = trading
    return world.add(business)
