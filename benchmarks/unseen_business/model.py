"""One business of the generated world, on the register or not."""

from __future__ import annotations

from dataclasses import dataclass

NO_FAMILY = -1
NO_AGENT = -1


@dataclass(slots=True)
class Business:
    uid: int
    kind: str  # company, llp, lp, overseas, unincorporated
    role: str  # single, family, agent_client, surname, unincorporated
    legal_name: str
    core: str  # the stem or surname namesakes share
    town: int
    address: str  # registered office (the register's address)
    postcode: str
    trading_address: str  # where it trades; equal to address unless registered at an agent
    trading_postcode: str
    crn: str = ""
    vat: str = ""
    paye: str = ""
    trading_name: str = ""
    previous_name: str = ""
    family: int = NO_FAMILY
    agent: int = NO_AGENT
    vat_group: bool = False
    status: str = "active"
    dissolution_date: str = ""
    in_register: bool = True
    entref: str = ""
