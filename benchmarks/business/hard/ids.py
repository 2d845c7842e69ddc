"""Identifiers for the hard business generator, drawn without collisions.

CRNs follow the Companies House layouts (8 digits in England and Wales, "SC"/"NI" and 6 digits
for companies in Scotland and Northern Ireland, "OC"/"SO"/"NC" for LLPs, "FC" for overseas
companies); VAT numbers carry HMRC's check digits (the "modulus 97" rule, or "97-55" for
numbers issued since 2010); PAYE references are "office/reference". Written independently of
``pseudonym.identifiers`` so the benchmark's data does not share pprl's assumptions (a test
checks that pprl accepts them).
"""

from __future__ import annotations

import numpy as np

VAT_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2])
LETTERS = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))


def unique_integers(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct integers in [low, high), in random order."""
    if high - low < n:
        raise ValueError("range too small for the number of distinct values asked")
    drawn = np.unique(rng.integers(low, high, size=int(n * 1.2) + 16))
    while drawn.size < n:
        drawn = np.unique(np.concatenate([drawn, rng.integers(low, high, size=n)]))
    return rng.permutation(drawn)[:n]


def entrefs(rng: np.random.Generator, n: int) -> list[str]:
    """10-digit enterprise references."""
    return [f"{v:010d}" for v in unique_integers(rng, n, 1_000_000_000, 9_999_999_999)]


def crns(rng: np.random.Generator, prefixes: list[str]) -> list[str]:
    """One distinct CRN per requested prefix ("" = England and Wales, 8 digits)."""
    numbers = unique_integers(rng, len(prefixes), 100_000, 999_999)
    big = unique_integers(rng, len(prefixes), 1_000_000, 16_000_000)
    return [
        p + f"{n:06d}" if p else f"{b:08d}" for p, n, b in zip(prefixes, numbers, big, strict=True)
    ]


def vat_check_digits(bases: np.ndarray, *, rule_9755: np.ndarray) -> np.ndarray:
    """Two check digits for 7-digit bases: 97 minus the weighted sum reduced by 97 while
    above 97 (the sum plus 55 under the 97-55 rule)."""
    digits = (bases[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    total = digits @ VAT_WEIGHTS + np.where(rule_9755, 55, 0)
    reduced = (total - 1) % 97 + 1
    return 97 - reduced


def vats(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 9-digit VAT numbers with valid check digits."""
    bases = unique_integers(rng, n, 1_000_000, 9_999_999)
    rule_9755 = bases >= 3_000_000  # newer numbers use the 97-55 rule
    checks = vat_check_digits(bases, rule_9755=rule_9755)
    return [f"{b:07d}{c:02d}" for b, c in zip(bases, checks, strict=True)]


def payes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct employer PAYE references such as "475/KB40213"."""
    offices = rng.integers(101, 999, size=n)
    letters = LETTERS[rng.integers(0, LETTERS.size, size=(n, 2))]
    numbers = unique_integers(rng, n, 10_000, 99_999_999)
    return [
        f"{o:03d}/{a}{b}{num}" for o, (a, b), num in zip(offices, letters, numbers, strict=True)
    ]
