"""Company names for the hard generator: family stems, sister names, legal forms, and the
Companies House "same as" key that keeps the names of active companies distinct.

A name is built from parts so that incoming records can vary each one: the ``core``
("THOMPSON BUILDERS HOLDINGS", "NOVANEX TEXTILES (UK)") and the legal form written out in the
register's spelling ("LIMITED", "LTD", "PLC", "LLP", "CIC", or nothing for a sole trader).
"""

from __future__ import annotations

import re

import numpy as np

from benchmarks.business.hard.vocab import (
    ADJECTIVES,
    BRAND_SYLLABLES,
    NOUNS,
    SISTER_WEIGHTS,
    SISTER_WORDS,
    SUFFIX_FAMILY,
    SURNAMES,
    TOWNS,
    TRADES,
)

PROFESSIONS = frozenset(
    {"SOLICITORS", "ACCOUNTANCY", "ARCHITECTS", "SURVEYORS", "CONSULTANCY", "ESTATE AGENTS"}
)
#: Words a legal form may be written with, and the form they mean (for the "same as" key).
FORM_WORDS = r"(?:LIMITED|LTD|PLC|PUBLIC LIMITED COMPANY|LLP|CIC|COMMUNITY INTEREST COMPANY)"
_SURNAME_P = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
_SURNAME_P /= _SURNAME_P.sum()
_SISTER_P = np.array(SISTER_WEIGHTS) / sum(SISTER_WEIGHTS)


class NameMaker:
    """Draws stems, trades and sister words with the generator's random state."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def surname(self) -> str:
        return str(SURNAMES[self.rng.choice(len(SURNAMES), p=_SURNAME_P)])

    def stem(self, town: str) -> tuple[str, str]:
        """A family's name stem and its kind (surname, brand, place, descriptive)."""
        rng, roll = self.rng, self.rng.random()
        trade = str(TRADES[rng.integers(len(TRADES))])
        if roll < 0.45:
            return self._surname_stem(trade), "surname"
        if roll < 0.70:
            parts = [str(rng.choice(s)) for s in BRAND_SYLLABLES[: 2 + int(rng.random() < 0.5)]]
            brand = "".join(parts)
            return (f"{brand} {trade}" if rng.random() < 0.7 else brand), "brand"
        if roll < 0.83:
            place = town.split(" ")[0] if rng.random() < 0.7 else str(rng.choice(ADJECTIVES))
            return f"{place} {trade}", "place"
        words = [str(rng.choice(ADJECTIVES))]
        if rng.random() < 0.4:
            words.append(str(rng.choice(NOUNS)))
        if rng.random() < 0.85:
            words.append(trade)
        return " ".join(words), "descriptive"

    def _surname_stem(self, trade: str) -> str:
        rng, roll = self.rng, self.rng.random()
        name = self.surname()
        if roll < 0.1:
            pass
        elif roll < 0.45:
            name = f"{rng.choice(list('ABCDEFGHJKLMPRSTW'))} {name}"
        elif roll < 0.62:
            name = f"{name} {rng.choice(SUFFIX_FAMILY)}"
        elif roll < 0.72:
            name = f"{name} & {self.surname()}"
        return f"{name} {trade}" if rng.random() < 0.7 else name

    def sister_words(self, n: int) -> list[str]:
        """``n`` distinct words that turn the base name into sister companies' names."""
        picks = self.rng.choice(len(SISTER_WORDS), size=n, replace=False, p=_SISTER_P)
        return [SISTER_WORDS[i] for i in picks]

    def form(self, stem: str, singleton: bool) -> str:
        """The family's legal form: LTD, LLP (professions), CIC, or "" (sole trader)."""
        roll = self.rng.random()
        profession = any(word in stem for word in PROFESSIONS) or "PARTNERS" in stem
        if profession and roll < 0.6:
            return "LLP"
        if singleton and roll < 0.14:
            return ""
        return "CIC" if roll > 0.99 else "LTD"

    def form_text(self, form: str) -> str:
        """How the register writes the form: mostly in full, as Companies House does."""
        roll = self.rng.random()
        if form == "LTD":
            return "LIMITED" if roll < 0.75 else "LTD"
        if form == "PLC":
            return "PUBLIC LIMITED COMPANY" if roll < 0.05 else "PLC"
        if form == "CIC":
            return "COMMUNITY INTEREST COMPANY" if roll < 0.3 else "CIC"
        return form

    def qualify(self, core: str, town: str, attempt: int) -> str:
        """A free variant of a taken name: its town, then a region, then initials in front
        ("A J THOMPSON BUILDERS"); initials never run out, so the search always ends."""
        if attempt == 0:
            return f"{core} ({town})"
        if attempt == 1:
            return f"{core} ({self.rng.choice(['NORTH', 'SOUTH', 'MIDLANDS', 'WEST', 'EAST'])})"
        letters = self.rng.choice(list("ABCDEFGHJKLMNPRSTW"), size=2 + attempt // 20)
        return f"{' '.join(letters)} {core}"


def same_as_key(core: str) -> str:
    """Companies House's "same as" comparison, roughly: case, punctuation, '&'/AND, a leading
    THE and the legal form do not make two names different."""
    text = core.upper().replace("&", " AND ")
    text = re.sub(r"[^A-Z0-9 ]+", " ", text)
    text = re.sub(rf"\b{FORM_WORDS}\s*$", "", text)
    text = re.sub(r"^THE\s+", "", text)
    return " ".join(text.split())


def town_names() -> list[str]:
    return [t[0] for t in TOWNS]
