"""How a business's name arrives in someone else's file.

Every change here is one seen in survey returns, VAT and PAYE extracts and trade lists: the
legal ending written another way or left off, "&"/"AND", "THE", abbreviations (and expansions
of abbreviations the register holds), punctuation, initials with full stops, word order of
personal names, invented words split in two, keyboard typos, truncation to a 30-character
field, mixed case, trading names ("T/A"), notes such as "(IN LIQUIDATION)". Each applied change
is recorded as a flag so errors can be traced to their cause.
"""

from __future__ import annotations

import random
import re

from benchmarks.blind_business import vocab
from benchmarks.blind_business.names import LegalName

#: legal form -> (ending as written, weight); "" leaves it off.
FORM_VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "ltd": (("LIMITED", 40), ("LTD", 40), ("LTD.", 5), ("", 12), ("LIMITED.", 1), ("PLC", 2)),
    "plc": (("PLC", 55), ("P.L.C.", 5), ("PUBLIC LIMITED COMPANY", 12), ("LTD", 8), ("", 20)),
    "llp": (("LLP", 72), ("L.L.P.", 5), ("", 15), ("LTD", 8)),
    "cic": (("CIC", 55), ("C.I.C.", 5), ("COMMUNITY INTEREST COMPANY", 15), ("LTD", 10), ("", 15)),
    "cyf": (("CYFYNGEDIG", 30), ("CYF", 30), ("LTD", 20), ("LIMITED", 10), ("", 10)),
    "ccc": (("CCC", 60), ("PLC", 40)),
    "none": (("", 94), ("LTD", 6)),
    "foreign": (("=", 80), ("", 15), ("LTD", 5)),  # "=": as the register spells it
}
KEYBOARD = {
    "A": "QSZ",
    "B": "VNG",
    "C": "XVD",
    "D": "SFE",
    "E": "WRD",
    "F": "DGR",
    "G": "FHT",
    "H": "GJY",
    "I": "UOK",
    "J": "HKU",
    "K": "JLI",
    "L": "KOP",
    "M": "NJ",
    "N": "BMH",
    "O": "IPL",
    "P": "OL",
    "Q": "WA",
    "R": "ETF",
    "S": "ADW",
    "T": "RYG",
    "U": "YIJ",
    "V": "CBF",
    "W": "QES",
    "X": "ZCS",
    "Y": "TUH",
    "Z": "XA",
}
EXPANSIONS = {
    short: full for full, shorts in vocab.ABBREVIATIONS.items() for short in shorts if full != "AND"
}


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip at a letter past the first: substitute, drop, double or swap."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]
    if not letters:
        return text
    i = rng.choice(letters)
    kind = rng.choice(("sub", "sub", "drop", "double", "swap"))
    if kind == "sub":
        return text[:i] + rng.choice(KEYBOARD.get(text[i], "E")) + text[i + 1 :]
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i + 1 :]


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _abbreviate(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    out = []
    for word in words:
        if word in vocab.ABBREVIATIONS and word != "AND" and rng.random() < 0.35:
            out.append(rng.choice(vocab.ABBREVIATIONS[word]))
            flags.append("abbreviated")
        elif word in EXPANSIONS and rng.random() < 0.3:
            out.append(EXPANSIONS[word])
            flags.append("expanded")
        else:
            out.append(word)
    return out


def _ampersand(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    if "&" in words and rng.random() < 0.5:
        flags.append("and_variant")
        return ["AND" if w == "&" else w for w in words]
    if "AND" in words and rng.random() < 0.5:
        flags.append("and_variant")
        return ["&" if w == "AND" else w for w in words]
    return words


def _the(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    if words[:1] == ["THE"] and rng.random() < 0.4:
        flags.append("the_dropped")
        return words[1:]
    if words[:1] != ["THE"] and rng.random() < 0.03:
        flags.append("the_added")
        return ["THE", *words]
    return words


def _punctuation(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    out = []
    for word in words:
        new = word
        if len(word) == 1 and word.isalpha() and rng.random() < 0.3:
            new = word + "."
        elif word.startswith("(") and word.endswith(")") and rng.random() < 0.45:
            new = word[1:-1]
        elif word.endswith("'S") and rng.random() < 0.5:
            new = word.replace("'", "")
        elif (
            2 <= len(word) <= 3
            and word.isalpha()
            and word not in vocab.ABBREVIATIONS
            and (rng.random() < 0.04)
        ):
            new = ".".join(word) + "."  # ABC -> A.B.C.
        if new != word:
            flags.append("punctuation")
        out.append(new)
    return out


def _split_brand(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    for i, word in enumerate(words):
        for head in vocab.BRAND_HEADS:
            if word.startswith(head) and len(word) > len(head) + 2 and rng.random() < 0.06:
                flags.append("word_split")
                return [*words[:i], head, word[len(head) :], *words[i + 1 :]]
    return words


def _word_order(rng: random.Random, words: list[str], flags: list[str]) -> list[str]:
    if rng.random() >= 0.04 or len(words) < 2:
        return words
    if len(words[0]) == 1:  # "J SMITH ..." -> "SMITH J ..."
        flags.append("word_order")
        return [words[1], words[0], *words[2:]]
    if len(words) >= 3 and words[1] in ("&", "AND"):  # "SMITH & JONES" -> "JONES & SMITH"
        flags.append("word_order")
        return [words[2], words[1], words[0], *words[3:]]
    return words


def vary_body(rng: random.Random, body: str, flags: list[str]) -> str:
    words = body.split()
    for step in (_the, _ampersand, _abbreviate, _punctuation, _split_brand, _word_order):
        words = step(rng, words, flags) or words
    return " ".join(words)


def vary_legal(rng: random.Random, name: LegalName, flags: list[str]) -> str:
    """The legal name as written by the sender, before typos and case."""
    body = vary_body(rng, name.body, flags)
    ending = _weighted(rng, FORM_VARIANTS[name.form])
    ending = name.ending if ending == "=" else ending
    if ending != name.ending:
        flags.append("form_dropped" if not ending else "form_variant")
    if ending and rng.random() < 0.03:
        return f"{body}, {ending}"
    return f"{body} {ending}".strip()


def finish(rng: random.Random, text: str, flags: list[str]) -> str:
    """Typos, truncation and case: what happens to any name typed into a form."""
    if len(text) > 30 and rng.random() < 0.04:
        text = text[:30].rstrip()
        flags.append("truncated")
    if rng.random() < 0.13:
        text = typo(rng, text)
        flags.append("typo")
        if rng.random() < 0.2:
            text = typo(rng, text)
            flags.append("typo2")
    case = rng.random()
    if case < 0.22:
        text = text.title()
    elif case < 0.27:
        text = text.lower()
    if rng.random() < 0.03:
        text = re.sub(" ", "  ", text, count=1)
    return text


def trading_variant(rng: random.Random, trading: str, flags: list[str]) -> str:
    words = _the(rng, trading.split(), flags)
    words = _ampersand(rng, words, flags)
    return " ".join(_punctuation(rng, words, flags))
