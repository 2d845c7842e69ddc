"""An IDBR-like business register and incoming records that refer to it with known truth.

The register has one row per enterprise with valid-format reference numbers (entref, ruref,
luref, CRN, VAT, PAYE). Incoming records spell names the way other sources do: LTD for
LIMITED, '&' for AND, trading names, abbreviations, typos, moves, missing or mistyped CRNs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.addresses import generate_addresses
from synthetic.business_names import company_names, incoming_name
from synthetic.checkdigits import CRN_PREFIXES, ruref_check_letter, vat_check_digits
from synthetic.corruption import digit_typo, typo
from synthetic.errors import SyntheticError
from synthetic.person_edits import abbreviate_street, postcode_typo

REGISTER_COLUMNS: tuple[str, ...] = (
    "entref", "ruref", "luref", "crn", "vat", "paye", "legal_name", "trading_name", "address",
    "postcode", "sic", "employment", "status", "successor_entref",
)  # fmt: skip
INCOMING_COLUMNS: tuple[str, ...] = ("incoming_id", "name", "address", "postcode", "crn", "vat")

# Share of enterprises by CRN prefix; None = not incorporated (sole trader, partnership).
_CRN_SHARES: dict[str | None, float] = {
    None: 0.20, "": 0.56, "SC": 0.06, "NI": 0.025, "R0": 0.002, "OC": 0.035, "SO": 0.004,
    "NC": 0.002, "LP": 0.02, "SL": 0.015, "NL": 0.002, "FC": 0.01, "SF": 0.002, "NF": 0.002,
    "IP": 0.01, "SP": 0.002, "RC": 0.003, "SR": 0.001, "CE": 0.01, "CS": 0.003, "SE": 0.001,
}  # fmt: skip


def generate_register(n_enterprises: int, *, seed: int) -> pl.DataFrame:
    """``n_enterprises`` register rows with the columns in :data:`REGISTER_COLUMNS`.

    ``entref`` 10 digits; ``ruref`` 11 digits and a (synthetic) check letter; ``luref`` 9
    digits and a check letter; ``crn`` a Companies House number (8 digits or a 2-letter prefix
    and 6 digits; null for unincorporated businesses); ``vat`` 9 digits passing the 97 or 97-55
    check (null below the VAT threshold); ``paye`` "123/AB12345" (null with no employees);
    ``status`` "live" or "dissolved"; ``successor_entref`` set for dissolved enterprises that
    merged into another. Deterministic by seed.
    """
    if n_enterprises < 0:
        raise SyntheticError("generate_register: n_enterprises must be zero or more")
    rng = np.random.default_rng(seed)
    n = n_enterprises
    entref = _unique_digits(rng, n, 10)
    ruref_stems = rng.choice(10**11 - 10**10, n, replace=False) + 10**10
    luref_stems = rng.choice(10**9 - 10**8, n, replace=False) + 10**8
    prefixes = _crn_prefixes(rng, n)
    crn = _crns(rng, prefixes)
    employment = np.floor(rng.lognormal(mean=1.0, sigma=1.6, size=n)).astype(np.int64)
    industry, legal, trading = company_names(rng, prefixes)
    addresses = generate_addresses(rng, n)
    status = np.where(rng.random(n) < 0.1, "dissolved", "live")
    successor = _successors(rng, entref, status)
    return pl.DataFrame(
        {
            "entref": entref,
            "ruref": pl.Series(ruref_stems).cast(pl.String)
            + pl.Series(ruref_check_letter(ruref_stems)),
            "luref": pl.Series(luref_stems).cast(pl.String)
            + pl.Series(ruref_check_letter(luref_stems, width=9)),
            "crn": crn,
            "vat": _vats(rng, n, registered=(employment > 0) | (rng.random(n) < 0.4)),
            "paye": _payes(rng, employment),
            "legal_name": legal,
            "trading_name": trading,
            "address": addresses["house_number"]
            + " "
            + addresses["street"]
            + ", "
            + addresses["town"],
            "postcode": addresses["postcode"],
            "sic": industry,
            "employment": employment,
            "status": status,
            "successor_entref": successor,
        }
    )


def generate_incoming(
    register: pl.DataFrame, n: int, *, seed: int, in_register: float = 0.85
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` records from another source, ``in_register`` of them about register enterprises.

    Returns ``(incoming, truth)``: ``incoming`` has :data:`INCOMING_COLUMNS` in mixed case and
    varied spellings; ``truth`` has ``incoming_id`` and ``entref`` for every record that refers
    to a register enterprise (including dissolved and merged ones, which keep their own entref).
    Records not in the register are new companies whose CRNs are not in the register either.
    Register records are drawn without replacement while possible; the number of known records
    is capped at three per enterprise, so a tiny register yields fewer than ``in_register``.
    """
    if n < 0 or not 0.0 <= in_register <= 1.0:
        raise SyntheticError("generate_incoming: n must be zero or more, in_register 0 to 1")
    rng = np.random.default_rng(seed)
    n_known = min(round(n * in_register), register.height * 3)
    picks = rng.choice(register.height, n_known, replace=n_known > register.height)
    known = register[picks]
    strangers = generate_register(n - n_known, seed=int(rng.integers(2**31)))
    taken = set(register["crn"].drop_nulls().to_list())
    strangers = strangers.with_columns(
        crn=pl.when(pl.col("crn").is_in(list(taken))).then(None).otherwise(pl.col("crn"))
    )
    movers = generate_addresses(rng, max(n, 1))
    source = pl.concat([known, strangers]).with_columns(
        _entref=pl.Series(
            [*known["entref"].to_list(), *([None] * strangers.height)], dtype=pl.String
        )
    )
    records = [
        _incoming_record(row, rng, movers, i) for i, row in enumerate(source.iter_rows(named=True))
    ]
    incoming = pl.DataFrame(records, schema=[*INCOMING_COLUMNS, "_entref"], orient="row")
    incoming = incoming.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    ids = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.String).str.zfill(8)
    incoming = incoming.with_columns(incoming_id=pl.lit("B") + ids)
    truth = (
        incoming.filter(pl.col("_entref").is_not_null())
        .select("incoming_id", pl.col("_entref").alias("entref"))
        .sort("incoming_id")
    )
    return incoming.select(INCOMING_COLUMNS), truth


def _incoming_record(
    row: dict[str, object], rng: np.random.Generator, movers: dict[str, pl.Series], i: int
) -> tuple[object, ...]:
    name = incoming_name(row, rng)
    address, postcode = str(row["address"]), str(row["postcode"])
    if rng.random() < 0.10:  # moved since the register was updated
        address = f"{movers['house_number'][i]} {movers['street'][i]}, {movers['town'][i]}"
        postcode = str(movers["postcode"][i])
    if rng.random() < 0.3:
        street_part, _, town = address.partition(", ")
        address = f"{abbreviate_street(street_part)}, {town}"
    if rng.random() < 0.03:
        postcode = postcode_typo(postcode, rng)
    if rng.random() < 0.03:
        address = typo(address, rng)
    written_postcode = _postcode_style(postcode, rng)
    address = address.title() if rng.random() < 0.5 else address
    crn = _incoming_crn(row["crn"], rng)
    vat = row["vat"] if rng.random() < 0.5 else None
    if vat is not None and rng.random() < 0.03:
        vat = digit_typo(str(vat), rng)
    return (None, name, address, written_postcode, crn, vat, row["_entref"])


def _postcode_style(postcode: str, rng: np.random.Generator) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.15:
        return postcode.replace(" ", "")
    if roll < 0.25:
        return postcode.lower()
    return postcode


def _incoming_crn(crn: object, rng: np.random.Generator) -> str | None:
    if crn is None or rng.random() < 0.4:
        return None
    text = str(crn)
    roll = rng.random()
    if roll < 0.03:
        return digit_typo(text, rng)
    if roll < 0.08 and text.isdigit():
        return text.lstrip("0")  # spreadsheets drop leading zeros
    if roll < 0.10:
        return text.lower()
    return text


def _with_check_letter(stems: np.ndarray, width: int) -> pl.Series:
    return pl.Series(stems).cast(pl.String) + pl.Series(ruref_check_letter(stems, width=width))


def _unique_digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    low = 10 ** (width - 1)
    numbers = rng.choice(10**width - low, n, replace=False) + low
    return pl.Series(numbers).cast(pl.String)


def _crn_prefixes(rng: np.random.Generator, n: int) -> list[str | None]:
    keys = list(_CRN_SHARES)
    weights = np.array(list(_CRN_SHARES.values()))
    chosen = rng.choice(len(keys), n, p=weights / weights.sum())
    return [keys[k] for k in chosen]


def _crns(rng: np.random.Generator, prefixes: list[str | None]) -> pl.Series:
    out: list[str | None] = [None] * len(prefixes)
    by_prefix: dict[str, list[int]] = {}
    for i, prefix in enumerate(prefixes):
        if prefix is not None:
            by_prefix.setdefault(prefix, []).append(i)
    for prefix, rows in by_prefix.items():
        if prefix == "":
            numbers = rng.choice(16_000_000, len(rows), replace=False) + 1
            texts = [f"{number:08d}" for number in numbers]
        else:
            numbers = rng.choice(999_999, len(rows), replace=False) + 1
            texts = [f"{prefix}{number:06d}" for number in numbers]
        for i, text in zip(rows, texts, strict=True):
            out[i] = text
    assert all(p in CRN_PREFIXES for p in by_prefix)
    return pl.Series(out, dtype=pl.String)


def _vats(rng: np.random.Generator, n: int, *, registered: np.ndarray) -> pl.Series:
    stems = rng.choice(9_000_000, n, replace=False) + 1_000_000
    new_scheme = rng.random(n) < 0.5
    check = vat_check_digits(stems, scheme_9755=new_scheme)
    numbers = pl.Series(stems).cast(pl.String) + pl.Series(check).cast(pl.String).str.zfill(2)
    return numbers.set(pl.Series(~registered), None)


def _payes(rng: np.random.Generator, employment: np.ndarray) -> pl.Series:
    n = employment.size
    letters = np.array(list("ABCDEFGHJKLMNPRSTWXYZ"))
    office = pl.Series(rng.integers(1, 999, n)).cast(pl.String).str.zfill(3)
    reference = (
        pl.Series(letters[rng.integers(0, len(letters), n)])
        + pl.Series(letters[rng.integers(0, len(letters), n)])
        + pl.Series(rng.integers(0, 100_000, n)).cast(pl.String).str.zfill(5)
    )
    return (office + "/" + reference).set(pl.Series(employment == 0), None)


def _successors(rng: np.random.Generator, entref: pl.Series, status: np.ndarray) -> pl.Series:
    live = np.flatnonzero(status == "live")
    merged = (status == "dissolved") & (rng.random(status.size) < 0.3)
    successor: list[str | None] = [None] * status.size
    if live.size:
        targets = rng.choice(live, int(merged.sum()))
        for i, target in zip(np.flatnonzero(merged), targets, strict=True):
            successor[i] = entref[int(target)]
    return pl.Series(successor, dtype=pl.String)
