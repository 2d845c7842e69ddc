"""Valid, unique business identifiers: IDBR entref, Companies House number, VAT, PAYE.

* CRN: 8 digits (England and Wales) or a 2-letter prefix and 6 digits (SC Scotland, NI
  Northern Ireland, OC/SO/NC limited liability partnerships, FC an overseas company's UK
  establishment, OE the Register of Overseas Entities opened in August 2022), per Companies
  House's published prefix list.
* VAT: 9 digits whose last two are the HMRC check: weights 8..2 over the first seven give S;
  check = 97 - (S mod 97 reduced into 1..97), or the same with S + 55 (numbers issued since
  2010); see pseudonym/identifiers/vat.py.
* PAYE employer reference: a 3-digit tax office number, "/", and a reference of letters and
  digits (HMRC's published layout, e.g. "123/AB45678").
* entref: 10 digits (the IDBR enterprise reference length).
"""

from __future__ import annotations

import random

VAT_WEIGHTS = (8, 7, 6, 5, 4, 3, 2)
PAYE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

#: Number ranges Companies House has issued, by prefix (enough room that collisions are rare).
CRN_RANGES: dict[str, tuple[int, int]] = {
    "": (100_000, 15_999_999),
    "SC": (100_000, 799_999),
    "NI": (10_000, 699_999),
    "OC": (300_000, 449_999),
    "SO": (300_000, 309_999),
    "NC": (1_000, 1_999),
    "FC": (20_000, 41_999),
    "OE": (1, 35_000),
}


def vat_check(first_seven: int, *, new_style: bool) -> int:
    """HMRC check digits for the 7-digit stem."""
    digits = f"{first_seven:07d}"
    total = sum(int(d) * w for d, w in zip(digits, VAT_WEIGHTS, strict=True))
    if new_style:
        total += 55
    reduced = 0 if total == 0 else (total - 1) % 97 + 1
    return 97 - reduced


class Allocator:
    """Hands out identifiers no one else holds (register and unregistered businesses alike)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def _fresh(self, make: object) -> str:
        assert callable(make)
        while True:
            value = make()
            if value not in self._taken:
                self._taken.add(value)
                return str(value)

    def entref(self) -> str:
        return self._fresh(lambda: str(self._rng.randint(1_000_000_000, 9_999_999_999)))

    def crn(self, prefix: str = "") -> str:
        low, high = CRN_RANGES[prefix]

        def make() -> str:
            number = self._rng.randint(low, high)
            return f"{number:08d}" if not prefix else f"{prefix}{number:06d}"

        return self._fresh(make)

    def vat(self) -> str:
        def make() -> str:
            stem = self._rng.randint(1_000_000, 9_999_999)
            check = vat_check(stem, new_style=self._rng.random() < 0.4)
            return f"{stem:07d}{check:02d}"

        return self._fresh(make)

    def paye(self) -> str:
        def make() -> str:
            office = self._rng.randint(101, 961)
            letters = "".join(
                self._rng.choice(PAYE_LETTERS) for _ in range(self._rng.choice((1, 2)))
            )
            digits = "".join(str(self._rng.randrange(10)) for _ in range(7 - len(letters)))
            return f"{office}/{letters}{digits}"

        return self._fresh(make)

    def is_taken(self, value: str) -> bool:
        return value in self._taken
