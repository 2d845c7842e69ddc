"""A harder, independently built business register and incoming file for benchmarks.

``generate(n_register, n_incoming, seed)`` returns the register (``entref, crn, vat, paye,
legal_name, trading_name, address, postcode, status, dissolution_date``), the incoming records
(``incoming_id, name, address, postcode, crn, vat, paye``), the truth per incoming record and
the register's truth (``entref, company_id, family_id, stem``). What makes it hard: families of
sister companies at one address ("X LTD", "X HOLDINGS LTD", "X (UK) LTD", "X GROUP PLC"), only
partly registered; namesakes in other towns; formation-agent addresses holding hundreds of
companies; common surname-and-trade names; dissolved and not-yet-incorporated companies;
LTD/LIMITED, '&'/AND, abbreviations, trading names ("T/A"), typos, moves, missing or mistyped
identifiers. Seeded and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from benchmarks.business.hard.incoming import choose_subjects, render
from benchmarks.business.hard.world import generate_world

REGISTER_COLUMNS: tuple[str, ...] = (
    "entref", "crn", "vat", "paye", "legal_name", "trading_name", "address", "postcode",
    "status", "dissolution_date",
)  # fmt: skip


@dataclass(frozen=True)
class HardDataset:
    register: pl.DataFrame
    incoming: pl.DataFrame
    truth: pl.DataFrame
    register_truth: pl.DataFrame


def generate(n_register: int, n_incoming: int, seed: int) -> HardDataset:
    """The register, incoming records and both truth tables, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    world = generate_world(rng, n_register)
    registered = world.filter("in_register").sort("entref")
    register = registered.with_columns(
        address=pl.concat_str("reg_line", pl.lit(", "), "reg_town"), postcode="reg_postcode"
    ).select(REGISTER_COLUMNS)
    subjects = choose_subjects(rng, world, n_incoming)
    incoming, truth = render(rng, world, subjects)
    register_truth = registered.select("entref", "company_id", "family_id", "stem")
    return HardDataset(register, incoming, truth, register_truth)
