"""Incoming records about companies of the world, with the truth for each.

80% are about registered companies (mostly live ones); the rest are about unregistered sisters
of registered companies (same address, nearly the same name, often their own valid CRN),
namesakes of registered companies in other towns, and other unregistered businesses.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarks.business.hard import variants
from benchmarks.business.hard.places import Places

IN_REGISTER_SHARE = 0.8
OUTSIDE_MIX = {"unregistered_sibling": 0.35, "namesake": 0.30, "outside": 0.35}
STATUS_WEIGHT = {"active": 1.0, "dissolved": 0.4, "not_yet_incorporated": 0.8}
ID_GIVEN_P = {"crn": 0.5, "vat": 0.38, "paye": 0.22}
MISTYPED_P = {"crn": 0.015, "vat": 0.02, "paye": 0.0}
MOVED_P = 0.08
AGENT_TRADING_ADDRESS_P = 0.55


def choose_subjects(rng: np.random.Generator, world: pl.DataFrame, n: int) -> pl.DataFrame:
    """``company_id`` and ``scenario`` of the companies the incoming records are about."""
    world = _with_context(world)
    n_in = round(n * IN_REGISTER_SHARE)
    registered = world.filter("in_register")
    weights = registered["status"].replace_strict(STATUS_WEIGHT, return_dtype=pl.Float64)
    picked = rng.choice(
        registered.height, size=n_in, replace=False, p=(weights / weights.sum()).to_numpy()
    )
    parts = [registered[picked].select("company_id", scenario=pl.lit("in_register"))]
    outside = world.filter(~pl.col("in_register"))
    no_sister = pl.col("sisters_in_register") == 0
    pools = {
        "unregistered_sibling": outside.filter(~no_sister),
        "namesake": outside.filter(no_sister & (pl.col("namesakes_in_register") > 0)),
        "outside": outside.filter(no_sister & (pl.col("namesakes_in_register") == 0)),
    }
    taken: list[int] = []
    for scenario, share in OUTSIDE_MIX.items():
        pool = pools[scenario]
        want = round((n - n_in) * share) if scenario != "outside" else n - n_in - len(taken)
        size = min(want, pool.height)
        chosen = pool[rng.choice(pool.height, size=size, replace=False)]
        taken += chosen["company_id"].to_list()
        parts.append(chosen.select("company_id", scenario=pl.lit(scenario)))
    subjects = pl.concat(parts)
    return subjects[rng.permutation(subjects.height)]


def _with_context(world: pl.DataFrame) -> pl.DataFrame:
    """Per company: registered sisters (same family, not itself) and registered namesakes
    (same stem, another family)."""
    reg = pl.col("in_register").cast(pl.Int64)
    world = world.with_columns(
        sisters_in_register=reg.sum().over("family_id") - reg,
        namesakes_in_register=reg.sum().over("stem") - reg.sum().over("family_id"),
    )
    return world


def render(
    rng: np.random.Generator, world: pl.DataFrame, subjects: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(incoming, truth) for ``subjects`` in their order."""
    world = _with_context(world)
    rows = subjects.join(world, on="company_id", how="left", maintain_order="left")
    places = Places(rng)
    records, truths = [], []
    for index, row in enumerate(rows.iter_rows(named=True)):
        incoming_id = f"R{index:07d}"
        record, truth = _record(rng, places, row)
        records.append({"incoming_id": incoming_id, **record})
        truths.append({"incoming_id": incoming_id, **truth})
    return pl.DataFrame(records), pl.DataFrame(truths)


def _record(
    rng: np.random.Generator, places: Places, row: dict[str, object]
) -> tuple[dict[str, object], dict[str, object]]:
    name, done = variants.render_name(
        rng,
        str(row["core"]),
        str(row["form"]),
        row["trading_name"],  # type: ignore[arg-type]
    )
    line, town, postcode, kind = _address(rng, places, row)
    postcode_text, postcode_altered = variants.render_postcode(rng, postcode)
    ids, given, mistyped = _identifiers(rng, row)
    record: dict[str, object] = {
        "name": name,
        "address": variants.render_address(rng, line, town),
        "postcode": postcode_text,
        **ids,
    }
    truth = {
        "entref": row["entref"],
        "company_id": row["company_id"],
        "family_id": row["family_id"],
        "stem": row["stem"],
        "scenario": row["scenario"],
        "status": row["status"],
        "sisters_in_register": row["sisters_in_register"],
        "namesakes_in_register": row["namesakes_in_register"],
        "name_variations": ",".join(sorted(set(done))),
        "address_kind": kind,
        "postcode_altered": postcode_altered,
        "ids_given": ",".join(given),
        "id_mistyped": mistyped,
    }
    return record, truth


def _address(
    rng: np.random.Generator, places: Places, row: dict[str, object]
) -> tuple[str, str, str, str]:
    if rng.random() < MOVED_P:
        home = next(i for i, t in enumerate(places.town_names) if t == row["trade_town"])
        town = home if rng.random() < 0.5 else places.town(exclude=home)
        moved = places.address(town)
        return moved.line, moved.town, moved.postcode, "moved"
    if row["agent"] and rng.random() < AGENT_TRADING_ADDRESS_P:
        return str(row["trade_line"]), str(row["trade_town"]), str(row["trade_postcode"]), "trading"
    kind = "agent" if row["agent"] else "registered"
    return str(row["reg_line"]), str(row["reg_town"]), str(row["reg_postcode"]), kind


def _identifiers(
    rng: np.random.Generator, row: dict[str, object]
) -> tuple[dict[str, str | None], list[str], bool]:
    out: dict[str, str | None] = {}
    given, mistyped = [], False
    for id_type, p in ID_GIVEN_P.items():
        value = row[id_type]
        if value is None or rng.random() >= p:
            out[id_type] = None
            continue
        text = str(value)
        given.append(id_type)
        if rng.random() < MISTYPED_P[id_type]:
            text, mistyped = variants.mistype_digit(rng, text), True
        if id_type == "crn":
            text = variants.render_crn(rng, text)
        elif id_type == "vat":
            text = variants.render_vat(rng, text)
        out[id_type] = text
    return out, given, mistyped
