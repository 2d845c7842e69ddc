"""How an incoming record writes a company's name, address, postcode and identifiers.

Each function takes the generator's random state and returns the rendered text plus what it
did (for the truth file), so errors can be analysed by the kind of variation that caused them.
"""

from __future__ import annotations

import re

import numpy as np

from benchmarks.business.hard.vocab import STREET_TYPES

FORM_VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "LTD": (("LTD", 0.34), ("LIMITED", 0.34), ("", 0.24), ("LTD.", 0.05), ("L.T.D.", 0.03)),
    "PLC": (("PLC", 0.55), ("P.L.C.", 0.1), ("PUBLIC LIMITED COMPANY", 0.05), ("", 0.3)),
    "LLP": (("LLP", 0.7), ("", 0.25), ("L.L.P.", 0.05)),
    "CIC": (("CIC", 0.6), ("C.I.C.", 0.1), ("COMMUNITY INTEREST COMPANY", 0.1), ("", 0.2)),
    "": (("", 1.0),),
}
#: Word swaps in either direction ("INTERNATIONAL" <-> "INTL").
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("INTERNATIONAL", "INTL"), ("SERVICES", "SVCS"), ("BROTHERS", "BROS"),
    ("& CO", "& COMPANY"), ("MANAGEMENT", "MGMT"), ("ENGINEERING", "ENG"),
    ("DEVELOPMENTS", "DEVS"), ("PROPERTIES", "PROPS"),
)  # fmt: skip
_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWY"


def _pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    weights = np.array([w for _, w in options])
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def typo(rng: np.random.Generator, text: str) -> str:
    """One keyboard-style edit in a word of four or more letters: substitute, delete, insert
    or swap two neighbours."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = long[int(rng.integers(len(long)))]
    word, pos = words[i], int(rng.integers(1, len(words[i]) - 1))
    letter = _LETTERS[int(rng.integers(len(_LETTERS)))]
    edit = int(rng.integers(4))
    if edit == 0:
        word = word[:pos] + letter + word[pos + 1 :]
    elif edit == 1:
        word = word[:pos] + word[pos + 1 :]
    elif edit == 2:
        word = word[:pos] + letter + word[pos:]
    else:
        word = word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :]
    words[i] = word
    return " ".join(words)


def vary_core(rng: np.random.Generator, core: str) -> tuple[str, list[str]]:
    """'&'/AND, abbreviations, (UK) without brackets, THE, a dropped word, typos."""
    done: list[str] = []
    before = core
    if "&" in core and rng.random() < 0.45:
        core = core.replace(" & ", " AND ")
    elif " AND " in core and rng.random() < 0.3:
        core = core.replace(" AND ", " & ")
    if core != before:
        done.append("and")
    for long, short in ABBREVIATIONS:
        if rng.random() < 0.3:
            swapped = re.sub(rf"(?<!\S){re.escape(long)}(?!\S)", short, core)
            if swapped == core:
                swapped = re.sub(rf"(?<!\S){re.escape(short)}(?!\S)", long, core)
            if swapped != core:
                core = swapped
                done.append("abbreviation")
    if "(" in core and rng.random() < 0.3:
        core = core.replace("(", "").replace(")", "")
        done.append("brackets")
    if rng.random() < 0.04:
        core = f"THE {core}"
        done.append("the")
    words = core.split(" ")
    if len(words) >= 3 and rng.random() < 0.025:
        del words[int(rng.integers(1, len(words)))]
        core = " ".join(words)
        done.append("word_dropped")
    roll = rng.random()
    for _ in range(2 if roll < 0.025 else 1 if roll < 0.13 else 0):
        core = typo(rng, core)
        done.append("typo")
    return core, done


def render_case(rng: np.random.Generator, text: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return text
    if roll < 0.85:
        return text.title()
    return text.lower()


def render_name(
    rng: np.random.Generator, core: str, form: str, trading_name: str | None
) -> tuple[str, list[str]]:
    """The name an incoming source writes, and the variations applied."""
    core, done = vary_core(rng, core)
    form_text = _pick(rng, FORM_VARIANTS[form])
    if form and form_text == "":
        done.append("form_dropped")
    legal = f"{core} {form_text}".strip()
    if trading_name is not None:
        roll = rng.random()
        if roll < 0.4:
            return render_case(rng, trading_name), [*done, "trading_name_only"]
        if roll < 0.65:
            marker = _pick(rng, (("T/A", 0.7), ("TRADING AS", 0.2), ("T/AS", 0.1)))
            return render_case(rng, f"{legal} {marker} {trading_name}"), [*done, "t_a"]
    return render_case(rng, legal), done


def render_address(rng: np.random.Generator, line: str, town: str) -> str:
    """Street types abbreviated, commas dropped, the unit or the town left out, case."""
    if rng.random() < 0.3:
        for long, short in STREET_TYPES:
            line = re.sub(rf"\b{long}\b", short, line)
    if line.startswith("UNIT ") and rng.random() < 0.15:
        line = line.split(", ", 1)[-1]
    text = line if rng.random() < 0.1 else f"{line}, {town}"
    if rng.random() < 0.2:
        text = text.replace(",", "")
    return render_case(rng, text)


def render_postcode(rng: np.random.Generator, postcode: str) -> tuple[str | None, bool]:
    """Missing (4%), a one-character error (3%), no space or lower case. Returns the postcode
    and whether it was altered beyond formatting."""
    roll = rng.random()
    if roll < 0.04:
        return None, True
    altered = roll < 0.07
    if altered:
        chars = list(postcode)
        pos = int(rng.integers(len(chars) - 2, len(chars)))
        chars[pos] = "ABDEFGHJLNPQRSTUWXYZ"[int(rng.integers(20))]
        postcode = "".join(chars)
    if rng.random() < 0.15:
        postcode = postcode.replace(" ", "")
    if rng.random() < 0.15:
        postcode = postcode.lower()
    return postcode, altered


def render_crn(rng: np.random.Generator, crn: str) -> str:
    """A CRN as sources write it: leading zeros dropped, spaces, lower case."""
    roll = rng.random()
    if roll < 0.12 and crn.isdigit():
        return crn.lstrip("0")
    if roll < 0.17:
        return f"{crn[:4]} {crn[4:]}"
    if roll < 0.2:
        return crn.lower()
    return crn


def render_vat(rng: np.random.Generator, vat: str) -> str:
    roll = rng.random()
    if roll < 0.3:
        return f"GB{vat}"
    if roll < 0.55:
        return f"{vat[:3]} {vat[3:7]} {vat[7:]}"
    return vat


def mistype_digit(rng: np.random.Generator, value: str) -> str:
    """One digit replaced by another: a CRN stays well-formed (and may be someone else's);
    a VAT number usually fails its check digits."""
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    i = positions[int(rng.integers(len(positions)))]
    digit = str((int(value[i]) + int(rng.integers(1, 10))) % 10)
    return value[:i] + digit + value[i + 1 :]
