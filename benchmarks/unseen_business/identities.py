"""Hands out identifiers and names that are unique where the real registers make them so."""

from __future__ import annotations

import random

from benchmarks.unseen_business import identifiers, names
from benchmarks.unseen_business.proportions import Proportions

# Register (from the CRN prefix) -> (kind of business, nation of its registered office).
PREFIX_KIND: dict[str, tuple[str, str]] = {
    "": ("company", "E"), "SC": ("company", "S"), "NI": ("company", "N"),
    "R0": ("company", "N"), "OC": ("llp", "E"), "SO": ("llp", "S"), "NC": ("llp", "N"),
    "LP": ("lp", "E"), "SL": ("lp", "S"), "NL": ("lp", "N"), "OE": ("overseas", "E"),
    "FC": ("overseas", "E"), "SF": ("overseas", "S"), "NF": ("overseas", "N"),
    "GE": ("eeig", "E"),
}  # fmt: skip
_NATION_PREFIX = {"E": "", "S": "SC", "N": "NI"}


class Identities:
    """Unique CRNs, VAT numbers and PAYE references; active names unique under "same as"."""

    def __init__(self, rng: random.Random, proportions: Proportions) -> None:
        self._rng = rng
        self._proportions = proportions
        self._crns: set[str] = set()
        self._vats: set[str] = set()
        self._payes: set[str] = set()
        self._active_names: set[str] = set()
        self._prefixes = list(proportions.crn_types)
        self._prefix_weights = list(proportions.crn_types.values())

    def draw_prefix(self) -> str:
        return self._rng.choices(self._prefixes, self._prefix_weights)[0]

    @staticmethod
    def nation_prefix(nation: str) -> str:
        return _NATION_PREFIX[nation]

    def crn(self, prefix: str) -> str:
        while True:
            crn = identifiers.make_crn(self._rng, prefix)
            if crn not in self._crns:
                self._crns.add(crn)
                return crn

    def vat(self) -> str:
        scheme: identifiers.VatScheme = (
            "9755" if self._rng.random() < self._proportions.vat_9755 else "97"
        )
        while True:
            vat = identifiers.make_vat(self._rng, scheme=scheme)
            if vat not in self._vats:
                self._vats.add(vat)
                return vat

    def paye(self) -> str:
        while True:
            paye = identifiers.make_paye(self._rng)
            if paye not in self._payes:
                self._payes.add(paye)
                return paye

    def claim_name(self, name: str) -> bool:
        """True (and the name is taken) unless an active company already has the same name."""
        key = names.same_as_key(name)
        if key in self._active_names:
            return False
        self._active_names.add(key)
        return True

    def is_taken(self, name: str) -> bool:
        return names.same_as_key(name) in self._active_names
