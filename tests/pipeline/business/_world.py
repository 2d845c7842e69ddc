"""Postcodes and company numbers of the hand-made registers in the business tests: one
postcode per company index (areas in turn), a valid-format CRN per index."""

from __future__ import annotations

AREAS = ["AB", "BD", "CF", "DH", "EX", "GL", "HU", "LS", "NG", "PL", "SR", "TQ"]
INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def postcode(i: int, area: int | None = None) -> str:
    """Company ``i``'s postcode, in area number ``area`` when given (else areas in turn)."""
    inward = f"{i % 10}{INWARD[i // 10 % 20]}{INWARD[i // 200 % 20]}"
    return f"{AREAS[i % len(AREAS) if area is None else area]}{i % 97 + 1} {inward}"


def crn(i: int) -> str:
    """Company ``i``'s Companies House number (eight digits, distinct per index)."""
    return f"{10_000_000 + i * 7919:08d}"
