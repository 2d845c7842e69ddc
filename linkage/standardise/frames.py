"""One-call standardisation of person and business frames (adds ``*_std`` columns, keeps inputs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import polars as pl

from linkage.errors import LinkageError
from linkage.standardise.addresses import flat_number, house_number, normalise_address, street_name
from linkage.standardise.companies import (
    COMPANY_STOP_WORDS,
    normalise_company_name,
    split_trading_as,
)
from linkage.standardise.dates import DEFAULT_DATE_FORMATS, as_date
from linkage.standardise.names import normalise_name
from linkage.standardise.phonetic import PhoneticAlgorithm, phonetic
from linkage.standardise.postcodes import (
    normalise_postcode,
    postcode_area,
    postcode_district,
    postcode_sector,
)

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
ColumnSpec = str | Sequence[str] | None


class MissingColumnsError(LinkageError, KeyError):
    """Columns named in a standardisation call are absent from the frame (all are listed)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def standardise_person_frame(
    frame: FrameT,
    *,
    first_name: str | None = "first_name",
    surname: str | None = "surname",
    dob: str | None = "dob",
    postcode: str | None = "postcode",
    address: ColumnSpec = None,
    date_formats: Sequence[str] = DEFAULT_DATE_FORMATS,
    phonetic_algorithm: PhoneticAlgorithm = "metaphone",
) -> FrameT:
    """Add standardised person columns; pass ``None`` for a field the frame lacks.

    Adds ``first_name_std``/``surname_std`` (+ ``_phonetic``), ``dob_std`` (Date),
    ``postcode_std``/``_sector``/``_district``/``_area``, and for ``address`` (one column, or
    several joined with commas such as ``("house_number", "street", "town")``)
    ``address_std``, ``flat_std``, ``house_number_std`` and ``street_std``.
    """
    _require_columns(frame, [first_name, surname, dob, postcode, address])
    columns: list[pl.Expr] = []
    for column in (first_name, surname):
        if column is not None:
            std = normalise_name(pl.col(column))
            columns += [std.alias(f"{column}_std")]
    frame = frame.with_columns(columns)
    extra: list[pl.Expr] = [
        phonetic(pl.col(f"{column}_std"), phonetic_algorithm).alias(f"{column}_phonetic")
        for column in (first_name, surname)
        if column is not None
    ]
    if dob is not None:
        extra.append(as_date(frame, dob, date_formats).alias(f"{dob}_std"))
    extra += _postcode_columns(postcode)
    extra += _address_columns(address)
    return _add_derived(frame.with_columns(extra), postcode, address)


def standardise_business_frame(
    frame: FrameT,
    *,
    name: str = "name",
    trading_name: str | None = None,
    postcode: str | None = "postcode",
    address: ColumnSpec = None,
) -> FrameT:
    """Add standardised business columns.

    Adds ``name_std`` (legal forms stripped), ``name_tokens`` (list, stop words dropped), and
    ``trading_name_std``: from the ``trading_name`` column when given, otherwise from a
    "T/A ..." part of the name. Postcode and address columns as for persons.
    """
    _require_columns(frame, [name, trading_name, postcode, address])
    _, embedded_trading = split_trading_as(pl.col(name))
    trading = embedded_trading
    if trading_name is not None:
        trading = pl.coalesce(pl.col(trading_name), embedded_trading)
    columns = [
        normalise_company_name(pl.col(name)).alias("name_std"),
        normalise_company_name(trading).alias("trading_name_std"),
        *_postcode_columns(postcode),
        *_address_columns(address),
    ]
    frame = frame.with_columns(columns)
    # Tokens come from the standardised name rather than re-standardising the raw one.
    tokens = pl.col("name_std").str.split(" ")
    frame = frame.with_columns(
        name_tokens=tokens.list.filter(~pl.element().is_in(list(COMPANY_STOP_WORDS)))
    )
    return _add_derived(frame, postcode, address)


def _require_columns(frame: pl.DataFrame | pl.LazyFrame, specs: Sequence[ColumnSpec]) -> None:
    wanted: list[str] = []
    for spec in specs:
        if spec is None:
            continue
        wanted += [spec] if isinstance(spec, str) else list(spec)
    present = set(frame.collect_schema().names())
    missing = [column for column in wanted if column not in present]
    if missing:
        raise MissingColumnsError(f"columns not found in frame: {', '.join(missing)}")


def _postcode_columns(postcode: str | None) -> list[pl.Expr]:
    if postcode is None:
        return []
    return [normalise_postcode(pl.col(postcode)).alias(f"{postcode}_std")]


def _address_columns(address: ColumnSpec) -> list[pl.Expr]:
    if address is None:
        return []
    if isinstance(address, str):
        source = pl.col(address).cast(pl.String)
    else:
        parts = [pl.col(column).cast(pl.String) for column in address]
        source = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    return [normalise_address(source).alias("address_std")]


def _add_derived(frame: FrameT, postcode: str | None, address: ColumnSpec) -> FrameT:
    """Columns computed from the ``*_std`` ones, so each raw column is standardised once."""
    derived: list[pl.Expr] = []
    if postcode is not None:
        std = pl.col(f"{postcode}_std")
        derived += [
            postcode_sector(std).alias(f"{postcode}_sector"),
            postcode_district(std).alias(f"{postcode}_district"),
            postcode_area(std).alias(f"{postcode}_area"),
        ]
    if address is not None:
        std = pl.col("address_std")
        derived += [
            flat_number(std, normalised=True).alias("flat_std"),
            house_number(std, normalised=True).alias("house_number_std"),
            street_name(std, normalised=True).alias("street_std"),
        ]
    return frame.with_columns(derived) if derived else frame
