"""Business names as registers hold them, and the ways other files write them differently."""

from __future__ import annotations

import random
import re
from itertools import accumulate

from benchmarks.unseen_business import vocab

_SURNAME_WEIGHTS = list(accumulate(1.0 / (rank + 3) for rank in range(len(vocab.SURNAMES))))
_PUNCTUATION = re.compile(r"[^A-Z0-9 ]")
# Words the Companies House "same as" test ignores; a register cannot hold two active
# companies whose names differ only in these.
_SAME_AS_NOISE = {"LTD", "LIMITED", "PLC", "LLP", "LP", "AND", "THE", "CO", "COMPANY"}


def surname(rng: random.Random) -> str:
    """A surname with a Zipf-like draw: SMITH and JONES far more often than MISTRY."""
    return rng.choices(vocab.SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]


def same_as_key(name: str) -> str:
    """The name with legal endings, "&"/AND, THE, CO and punctuation removed."""
    words = _PUNCTUATION.sub(" ", name.upper().replace("&", " AND ")).split()
    return "".join(word for word in words if word not in _SAME_AS_NOISE)


def company_suffix(rng: random.Random, kind: str) -> str:
    """The legal ending a register shows for a business of this kind."""
    if kind == "llp":
        return "LLP"
    if kind == "lp":
        return rng.choice(("LP", "LIMITED PARTNERSHIP"))
    if kind == "eeig":
        return "EEIG"
    if kind == "overseas":
        return rng.choice(vocab.OVERSEAS_SUFFIXES)
    draw = rng.random()
    if draw < 0.55:
        return "LIMITED"
    if draw < 0.96:
        return "LTD"
    return "PLC" if draw < 0.98 else "CIC"


def brand_stem(rng: random.Random) -> str:
    """An invented or descriptive brand ("NOVANEX", "RED KITE"), sometimes with a trade."""
    if rng.random() < 0.65:
        stem = rng.choice(vocab.STEM_HEADS) + rng.choice(vocab.STEM_MIDS)
        stem += rng.choice(vocab.STEM_TAILS)
    else:
        stem = rng.choice(vocab.DESCRIPTIVE)
    return f"{stem} {rng.choice(vocab.TRADES)}" if rng.random() < 0.6 else stem


def surname_core(rng: random.Random) -> tuple[str, str]:
    """A family-firm name body ("J SMITH & SONS", "THOMPSON") and its core surname."""
    name = surname(rng)
    initial = rng.choice(vocab.INITIALS)
    patterns = (
        (6, name),
        (4, f"{initial} {name} & SONS"),
        (3, f"{name} & SONS"),
        (3, f"{name} BROTHERS"),
        (3, f"{name} & CO"),
        (6, f"{name} {rng.choice(vocab.TRADES)}"),
        (4, f"{initial} {name} {rng.choice(vocab.TRADES)}"),
        (3, f"{name} & {surname(rng)}"),
        (2, f"{initial}{rng.choice(vocab.INITIALS)} {name}"),
        (2, f"{name}S"),
    )
    body = rng.choices([p for _, p in patterns], weights=[w for w, _ in patterns])[0]
    return body, name


def unincorporated_name(rng: random.Random) -> tuple[str, str, str]:
    """A sole trader or partnership: (legal name, trading name or "", core surname)."""
    name = surname(rng)
    draw = rng.random()
    if draw < 0.35:
        legal = f"{rng.choice(vocab.INITIALS)} {name}"
    elif draw < 0.55:
        legal = f"{rng.choice(vocab.FORENAMES)} {name}"
    elif draw < 0.75:
        legal = f"{name} & {surname(rng)}"
    elif draw < 0.9:
        legal = f"{rng.choice(vocab.INITIALS)} & {rng.choice(vocab.INITIALS)} {name}"
    else:
        legal = f"{name} {rng.choice(vocab.TRADES)}"
    trading = ""
    if rng.random() < 0.45:
        trading = rng.choice(
            (
                f"{name}S {rng.choice(vocab.TRADES)}",
                f"{rng.choice(vocab.DESCRIPTIVE)} {rng.choice(vocab.TRADES)}",
                f"THE {rng.choice(vocab.DESCRIPTIVE)} {rng.choice(vocab.TRADES)}",
            )
        )
    return legal, trading, name


def with_suffix(body: str, suffix: str) -> str:
    return f"{body} {suffix}" if suffix else body
