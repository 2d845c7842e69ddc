"""How other files write a business differently from the register: keying errors, legal
equivalents, abbreviations, words dropped or added, and damaged postcodes."""

from __future__ import annotations

import random
import re

from benchmarks.unseen_business import vocab

_KEYBOARD_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_NEIGHBOURS = {
    key: row[max(0, i - 1) : i] + row[i + 1 : i + 2]
    for row in _KEYBOARD_ROWS
    for i, key in enumerate(row)
}
# Legally the same name written another way (the Companies House accepted abbreviations).
_EQUIVALENTS = (
    (" LIMITED", " LTD"), (" LTD", " LIMITED"), (" LTD", " LTD."), (" & ", " AND "),
    (" AND ", " & "), (" PLC", " PUBLIC LIMITED COMPANY"), (" COMPANY", " CO"),
    (" & CO", " AND CO"), ("(UK)", "UK"), ("THE ", ""),
)  # fmt: skip
# Everyday abbreviations of words that do change nothing legally.
_ABBREVIATIONS = (
    ("INTERNATIONAL", "INTL"), ("SERVICES", "SVCS"), ("BROTHERS", "BROS"), ("COMPANY", "CO"),
    ("ENGINEERING", "ENG"), ("MANAGEMENT", "MGMT"), ("DEVELOPMENTS", "DEVS"),
    ("PROPERTIES", "PROPS"), ("TECHNOLOGIES", "TECH"), ("CONSULTANCY", "CONSULT"),
    ("CONSTRUCTION", "CONST"), ("ELECTRICAL", "ELEC"), ("& SONS", "& SON"),
)  # fmt: skip
_LEGAL_ENDINGS = (" LIMITED", " LTD", " PLC", " LLP", " CIC")
_STREET_ABBREVIATIONS = (
    ("STREET", "ST"), ("ROAD", "RD"), ("AVENUE", "AVE"), ("LANE", "LN"), ("DRIVE", "DR"),
    ("CLOSE", "CL"), ("CRESCENT", "CRES"), ("INDUSTRIAL ESTATE", "IND EST"),
    ("BUSINESS PARK", "BUS PK"), ("TRADING ESTATE", "TRAD EST"), ("HOUSE", "HSE"),
)  # fmt: skip
_WHITESPACE = re.compile(r"\s+")
_LOOKALIKES = {"O": "0", "0": "O", "I": "1", "1": "I", "S": "5", "5": "S", "B": "8", "8": "B"}


def typo(rng: random.Random, text: str) -> str:
    """One keying error in a letter of ``text``: substitution, deletion, transposition, double."""
    letters = [i for i, char in enumerate(text) if char.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:])
    char = text[i]
    kind = rng.randrange(4)
    if kind == 0 and char in _NEIGHBOURS:
        return text[:i] + rng.choice(_NEIGHBOURS[char]) + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + char + text[i + 2 :]
    return text[:i] + char + text[i:]


def _replace_one(rng: random.Random, text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    options = [(old, new) for old, new in pairs if old in text]
    if not options:
        return text
    old, new = rng.choice(options)
    return text.replace(old, new, 1)


def legal_equivalent(rng: random.Random, name: str) -> str:
    """LTD for LIMITED, AND for &, THE dropped: the same legal name written differently."""
    return _replace_one(rng, name, _EQUIVALENTS)


def abbreviate(rng: random.Random, name: str) -> str:
    return _replace_one(rng, name, _ABBREVIATIONS)


def drop_legal_ending(name: str) -> str:
    for ending in _LEGAL_ENDINGS:
        if name.endswith(ending):
            return name[: -len(ending)]
    return name


def drop_word(rng: random.Random, name: str) -> str:
    """A word left out: the legal ending, a trade word, "& SONS", an initial."""
    words = name.split()
    if len(words) < 3 or rng.random() < 0.4:
        return drop_legal_ending(name)
    del words[rng.randrange(1, len(words) - 1)]
    return " ".join(words)


def add_word(rng: random.Random, name: str) -> str:
    """A word the register does not have: THE, a description of the trade, a place."""
    draw = rng.random()
    if draw < 0.35 and not name.startswith("THE "):
        return f"THE {name}"
    if draw < 0.7:
        return f"{name} - {rng.choice(vocab.TRADES)}"
    return f"{name} ({rng.choice(vocab.TOWNS).name})"


def restyle(rng: random.Random, text: str) -> str:
    """Case and spacing as typed into a form (meaningless for linkage, common in files)."""
    draw = rng.random()
    if draw < 0.4:
        return text.title()
    if draw < 0.55:
        return text.lower()
    return text


def noisy_name(rng: random.Random, name: str, *, edits: int) -> str:
    """``name`` after ``edits`` changes drawn from the kinds above."""
    operations = (
        (5, legal_equivalent), (3, abbreviate), (4, typo), (2, drop_word), (1, add_word),
    )  # fmt: skip
    for _ in range(edits):
        operation = rng.choices([op for _, op in operations], [w for w, _ in operations])[0]
        name = operation(rng, name)
    return name


def noisy_address(rng: random.Random, address: str, *, edits: int) -> str:
    """Street words abbreviated, the unit or town left off, a keying error."""
    for _ in range(edits):
        draw = rng.random()
        parts = address.split(", ")
        if draw < 0.4:
            address = _replace_one(rng, address, _STREET_ABBREVIATIONS)
        elif draw < 0.55 and len(parts) > 2:
            address = ", ".join(parts[1:])
        elif draw < 0.7 and len(parts) > 1:
            address = ", ".join(parts[:-1])
        elif draw < 0.85:
            address = typo(rng, address)
        else:
            address = address.replace(",", "")
    return address


def partial_postcode(code: str) -> str:
    """The outward code only ("LS11"), as many forms record it."""
    return code.split(" ")[0]


def mistyped_postcode(rng: random.Random, code: str) -> str:
    """One character wrong: a look-alike (O/0, S/5), a neighbour key, or the space lost."""
    draw = rng.random()
    if draw < 0.25:
        return code.replace(" ", "")
    positions = [i for i, char in enumerate(code) if char != " "]
    i = rng.choice(positions)
    char = code[i]
    if char in _LOOKALIKES and draw < 0.6:
        new = _LOOKALIKES[char]
    elif char.isdigit():
        new = str((int(char) + rng.randint(1, 9)) % 10)
    else:
        new = rng.choice(_NEIGHBOURS.get(char, "ABDEFGHJLNPQRSTUWXYZ") or "A")
    return code[:i] + new + code[i + 1 :]


def tidy(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
