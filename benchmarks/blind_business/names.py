"""Registered names as Companies House would accept them.

A name is a body ("NOVANEX TEXTILES") and a legal-form ending ("LIMITED"). Companies House
refuses a name that is the "same as" one already on the register, disregarding punctuation,
"THE", legal forms, "&"/"AND", "CO"/"COMPANY" and a list of generic words (UK, GROUP, HOLDINGS,
INTERNATIONAL, SERVICES, ...) unless the new company is in the same group and the holder
consents. That is why "X LIMITED" and "X HOLDINGS LIMITED" are sisters and an unrelated "X
HOLDINGS" elsewhere cannot exist; unrelated look-alikes differ by a real word ("THOMPSON
BUILDERS" / "THOMPSONS BUILDERS" / "THOMPSON (LEEDS)"). :func:`same_as_key` is our
approximation of those rules.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from benchmarks.blind_business import vocab

#: Legal form -> spellings on the register, with weights.
FORM_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "ltd": (("LIMITED", 0.86), ("LTD", 0.14)),
    "plc": (("PLC", 0.9), ("PUBLIC LIMITED COMPANY", 0.1)),
    "llp": (("LLP", 0.93), ("LIMITED LIABILITY PARTNERSHIP", 0.07)),
    "cic": (("CIC", 0.8), ("COMMUNITY INTEREST COMPANY", 0.2)),
    "cyf": (("CYFYNGEDIG", 0.7), ("CYF", 0.3)),
    "ccc": (("CCC", 1.0),),
    "none": (("", 1.0),),
    # overseas bodies keep their home country's form (Jersey, Luxembourg, Netherlands...)
    "foreign": (
        ("LIMITED", 0.35),
        ("S.A R.L.", 0.15),
        ("B.V.", 0.12),
        ("GMBH", 0.1),
        ("INC.", 0.1),
        ("LLC", 0.1),
        ("S.A.", 0.08),
    ),
}
LEGAL_ENDINGS = (
    "LIMITED LIABILITY PARTNERSHIP",
    "PUBLIC LIMITED COMPANY",
    "COMMUNITY INTEREST COMPANY",
    "CYFYNGEDIG",
    "LIMITED",
    "LTD",
    "PLC",
    "LLP",
    "CIC",
    "CYF",
    "CCC",
)
SAME_AS_DISREGARDED = frozenset(
    vocab.words(
        "THE AND CO COMPANY UK GB BRITISH GROUP HOLDINGS INTERNATIONAL SERVICES SOLUTIONS ONLINE "
        "EUROPE EUROPEAN"
    )
)


@dataclass(frozen=True)
class LegalName:
    body: str
    form: str  # a key of FORM_SPELLINGS
    ending: str  # its spelling on the register

    @property
    def text(self) -> str:
        return f"{self.body} {self.ending}".strip()


def zipf_weights(n: int, exponent: float = 0.9) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


SURNAME_WEIGHTS = zipf_weights(len(vocab.SURNAMES))
FIRST_WEIGHTS = zipf_weights(len(vocab.FIRST_NAMES), 0.7)
ACTIVITY_WEIGHTS = zipf_weights(len(vocab.ACTIVITIES), 0.5)


def same_as_key(body: str) -> str:
    words = re.sub(r"[^A-Z0-9& ]", "", body.replace("&", " AND ")).split()
    return " ".join(word for word in words if word not in SAME_AS_DISREGARDED)


def spell(rng: random.Random, form: str) -> str:
    spellings = FORM_SPELLINGS[form]
    return rng.choices([s for s, _ in spellings], weights=[w for _, w in spellings])[0]


class NameMaker:
    """Draws name bodies of the kinds found on the register, in realistic proportions."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def surname(self) -> str:
        return self.rng.choices(vocab.SURNAMES, weights=SURNAME_WEIGHTS)[0]

    def first_name(self) -> str:
        return self.rng.choices(vocab.FIRST_NAMES, weights=FIRST_WEIGHTS)[0]

    def activity(self) -> str:
        return self.rng.choices(vocab.ACTIVITIES, weights=ACTIVITY_WEIGHTS)[0]

    def brand(self) -> str:
        head = self.rng.choice(vocab.BRAND_HEADS)
        tail = self.rng.choice(vocab.BRAND_TAILS)
        joint = self.rng.choice(["", "", "", "A", "I", "O"]) if head[-1] not in "AEIOU" else ""
        if head[-1] == tail[0]:
            joint = ""
            tail = tail[1:] or tail
        return f"{head}{joint}{tail}"

    def surname_body(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            core = self.surname()
        elif roll < 0.45:
            core = f"{rng.choice('ABCDEFGHJKLMNPRSTW')} {self.surname()}"
        elif roll < 0.55:
            core = f"{self.surname()} & {self.surname()}"
        elif roll < 0.62:
            core = f"{self.surname()}S"
        else:
            core = f"{self.surname()} {rng.choice(vocab.FAMILY_SUFFIXES)}"
        if rng.random() < 0.55:
            activity = self.activity()
            core = f"{core} ({activity})" if rng.random() < 0.12 else f"{core} {activity}"
        return core

    def body(self, *, welsh: bool = False) -> str:
        """One name body; Welsh-language bodies for some companies in Wales."""
        rng = self.rng
        if welsh and rng.random() < 0.35:
            word = rng.choice(vocab.WELSH_WORDS)
            return rng.choice(
                [f"{rng.choice(vocab.WELSH_ACTIVITIES)} {word}", f"CWMNI {word} {self.surname()}"]
            )
        roll = rng.random()
        if roll < 0.33:
            body = self.brand()
            return body if rng.random() < 0.35 else f"{body} {self.activity()}"
        if roll < 0.63:
            return self.surname_body()
        if roll < 0.81:
            return f"{rng.choice(vocab.DESCRIPTORS)} {self.activity()}"
        if roll < 0.90:
            return f"{rng.choice(vocab.PLACE_WORDS)} {self.activity()}"
        if roll < 0.95:
            initials = "".join(rng.choice("ABCDEGHJKLMPRST") for _ in range(rng.choice((2, 3))))
            return f"{initials} {rng.choice(['CONSULTING', 'SERVICES', 'ASSOCIATES', 'SOLUTIONS'])}"
        adjective = rng.choice(vocab.DESCRIPTORS + vocab.PLACE_WORDS)
        return (
            f"THE {adjective} {rng.choice(['PIE', 'CANDLE', 'SOAP', 'GIN', 'TEA', 'BIKE'])} COMPANY"
        )

    def guarantee_body(self) -> str:
        place = self.rng.choice(vocab.PLACE_WORDS + vocab.DESCRIPTORS)
        return f"{place} {self.activity()} {self.rng.choice(vocab.GUARANTEE_BODIES)}"

    def sole_trader(self) -> tuple[str, str]:
        """(legal name, trading name) of an unincorporated business."""
        rng = self.rng
        surname = self.surname()
        roll = rng.random()
        if roll < 0.55:
            legal = f"{self.first_name()} {surname}"
        elif roll < 0.75:
            legal = f"{rng.choice('ABCDJKMPRS')} & {rng.choice('ABCDJKMPRS')} {surname}"
        else:
            legal = f"{surname} & {self.surname()}"
        trading = self.trading_name(surname) if rng.random() < 0.7 else ""
        return legal, trading

    def trading_name(self, surname: str | None = None) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            pub = rng.choice(vocab.PUB_NAMES).replace("_", " ")
            return f"THE {pub}" if rng.random() < 0.8 else pub
        if roll < 0.5 and surname:
            return f"{surname}'S {rng.choice(vocab.SHOP_TAILS)}"
        if roll < 0.75:
            return f"{rng.choice(vocab.DESCRIPTORS)} {rng.choice(vocab.SHOP_TAILS)}"
        return f"{self.brand()} {self.activity()}"

    def legal_form(self, *, welsh: bool) -> str:
        roll = self.rng.random()
        if welsh and roll < 0.12:
            return "cyf"
        if roll < 0.9:
            return "ltd"
        if roll < 0.95:
            return "llp"
        if roll < 0.98:
            return "cic"
        return "plc"
