"""A first pipeline config from a sample of the user's files (what ``pprl init`` writes).

Each column's role is guessed from its name and a sample of its values (the first
:data:`SAMPLE_ROWS` rows): identifiers by their check (an NHS number passes mod 11), postcodes
by their shape, dates of birth by a birth-like name and dates that parse (the format is
guessed too), names by their column name. Columns it cannot place stay in the config,
commented out, as attributes a curator may approve. The result is a commented YAML file that
passes the schema at once and ``pprl validate`` once the keystore it names exists.

Values are only counted, never written or logged: the config names columns, not data.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from pipeline import io
from pipeline.config import parse_config
from pipeline.errors import ConfigError
from pseudonym.identifiers import IDENTIFIER_TYPES, check

SAMPLE_ROWS = 500
#: Share of a sample's non-empty values that must pass a check for the guess to be made.
MATCH_SHARE = 0.8
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%m/%d/%Y")
_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "first_name": ("forename", "firstname", "first_name", "given_name", "givenname", "fname"),
    "surname": ("surname", "lastname", "last_name", "family_name", "familyname", "lname"),
    "full_name": ("full_name", "fullname", "patient_name", "person_name", "name"),
    "date_of_birth": ("dob", "birth", "birthdate", "date_of_birth"),
    "postcode": ("postcode", "post_code", "pcode", "zip"),
    "sex": ("sex", "gender"),
    "address": ("address", "street", "addr", "address_line_1"),
}
_ID_HINTS: dict[str, tuple[str, ...]] = {
    "nhs": ("nhs",),
    "chi": ("chi",),
    "nino": ("nino", "ni_number", "national_insurance"),
    "vat": ("vat",),
    "utr": ("utr",),
    "paye": ("paye",),
    "aoref": ("aoref", "accounts_office"),
    "crn": ("crn", "company_number", "companyno"),
    "entref": ("entref",),
    "ruref": ("ruref",),
    "luref": ("luref",),
}


@dataclass(frozen=True)
class Guess:
    """A column's role (``first_name``, ``identifier:nhs``, ``attribute``...) and why."""

    column: str
    role: str
    reason: str


@dataclass(frozen=True)
class SourceGuess:
    """One input file: its source name, path (relative to the config), format, date format
    and the guessed role of every column."""

    name: str
    path: str
    file_format: str
    date_format: str | None
    columns: list[Guess]

    def mapped(self) -> list[Guess]:
        return [g for g in self.columns if g.role != "attribute"]


def _tokens(column: str) -> str:
    """The column name as lower-case words joined by ``_`` (``NHS_NO`` -> ``nhs_no``)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", column)
    return "_".join(t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t)


def _hinted(column: str, hints: Sequence[str]) -> bool:
    name = _tokens(column)
    words = name.split("_")
    return any(h == name or h in words or ("_" in h and h in name) for h in hints)


def _share_valid(id_type: str, values: pl.Series) -> float:
    present = values.cast(pl.String).str.strip_chars().replace("", None).drop_nulls()
    if present.len() == 0:
        return 0.0
    valid = int(check(id_type, present)["reason"].is_null().sum())
    return valid / present.len()


def guess_date_format(values: pl.Series) -> str | None:
    """The format most of a sample's non-empty values parse with, or None."""
    if values.dtype.is_temporal():
        return "%Y-%m-%d"
    text = values.cast(pl.String).str.strip_chars().replace("", None).drop_nulls()
    if text.len() == 0:
        return None
    best, share = None, 0.0
    for fmt in DATE_FORMATS:
        parsed = text.str.strptime(pl.Date, fmt, strict=False)
        ok = 1.0 - parsed.null_count() / text.len()
        if ok > share:
            best, share = fmt, ok
    return best if share >= MATCH_SHARE else None


def guess_role(column: str, values: pl.Series) -> Guess:
    """The role of one column from its name and a sample of its values."""
    for id_type, hints in _ID_HINTS.items():
        if id_type in IDENTIFIER_TYPES and _hinted(column, hints):
            share = _share_valid(id_type, values)
            note = f"{share:.0%} of sampled values pass the {id_type} check"
            return Guess(column, f"identifier:{id_type}", f"name; {note}")
    for role, hints in _NAME_HINTS.items():
        if _hinted(column, hints):
            if role == "date_of_birth" and guess_date_format(values) is None:
                continue
            return Guess(column, role, "name")
    return _guess_from_values(column, values)


#: Identifier types recognised from values alone: a check digit or a strict format makes a
#: chance pass rare (a CRN is any eight characters once zero-padded, so it needs its name).
_BY_VALUE = ("nhs", "chi", "nino", "vat")


def _guess_from_values(column: str, values: pl.Series) -> Guess:
    if _share_valid("postcode", values) >= MATCH_SHARE:
        return Guess(column, "postcode", "values look like postcodes")
    if guess_date_format(values) is not None:
        return Guess(column, "attribute", "dates, but not named as a date of birth")
    for id_type in _BY_VALUE:
        share = _share_valid(id_type, values)
        if share >= MATCH_SHARE:
            return Guess(column, f"identifier:{id_type}", f"{share:.0%} pass the {id_type} check")
    return Guess(column, "attribute", "no identifying role recognised")


def sample_file(path: Path) -> pl.DataFrame:
    """The first :data:`SAMPLE_ROWS` rows of a CSV (as text) or Parquet file."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        return io.read_table(path, file_format="parquet").head(SAMPLE_ROWS)
    return io.read_table(path, file_format="csv").head(SAMPLE_ROWS)


def guess_source(path: Path, config_dir: Path, taken: set[str]) -> SourceGuess:
    """Roles of every column of one file, and how the config should read it."""
    frame = sample_file(path)
    guesses = [guess_role(c, frame[c]) for c in frame.columns]
    dob = next((g.column for g in guesses if g.role == "date_of_birth"), None)
    date_format = guess_date_format(frame[dob]) if dob else None
    name = _source_name(path.stem, taken)
    relative = Path(os.path.relpath(path.resolve(), config_dir.resolve())).as_posix()
    file_format = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
    return SourceGuess(name, relative, file_format, date_format, _one_per_role(guesses))


def _source_name(stem: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-") or "source"
    base = base if base[0].isalpha() else f"s_{base}"
    name, n = base[:60], 2
    while name in taken:
        name, n = f"{base[:56]}_{n}", n + 1
    taken.add(name)
    return name


def _one_per_role(guesses: list[Guess]) -> list[Guess]:
    """A source maps each role once: later columns guessed for a taken role become
    attributes (left commented out)."""
    seen: set[str] = set()
    out = []
    for g in guesses:
        if g.role != "attribute" and g.role in seen:
            g = Guess(g.column, "attribute", f"also looks like {g.role}; one column per role")
        seen.add(g.role)
        out.append(g)
    return out


def check_scaffold(text: str, config_dir: Path) -> None:
    """Fail if the generated config does not pass the schema (a bug here, not the user's)."""
    try:
        parse_config(yaml.safe_load(text), base_dir=config_dir, source="pprl init")
    except ConfigError as exc:
        raise ConfigError(["the generated config is invalid:", *exc.problems]) from None
