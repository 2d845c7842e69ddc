"""The incoming file: records by category, noise on top, shuffled and numbered."""

from __future__ import annotations

import random

from benchmarks.unseen_business import noise, outsiders
from benchmarks.unseen_business.categories import pick, register_kinds
from benchmarks.unseen_business.model import Business
from benchmarks.unseen_business.record import Record
from benchmarks.unseen_business.world import World

# Scarce kinds first, so the general ones (exact, noisy_name) do not use up their businesses.
_PICK_ORDER = (
    "group_vat", "old_name", "successor_of_dissolved", "dissolved", "sister_same_address",
    "trading_name", "formation_agent", "common_name", "unincorporated", "wrong_identifier",
    "moved_address", "noisy_name", "exact",
)  # fmt: skip


def split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """``total`` split by ``shares`` (largest remainder), so the counts add up exactly."""
    weight = sum(shares.values())
    exact = {key: total * share / weight for key, share in shares.items()}
    counts = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: (counts[key] - exact[key], key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _on_register(world: World, count: int, used: set[int]) -> list[Record]:
    kinds = register_kinds(world)
    wanted = split(count, dict(world.proportions.in_register_categories))
    records: list[Record] = []
    for category in _PICK_ORDER:
        kind = kinds[category]
        pool = [business for business in world.register if kind.eligible(business)]
        chosen = pick(world.rng, pool, used, wanted[category])
        records.extend(kind.make(world, business) for business in chosen)
        shortfall = wanted[category] - len(chosen)
        if shortfall and category != "exact":  # a small register: the rest become plain copies
            wanted["exact"] += shortfall
    return records


def _off_register(world: World, count: int, used: set[int]) -> list[Record]:
    rng = world.rng
    wanted = split(count, dict(world.proportions.not_in_register_categories))
    siblings = [b for b in world.businesses if b.family >= 0 and not b.in_register]
    chosen = pick(rng, siblings, used, wanted["unregistered_sibling"])
    records = [outsiders.sibling(world, business) for business in chosen]
    wanted["new_business"] += wanted["unregistered_sibling"] - len(chosen)
    originals: list[Business] = pick(rng, world.register, set(used), wanted["namesake_other_town"])
    records.extend(outsiders.namesake(world, business) for business in originals)
    records.extend(outsiders.new_business(world) for _ in range(wanted["new_business"]))
    sole_traders = wanted["unincorporated_not_in_register"]
    records.extend(outsiders.sole_trader(world) for _ in range(sole_traders))
    return records


def _damage(rng: random.Random, world: World, record: Record) -> None:
    """The everyday noise every file has, at the configured rates."""
    proportions = world.proportions
    for _ in range(2):
        if rng.random() < proportions.name_edits:
            record.name = noise.noisy_name(rng, record.name, edits=1)
    if rng.random() < proportions.address_edits:
        record.address = noise.noisy_address(rng, record.address, edits=rng.randint(1, 2))
    draw = rng.random()
    if draw < proportions.postcode_missing:
        record.postcode = ""
    elif draw < proportions.postcode_missing + proportions.postcode_partial:
        record.postcode = noise.partial_postcode(record.postcode)
    elif draw < proportions.postcode_missing + proportions.postcode_partial + (
        proportions.postcode_mistyped
    ):
        record.postcode = noise.mistyped_postcode(rng, record.postcode)
    if rng.random() < proportions.restyled:
        record.name = noise.restyle(rng, record.name)
        record.address = noise.restyle(rng, record.address)


def build_incoming(world: World) -> list[Record]:
    """All incoming records, in file order."""
    rows = world.proportions.incoming_rows
    on_register = round(rows * world.proportions.in_register)
    used: set[int] = set()
    records = _on_register(world, on_register, used)
    records.extend(_off_register(world, rows - len(records), used))
    for record in records:
        if not record.clean:
            _damage(world.rng, world, record)
        record.name = noise.tidy(record.name)
        record.trading_name = noise.tidy(record.trading_name)
        record.address = noise.tidy(record.address)
    world.rng.shuffle(records)
    return records
