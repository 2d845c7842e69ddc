"""Company names as a register records them, and as other sources write them."""

from __future__ import annotations

import numpy as np

from synthetic.business_vocab import (
    COINED_HEADS,
    COINED_TAILS,
    DESCRIPTIVE,
    INDUSTRIES,
    NAME_ABBREVIATIONS,
    SUFFIX_VARIANTS,
)
from synthetic.checkdigits import CRN_PREFIXES
from synthetic.corruption import typo
from synthetic.places import DISTRICTS
from synthetic.sampling import draw_surnames, surname_pool

_TOWNS = sorted({town for _, town, _ in DISTRICTS})
_OVERSEAS = ("INC", "CORPORATION", "GMBH", "B.V.", "S.A.")


def company_names(
    rng: np.random.Generator, prefixes: list[str | None]
) -> tuple[list[str], list[str], list[str | None]]:
    """SIC codes, registered legal names and (for ~20%) trading names, one per CRN prefix."""
    n = len(prefixes)
    weights = np.array([w for _, _, w in INDUSTRIES], dtype=float)
    industry = rng.choice(len(INDUSTRIES), n, p=weights / weights.sum())
    surnames = surname_pool()[0]
    first_surname = draw_surnames(rng, n)
    second_surname = draw_surnames(rng, n)
    style = rng.random(n)
    sics: list[str] = []
    legal: list[str] = []
    trading: list[str | None] = []
    for i, prefix in enumerate(prefixes):
        sic, words, _ = INDUSTRIES[industry[i]]
        word = words[int(rng.integers(len(words)))]
        surname = surnames[first_surname[i]]
        if style[i] < 0.35:
            core = _surname_style(surname, surnames[second_surname[i]], word, rng)
        elif style[i] < 0.5:
            core = f"{_TOWNS[int(rng.integers(len(_TOWNS)))]} {word}"
        elif style[i] < 0.75:
            core = _coined(rng) + ("" if rng.random() < 0.4 else f" {word}")
        else:
            core = f"{DESCRIPTIVE[int(rng.integers(len(DESCRIPTIVE)))]} {word}"
        if prefix is None and rng.random() < 0.5:
            core = f"{surname[0]} {core}" if not core.startswith(surname) else core
        if rng.random() < 0.05:
            core = f"THE {core}"
        sics.append(sic)
        legal.append(_with_legal_form(core, prefix, rng))
        trading.append(_trading_name(rng, word) if rng.random() < 0.2 else None)
    return sics, legal, trading


def incoming_name(row: dict[str, object], rng: np.random.Generator) -> str:
    """The register's legal name as another source might spell it."""
    name = str(row["legal_name"])
    trading = row.get("trading_name")
    if trading is not None and rng.random() < 0.3:
        name = str(trading) if rng.random() < 0.5 else f"{name} T/A {trading}"
    name = _vary_suffix(name, rng)
    if " & " in name and rng.random() < 0.5:
        name = name.replace(" & ", " AND ")
    elif " AND " in name and rng.random() < 0.5:
        name = name.replace(" AND ", " & ")
    if name.startswith("THE ") and rng.random() < 0.5:
        name = name[4:]
    elif rng.random() < 0.05:
        name = f"THE {name}"
    if rng.random() < 0.10:
        for word, short in NAME_ABBREVIATIONS.items():
            if f" {word}" in f" {name}":
                name = f" {name} ".replace(f" {word} ", f" {short} ").strip()
                break
    if rng.random() < 0.08:
        name = typo(name, rng)
    if row.get("status") == "dissolved" and rng.random() < 0.3:
        name = f"{name} (IN LIQUIDATION)"
    roll = rng.random()
    if roll < 0.4:
        return name.title()
    return name.lower() if roll < 0.5 else name


def _surname_style(surname: str, other: str, word: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.5:
        return f"{surname} {word}"
    if roll < 0.7:
        return f"{surname} & SONS"
    if roll < 0.85:
        return f"{surname} & {other}"
    return f"{surname} {'BROTHERS' if rng.random() < 0.5 else 'ASSOCIATES'}"


def _coined(rng: np.random.Generator) -> str:
    head = COINED_HEADS[int(rng.integers(len(COINED_HEADS)))]
    return head + COINED_TAILS[int(rng.integers(len(COINED_TAILS)))]


def _trading_name(rng: np.random.Generator, word: str) -> str:
    if rng.random() < 0.5:
        return f"{DESCRIPTIVE[int(rng.integers(len(DESCRIPTIVE)))]} {word}"
    return f"{_TOWNS[int(rng.integers(len(_TOWNS)))]} {word}"


def _with_legal_form(core: str, prefix: str | None, rng: np.random.Generator) -> str:
    form = CRN_PREFIXES.get(prefix) if prefix is not None else None
    if form == "company":
        return f"{core} {'PLC' if rng.random() < 0.02 else 'LIMITED'}"
    if form == "society":
        return f"{core} LIMITED"
    if form == "llp":
        return f"{core} LLP"
    if form == "lp":
        return f"{core} LP"
    if form == "overseas":
        return f"{core} {_OVERSEAS[int(rng.integers(len(_OVERSEAS)))]}"
    if form == "cio":
        return f"{core} {'TRUST' if rng.random() < 0.5 else 'FOUNDATION'}"
    if form == "european":
        return f"{core} SE"
    if form == "charter":
        return f"THE INSTITUTE OF {core}" if not core.startswith("THE ") else core
    return core  # unincorporated: no legal form


def _vary_suffix(name: str, rng: np.random.Generator) -> str:
    for suffix, variants in SUFFIX_VARIANTS.items():
        if name.endswith(f" {suffix}") or f" {suffix} T/A " in name:
            if rng.random() < 0.15:
                replacement = ""
            else:
                replacement = " " + variants[int(rng.integers(len(variants)))]
            return name.replace(f" {suffix}", replacement, 1)
    return name
