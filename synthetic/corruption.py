"""How the second file of a synthetic pair differs from the first, and the edits that do it.

Rates are per record (per field where it says so) and are drawn independently. Edits that need
string surgery (typos) run in Python, but only over the rows chosen for that edit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from synthetic.errors import SyntheticError

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Keys next to each other on a UK QWERTY keyboard: most real substitutions are neighbours.
_NEIGHBOURS = {
    "Q": "WA", "W": "QES", "E": "WRD", "R": "ETF", "T": "RYG", "Y": "TUH", "U": "YIJ",
    "I": "UOK", "O": "IPL", "P": "OL", "A": "QSZ", "S": "ADWZ", "D": "SFE", "F": "DGR",
    "G": "FHT", "H": "GJY", "J": "HKU", "K": "JLI", "L": "KO", "Z": "ASX", "X": "ZCS",
    "C": "XVD", "V": "CBF", "B": "VNG", "N": "BMH", "M": "NJ",
}  # fmt: skip


@dataclass(frozen=True)
class Corruption:
    """Per-record probabilities of each kind of error in the second file of a pair."""

    first_name_typo: float = 0.06
    surname_typo: float = 0.06
    nickname: float = 0.05  # applied only to first names that have a known nickname
    name_swap: float = 0.01  # first name and surname exchanged
    surname_change: float = 0.03  # a new surname (marriage), adult women only
    dob_day_month_swap: float = 0.02  # only where the day is 12 or less
    dob_typo: float = 0.03  # one digit of the date changed (kept only if the date is valid)
    sex_flip: float = 0.005
    move: float = 0.08  # a different address: new postcode, house number, street, town
    postcode_typo: float = 0.03
    street_abbreviation: float = 0.25  # ROAD -> RD, STREET -> ST...
    house_number_typo: float = 0.02
    missing_first_name: float = 0.02
    missing_surname: float = 0.01
    missing_dob: float = 0.02
    missing_postcode: float = 0.04
    missing_house_number: float = 0.05
    missing_street: float = 0.03
    nhs_missing: float = 0.25
    nhs_mistyped: float = 0.02  # one digit changed (usually failing the check digit)

    def __post_init__(self) -> None:
        problems = [
            f"Corruption: rate {f.name} must be between 0 and 1"
            for f in fields(self)
            if not 0.0 <= getattr(self, f.name) <= 1.0
        ]
        if problems:
            raise SyntheticError(*problems)

    @classmethod
    def none(cls) -> Corruption:
        """No corruption at all: the second file repeats the first exactly for true matches."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def scaled(self, factor: float) -> Corruption:
        """Every rate multiplied by ``factor`` (capped at 1): a quick harder/easier knob."""
        return Corruption(
            **{f.name: min(1.0, getattr(self, f.name) * factor) for f in fields(self)}
        )


def typo(value: str, rng: np.random.Generator) -> str:
    """One keyboard-style edit: insert, delete, substitute (neighbour key) or transpose."""
    if not value:
        return value
    kind = rng.integers(4)
    position = int(rng.integers(len(value)))
    char = value[position]
    if kind == 0:  # insertion: usually a doubled or neighbouring letter
        extra = char if rng.random() < 0.5 else _neighbour(char, rng)
        return value[:position] + extra + value[position:]
    if kind == 1 and len(value) > 2:  # deletion
        return value[:position] + value[position + 1 :]
    if kind == 3 and len(value) > 1:  # transposition of adjacent characters
        position = min(position, len(value) - 2)
        return value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    return value[:position] + _neighbour(char, rng) + value[position + 1 :]


def _neighbour(char: str, rng: np.random.Generator) -> str:
    options = _NEIGHBOURS.get(char.upper())
    if options is None:
        return _ALPHABET[int(rng.integers(26))] if char.isalpha() else char
    return options[int(rng.integers(len(options)))]


def digit_typo(value: str, rng: np.random.Generator) -> str:
    """Replace one digit of ``value`` with a different digit (non-digits untouched)."""
    positions = [i for i, c in enumerate(value) if c.isdigit()]
    if not positions:
        return value
    position = positions[int(rng.integers(len(positions)))]
    new = str((int(value[position]) + int(rng.integers(1, 10))) % 10)
    return value[:position] + new + value[position + 1 :]


def choose(rng: np.random.Generator, n: int, rate: float) -> npt.NDArray[np.bool_]:
    """Boolean mask selecting each of ``n`` rows with probability ``rate``."""
    return rng.random(n) < rate
