"""Standardise columns in place, each by its kind: the one entry point every config uses.

>>> import polars as pl
>>> frame = pl.DataFrame({"surname": ["O'Brien"], "dob": ["01/02/2000"], "pc": ["sw1a1aa"]})
>>> standardise_columns(frame, {"surname": "name", "dob": "date", "pc": "postcode"}).row(0)
('OBRIEN', '2000-02-01', 'SW1A 1AA')

Kinds (:data:`Standardisation`): ``name`` (:func:`normalise_name`), ``date`` (parsed, or taken
from a date column, and written as ISO text, :data:`ISO_DATE`), ``postcode``
(:func:`normalise_postcode`), ``address`` (:func:`normalise_address`) and ``sex`` (upper case,
first letter). A comparison kind names the standardisation it expects (see
:mod:`linkage.kinds`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypeVar, get_args

import polars as pl

from linkage.errors import SettingsError
from linkage.standardise.addresses import normalise_address
from linkage.standardise.dates import DEFAULT_DATE_FORMATS, as_date
from linkage.standardise.names import normalise_name
from linkage.standardise.phonetic import PhoneticAlgorithm, phonetic
from linkage.standardise.postcodes import normalise_postcode

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

Standardisation = Literal["name", "date", "postcode", "address", "sex"]
STANDARDISATIONS: tuple[str, ...] = get_args(Standardisation)

#: Standardised dates are ISO text, so that they compare as text (typos) and parse back.
ISO_DATE = "%Y-%m-%d"


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


# Each kind's expression from (frame, column, date formats); dates need the column's type.
_STANDARDISERS: dict[str, Callable[[pl.DataFrame | pl.LazyFrame, str, Sequence[str]], pl.Expr]] = {
    "name": lambda frame, c, formats: normalise_name(_text(c)),
    "date": lambda frame, c, formats: as_date(frame, c, formats).dt.strftime(ISO_DATE),
    "postcode": lambda frame, c, formats: normalise_postcode(_text(c)),
    "address": lambda frame, c, formats: normalise_address(_text(c)),
    "sex": lambda frame, c, formats: _text(c).str.to_uppercase().str.slice(0, 1),
}


def standardise_columns(
    frame: FrameT,
    columns: Mapping[str, Standardisation],
    *,
    phonetic_keys: Sequence[str] = (),
    date_formats: Sequence[str] = DEFAULT_DATE_FORMATS,
    phonetic_algorithm: PhoneticAlgorithm = "metaphone",
) -> FrameT:
    """Standardise each column of ``columns`` in place by its kind, then add
    ``<column>_phonetic`` (from the standardised value) for each of ``phonetic_keys``.

    ``date_formats`` are tried in order on text dates (see :func:`parse_date`). An unknown
    kind raises :class:`SettingsError`; a missing column, polars' ``ColumnNotFoundError``.
    """
    unknown = sorted({str(kind) for kind in columns.values() if kind not in _STANDARDISERS})
    if unknown:
        raise SettingsError(
            f"unknown standardisation {', '.join(unknown)}; "
            f"choose from {', '.join(STANDARDISATIONS)}"
        )
    exprs = [
        _STANDARDISERS[kind](frame, column, date_formats).alias(column)
        for column, kind in columns.items()
    ]
    if exprs:
        frame = frame.with_columns(exprs)
    if phonetic_keys:
        frame = frame.with_columns(
            phonetic(_text(c), phonetic_algorithm).alias(f"{c}_phonetic") for c in phonetic_keys
        )
    return frame
