"""The world of businesses behind the hard benchmark: families of sister companies, namesakes,
formation-agent registrations, statuses and identifiers; the register is a part of it.

Every company has a ``family_id`` (sisters share it and, mostly, an address) and a ``stem``
(namesakes in other towns share it, in other families). ``in_register`` marks the companies the
register holds: a family is often only partly registered, so an incoming record about an
unregistered sister meets a registered sister with a nearly identical name at the same address.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from benchmarks.business.hard import ids
from benchmarks.business.hard.names import NameMaker, same_as_key
from benchmarks.business.hard.places import Address, Places
from benchmarks.business.hard.vocab import TOWNS

FAMILY_SIZES = (1, 2, 3, 4, 5)
FAMILY_SIZE_P = (0.74, 0.16, 0.06, 0.025, 0.015)
NAMESAKE_SHARE = 0.10  # families that reuse an earlier family's stem in another town
AGENT_SHARE = 0.06  # families registered at a formation agent's address
IN_REGISTER_P = {"base": 0.9, "sister": 0.72, "namesake": 0.55}
HOLDING_WORDS = frozenset({"HOLDINGS", "PROPERTIES", "INVESTMENTS", "ESTATES", "LEASING"})
STATUS_P = {"active": 0.86, "dissolved": 0.11, "not_yet_incorporated": 0.03}
FIRST_DISSOLUTION = dt.date(2016, 1, 1)


def generate_world(rng: np.random.Generator, n_register: int) -> pl.DataFrame:
    """Companies (one row each) with ``in_register`` true for exactly ``n_register`` of them."""
    places, names = Places(rng), NameMaker(rng)
    rows: list[dict[str, object]] = []
    stems: list[tuple[str, int]] = []  # (stem, town) of every family so far
    for family_id in range(math.ceil(n_register * 0.97)):
        rows += _family(rng, places, names, family_id, stems)
    world = pl.DataFrame(rows).with_row_index("company_id")
    world = _statuses(rng, world)
    world = _distinct_names(names, world)
    world = _identifiers(rng, world)
    return _register_membership(rng, world, n_register)


def _family(
    rng: np.random.Generator,
    places: Places,
    names: NameMaker,
    family_id: int,
    stems: list[tuple[str, int]],
) -> list[dict[str, object]]:
    namesake = len(stems) > 100 and rng.random() < NAMESAKE_SHARE
    if namesake:
        stem, original_town = stems[rng.integers(len(stems))]
        town = places.town(exclude=original_town)
    else:
        town = places.town()
        stem, _ = names.stem(TOWNS[town][0])
    stems.append((stem, town))
    size = int(rng.choice(FAMILY_SIZES, p=FAMILY_SIZE_P))
    home = places.address(town)
    form = names.form(stem, size == 1)
    agent = form != "" and rng.random() < AGENT_SHARE
    registered = places.agent(int(rng.integers(len(places.agents)))) if agent else home
    words = ["", *names.sister_words(size - 1)]
    members: list[dict[str, object]] = []
    for word in words:
        core, member_form = (stem, form) if not word else _sister(rng, stem, word, form)
        at_home = not word or rng.random() < 0.9
        trade = home if at_home else places.next_door(home)
        role = "namesake" if namesake else ("sister" if word else "base")
        trading_name = None
        if word not in HOLDING_WORDS and rng.random() < 0.12:
            trading_name = names.stem(TOWNS[town][0])[0]
        members.append(
            {
                "family_id": family_id,
                "stem": stem,
                "role": role,
                "sister_word": word or None,
                "core": core,
                "form": member_form,
                "form_text": names.form_text(member_form),
                "trading_name": trading_name,
                "agent": agent,
                "nation": home.nation,
                "in_register_p": IN_REGISTER_P[role],
                **_address_columns("reg", registered if agent else trade),
                **_address_columns("trade", trade),
            }
        )
    return members


def _sister(rng: np.random.Generator, stem: str, word: str, form: str) -> tuple[str, str]:
    if word == "GROUP" and form == "LTD" and rng.random() < 0.5:
        return f"{stem} GROUP", "PLC"
    return f"{stem} {word}", form or "LTD"


def _address_columns(prefix: str, address: Address) -> dict[str, str]:
    return {
        f"{prefix}_line": address.line,
        f"{prefix}_town": address.town,
        f"{prefix}_postcode": address.postcode,
    }


def _statuses(rng: np.random.Generator, world: pl.DataFrame) -> pl.DataFrame:
    n = world.height
    status = rng.choice(list(STATUS_P), size=n, p=list(STATUS_P.values()))
    incorporated_later = (status == "not_yet_incorporated") & (world["form"].to_numpy() == "LTD")
    status = np.where((status == "not_yet_incorporated") & ~incorporated_later, "active", status)
    days = rng.integers(0, 3650, size=n)
    dissolved = [
        FIRST_DISSOLUTION + dt.timedelta(days=int(d)) if s == "dissolved" else None
        for s, d in zip(status, days, strict=True)
    ]
    return world.with_columns(
        status=pl.Series(status), dissolution_date=pl.Series(dissolved, dtype=pl.Date)
    )


def _distinct_names(names: NameMaker, world: pl.DataFrame) -> pl.DataFrame:
    """Qualify the names of live incorporated companies that would be "the same as" an earlier
    one ("THOMPSON BUILDERS (LEEDS) LIMITED"); dissolved names may repeat, sole traders too."""
    taken: set[str] = set()
    cores = []
    for core, form, status, town in world.select("core", "form", "status", "trade_town").rows():
        if form and status != "dissolved":
            candidate, attempt = core, 0
            while same_as_key(candidate) in taken:
                candidate = names.qualify(core, town, attempt)
                attempt += 1
            core = candidate
            taken.add(same_as_key(core))
        cores.append(core)
    legal = [f"{c} {t}".strip() for c, t in zip(cores, world["form_text"].to_list(), strict=True)]
    return world.with_columns(core=pl.Series(cores), legal_name=pl.Series(legal))


def _identifiers(rng: np.random.Generator, world: pl.DataFrame) -> pl.DataFrame:
    form, nation = world["form"].to_numpy(), world["nation"].to_numpy()
    word = world["sister_word"].fill_null("").to_numpy()
    has_crn = (form != "") & (world["status"].to_numpy() != "not_yet_incorporated")
    llp = form == "LLP"
    prefix = np.select(
        [nation == "S", nation == "N"],
        [np.where(llp, "SO", "SC"), np.where(llp, "NC", "NI")],
        np.where(llp, "OC", ""),
    )
    overseas = (word == "(UK)") & (rng.random(world.height) < 0.25)
    prefix = np.where(overseas, "FC", prefix)
    holding = np.isin(word, list(HOLDING_WORDS))
    has_vat = rng.random(world.height) < np.where(holding, 0.2, np.where(llp, 0.8, 0.6))
    has_paye = rng.random(world.height) < np.where(holding, 0.1, 0.45)
    return world.with_columns(
        crn=_scatter(has_crn, ids.crns(rng, prefix[has_crn].tolist())),
        vat=_scatter(has_vat, ids.vats(rng, int(has_vat.sum()))),
        paye=_scatter(has_paye, ids.payes(rng, int(has_paye.sum()))),
    )


def _scatter(mask: np.ndarray, values: list[str]) -> pl.Series:
    out: list[str | None] = [None] * mask.size
    for index, value in zip(np.flatnonzero(mask), values, strict=True):
        out[index] = value
    return pl.Series(out, dtype=pl.String)


def _register_membership(
    rng: np.random.Generator, world: pl.DataFrame, n_register: int
) -> pl.DataFrame:
    """Each company is registered with its role's probability; then random companies are
    added or dropped until the register holds exactly ``n_register``."""
    chosen = rng.random(world.height) < world["in_register_p"].to_numpy()
    excess = int(chosen.sum()) - n_register
    pool = np.flatnonzero(chosen if excess > 0 else ~chosen)
    chosen[rng.choice(pool, size=abs(excess), replace=False)] = excess < 0
    refs = _scatter(chosen, ids.entrefs(rng, n_register))
    return world.with_columns(in_register=pl.Series(chosen), entref=refs).drop("in_register_p")
