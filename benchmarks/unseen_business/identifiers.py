"""Business identifiers built to their published rules, and the checks that verify them.

Companies House registration number (CRN): eight characters, either eight digits (a company
registered in England and Wales) or a two-character prefix naming the register and six
digits. The prefixes generated here (Companies House's published list):

    ==  ============================================================
    SC  company, Scotland
    NI  company, Northern Ireland
    R0  company, Northern Ireland (register before 1922)
    OC  limited liability partnership, England and Wales
    SO  limited liability partnership, Scotland
    NC  limited liability partnership, Northern Ireland
    LP  limited partnership, England and Wales
    SL  limited partnership, Scotland
    NL  limited partnership, Northern Ireland
    OE  overseas entity (Register of Overseas Entities, 2022)
    FC  overseas company
    SF  overseas company, Scotland (before October 2009)
    NF  overseas company, Northern Ireland (before October 2009)
    GE  European Economic Interest Grouping, England and Wales
    ==  ============================================================

A CRN has no check digit. So that no generated number names a real firm, every serial starts
with 9 (numeric CRNs 90000000-99999999, prefixed ones XX9nnnnn): Companies House has not yet
issued numbers that high in any series.

VAT registration number: nine digits; the first seven carry weights 8, 7, ..., 2 and the last
two are check digits. Old series (modulus 97): weighted sum + check = 0 mod 97. Series issued
since November 2009 (97-55): weighted sum + 55 + check = 0 mod 97. Known answer: 831 4958 16
is a modulus-97 number (h2g2 entry A10287461, "VAT numbers"). Numbers beginning 00 (Isle of
Man) or 01-09 (reserved by HMRC) are not generated.

PAYE employer reference: a three-digit HMRC tax office number, "/", then the employer's
reference within that office (letters and digits, here two letters and five digits, as most
references are written). It has no check character.
"""

from __future__ import annotations

import random
import re
from typing import Literal

NUMERIC_CRN = ""
CRN_PREFIXES: tuple[str, ...] = (
    "SC", "NI", "R0", "OC", "SO", "NC", "LP", "SL", "NL", "OE", "FC", "SF", "NF", "GE",
)  # fmt: skip
_CRN_PATTERN = re.compile(r"^(?:\d{8}|(?:" + "|".join(CRN_PREFIXES) + r")\d{6})$")
_VAT_WEIGHTS = (8, 7, 6, 5, 4, 3, 2)
VatScheme = Literal["97", "9755"]
_SCHEME_OFFSET: dict[VatScheme, int] = {"97": 0, "9755": 55}
_PAYE_PATTERN = re.compile(r"^\d{3}/[A-Z0-9]{1,10}$")
# HMRC PAYE tax office numbers seen on employer references (a spread, not a full list).
PAYE_OFFICES: tuple[str, ...] = (
    "120", "123", "210", "226", "246", "325", "361", "406", "475", "581", "635", "653",
    "723", "754", "846", "861", "901", "948", "951", "961",
)  # fmt: skip
_PAYE_LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"


def make_crn(rng: random.Random, prefix: str) -> str:
    """A CRN of the given register (``""`` for England and Wales) from the unissued 9 range."""
    if prefix == NUMERIC_CRN:
        return f"9{rng.randrange(10_000_000):07d}"
    if prefix not in CRN_PREFIXES:
        raise ValueError("unknown CRN prefix")
    return f"{prefix}9{rng.randrange(100_000):05d}"


def is_valid_crn(crn: str) -> bool:
    """Eight characters: eight digits, or a published prefix and six digits."""
    return bool(_CRN_PATTERN.match(crn))


def _weighted_sum(base: str) -> int:
    return sum(int(digit) * weight for digit, weight in zip(base, _VAT_WEIGHTS, strict=True))


def vat_check_digits(base: str, *, scheme: VatScheme) -> str:
    """The two check digits of a seven-digit base under ``"97"`` or ``"9755"``."""
    return f"{(-(_weighted_sum(base) + _SCHEME_OFFSET[scheme])) % 97:02d}"


def make_vat(rng: random.Random, *, scheme: VatScheme) -> str:
    """A nine-digit VAT number; the base never starts 00-09 (Isle of Man, HMRC reserved)."""
    base = f"{rng.randrange(1_000_000, 10_000_000):07d}"
    return base + vat_check_digits(base, scheme=scheme)


def vat_scheme(vat: str) -> VatScheme | None:
    """``"97"`` or ``"9755"`` when the number passes that check, else None."""
    if len(vat) != 9 or not vat.isdigit():
        return None
    for scheme in _SCHEME_OFFSET:
        if vat[7:] == vat_check_digits(vat[:7], scheme=scheme):
            return scheme
    return None


def is_valid_vat(vat: str) -> bool:
    return vat_scheme(vat) is not None


def make_paye(rng: random.Random) -> str:
    office = rng.choice(PAYE_OFFICES)
    letters = "".join(rng.choice(_PAYE_LETTERS) for _ in range(2))
    return f"{office}/{letters}{rng.randrange(100_000):05d}"


def is_valid_paye(paye: str) -> bool:
    return bool(_PAYE_PATTERN.match(paye))


def vat_typo(rng: random.Random, vat: str) -> str:
    """One digit of ``vat`` changed so that neither check passes (a keying error)."""
    for _ in range(50):
        position = rng.randrange(9)
        digit = str((int(vat[position]) + rng.randrange(1, 10)) % 10)
        typo = vat[:position] + digit + vat[position + 1 :]
        if not is_valid_vat(typo) and not typo.startswith("0"):
            return typo
    return vat[:7] + "99"  # check digits run 00-96, so 99 fails both schemes


def crn_typo(rng: random.Random, crn: str) -> str:
    """Two adjacent digits of the serial swapped, or one changed: still CRN-shaped."""
    head, serial = (crn[:2], crn[2:]) if crn[:2] in CRN_PREFIXES else ("", crn)
    digits = list(serial)
    position = rng.randrange(1, len(digits) - 1)
    if digits[position] != digits[position + 1] and rng.random() < 0.5:
        digits[position], digits[position + 1] = digits[position + 1], digits[position]
    else:
        digits[position] = str((int(digits[position]) + rng.randrange(1, 10)) % 10)
    return head + "".join(digits)
