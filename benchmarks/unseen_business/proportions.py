"""Every proportion the generator uses, in one place; benchmarks/README.md gives the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any


def _frozen(values: dict[str, float]) -> MappingProxyType[str, float]:
    return MappingProxyType(values)


@dataclass(frozen=True)
class Proportions:
    register_rows: int = 300_000
    incoming_rows: int = 30_000
    in_register: float = 0.80
    # register: what kind of business each row is
    unincorporated: float = 0.14  # sole traders and partnerships: no CRN
    family_members: float = 0.20  # companies in groups of sisters sharing a name stem
    agent_clients: float = 0.12  # registered office at a formation agent or accountant
    surname_names: float = 0.30  # of the other companies: "THOMPSON LTD", "J SMITH & SONS LTD"
    family_unregistered: float = 0.18  # of sisters: not on the register, own valid CRN
    family_at_agent: float = 0.15  # of groups: the whole group registered at an agent
    family_same_address: float = 0.85  # of sisters: at the group's registered office
    agents_per_100k: float = 15.0  # formation agents and accountants per 100k register rows
    dissolved: float = 0.08
    name_reused: float = 0.25  # of dissolved companies: an active successor took the name
    changed_name: float = 0.05
    trading_name: float = 0.12  # of companies; unincorporated traders get theirs in names.py
    vat_registered: float = 0.55
    vat_9755: float = 0.45  # of VAT numbers: issued since 2009 under the 97-55 check
    vat_group: float = 0.35  # of groups with two or more VAT-registered sisters on the register
    paye_registered: float = 0.45
    unincorporated_vat: float = 0.45
    unincorporated_paye: float = 0.25
    crn_types: MappingProxyType[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "": 0.855,
                "SC": 0.055,
                "NI": 0.025,
                "R0": 0.002,
                "OC": 0.03,
                "SO": 0.004,
                "NC": 0.002,
                "LP": 0.008,
                "SL": 0.006,
                "NL": 0.001,
                "OE": 0.004,
                "FC": 0.005,
                "SF": 0.001,
                "NF": 0.001,
                "GE": 0.001,
            }
        )
    )
    # incoming records that are on the register, by what makes them hard
    in_register_categories: MappingProxyType[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "exact": 0.16,
                "noisy_name": 0.18,
                "trading_name": 0.06,
                "old_name": 0.04,
                "moved_address": 0.06,
                "formation_agent": 0.08,
                "sister_same_address": 0.12,
                "common_name": 0.10,
                "dissolved": 0.03,
                "successor_of_dissolved": 0.02,
                "group_vat": 0.03,
                "unincorporated": 0.10,
                "wrong_identifier": 0.02,
            }
        )
    )
    # incoming records that are not on the register
    not_in_register_categories: MappingProxyType[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "unregistered_sibling": 0.30,
                "namesake_other_town": 0.30,
                "new_business": 0.25,
                "unincorporated_not_in_register": 0.15,
            }
        )
    )
    # the file an incoming record came from decides which identifiers it carries
    sources: MappingProxyType[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "survey_return": 0.35,
                "grant_scheme": 0.20,
                "trade_directory": 0.30,
                "tax_admin": 0.15,
            }
        )
    )
    sibling_carries_crn: float = 0.75
    wrong_id_is_sister_crn: float = 0.5  # else a keying error (VAT fails its check)
    name_edits: float = 0.35  # chance of each of up to two name edits outside noisy_name
    address_edits: float = 0.30
    postcode_missing: float = 0.06
    postcode_partial: float = 0.07
    postcode_mistyped: float = 0.05
    restyled: float = 0.15  # case as typed into a web form

    def scaled(self, scale: float) -> Proportions:
        return replace(
            self,
            register_rows=max(1_000, round(self.register_rows * scale)),
            incoming_rows=max(100, round(self.incoming_rows * scale)),
        )

    def as_json(self) -> dict[str, Any]:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return {
            key: dict(value) if isinstance(value, MappingProxyType) else value
            for key, value in values.items()
        }


# Which identifiers a record carries, by source: (CRN, VAT, PAYE) presence when the business
# has one. Survey returns and grant schemes ask for a company number; directories rarely print
# one; tax files carry VAT and PAYE.
SOURCE_ID_PRESENCE: dict[str, tuple[float, float, float]] = {
    "survey_return": (0.55, 0.40, 0.25),
    "grant_scheme": (0.75, 0.30, 0.10),
    "trade_directory": (0.05, 0.03, 0.0),
    "tax_admin": (0.15, 0.90, 0.60),
}
