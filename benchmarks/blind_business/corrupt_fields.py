"""How addresses, postcodes and identifiers arrive in someone else's file.

Postcodes: left out, typed with one slip (a letter of the inward code, a swapped pair, a
district digit, O for 0), without their space or in lower case. Addresses: street words
abbreviated, the unit line dropped, or the whole address missing. Identifiers: CRNs without
their leading zeros or with a lower-case prefix and a space, one digit wrong, the parent's
number given for a subsidiary; VAT numbers with "GB" and spaces, one digit wrong (failing the
check); PAYE references without their slash.
"""

from __future__ import annotations

import random

from benchmarks.blind_business.places import INWARD_LETTERS, STREET_ABBREVIATIONS, Place


def postcode_typo(rng: random.Random, postcode: str) -> str:
    outward, inward = postcode.split(" ")
    kind = rng.choice(("letter", "swap", "digit", "district"))
    if kind == "letter":
        i = rng.choice((1, 2))
        letters = [ch for ch in INWARD_LETTERS if ch != inward[i]]
        inward = inward[:i] + rng.choice(letters) + inward[i + 1 :]
    elif kind == "swap" and inward[1] != inward[2]:
        inward = inward[0] + inward[2] + inward[1]
    elif kind == "digit":
        inward = str((int(inward[0]) + rng.choice((1, 9))) % 10) + inward[1:]
    else:
        digits = [i for i, ch in enumerate(outward) if ch.isdigit()]
        i = digits[-1]
        outward = outward[:i] + str((int(outward[i]) + 1) % 10) + outward[i + 1 :]
    return f"{outward} {inward}"


def render_postcode(rng: random.Random, postcode: str, flags: list[str]) -> str:
    roll = rng.random()
    if roll < 0.04:
        flags.append("postcode_missing")
        return ""
    if roll < 0.095:
        postcode = postcode_typo(rng, postcode)
        flags.append("postcode_typo")
    style = rng.random()
    if style < 0.1:
        return postcode.replace(" ", "")
    if style < 0.18:
        return postcode.lower()
    return postcode


def render_address(rng: random.Random, place: Place, flags: list[str]) -> str:
    if rng.random() < 0.08:
        flags.append("address_missing")
        return ""
    street = place.street
    if street.startswith("UNIT ") and rng.random() < 0.3:
        street = street.split(", ", 1)[1]
    if rng.random() < 0.4:
        for full, short in STREET_ABBREVIATIONS.items():
            street = street.replace(full, short)
    return f"{street}, {place.town}"


def render_crn(rng: random.Random, crn: str, sister_crn: str, flags: list[str]) -> str:
    roll = rng.random()
    if roll < 0.04:
        flags.append("crn_typo")
        i = rng.randrange(len(crn) - 4, len(crn))
        return crn[:i] + str((int(crn[i]) + rng.randint(1, 9)) % 10) + crn[i + 1 :]
    if roll < 0.055 and sister_crn:
        flags.append("crn_of_sister")
        return sister_crn
    style = rng.random()
    if style < 0.12 and crn.isdigit():
        return crn.lstrip("0")
    if style < 0.16 and not crn.isdigit():
        return f"{crn[:2].lower()} {crn[2:]}"
    return crn


def render_vat(rng: random.Random, vat: str, flags: list[str]) -> str:
    if rng.random() < 0.04:
        flags.append("vat_typo")
        i = rng.randrange(7)
        vat = vat[:i] + str((int(vat[i]) + rng.randint(1, 9)) % 10) + vat[i + 1 :]
    style = rng.random()
    if style < 0.15:
        return f"GB{vat}"
    if style < 0.25:
        return f"GB {vat[:3]} {vat[3:7]} {vat[7:]}"
    return vat


def render_paye(rng: random.Random, paye: str, flags: list[str]) -> str:
    if rng.random() < 0.03:
        flags.append("paye_typo")
        office, ref = paye.split("/")
        paye = f"{office}/{ref[:-1]}{(int(ref[-1]) + 1) % 10}"
    return paye.replace("/", "") if rng.random() < 0.1 else paye
