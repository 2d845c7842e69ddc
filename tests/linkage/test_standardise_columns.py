"""``standardise_columns``: the one standardisation entry point both configs use."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from linkage.errors import SettingsError
from linkage.standardise import (
    ISO_DATE,
    normalise_address,
    normalise_name,
    normalise_postcode,
    phonetic,
    standardise_columns,
)

RAW = pl.DataFrame(
    {
        "surname": ["O'Brien", "  smith-jones ", None],
        "dob": ["01/02/2000", "2001-12-31", "31/02/2000"],
        "pc": ["sw1a1aa", "m1 1ae", None],
        "addr": ["Flat 2, 10 High St.", "10 HIGH STREET", None],
        "sex": ["female", "M", None],
        "other": ["x", "y", "z"],
    }
)


def test_each_kind_uses_its_standardiser_and_leaves_other_columns() -> None:
    got = standardise_columns(
        RAW,
        {"surname": "name", "dob": "date", "pc": "postcode", "addr": "address", "sex": "sex"},
    )
    want = RAW.select(
        normalise_name(pl.col("surname")),
        pl.Series("dob", ["2000-02-01", "2001-12-31", None]),
        normalise_postcode(pl.col("pc")),
        normalise_address(pl.col("addr")),
        pl.Series("sex", ["F", "M", None]),
        "other",
    )
    assert got.to_dict(as_series=False) == want.to_dict(as_series=False)
    assert got["surname"].to_list() == ["OBRIEN", "SMITH JONES", None]


def test_date_and_datetime_columns_become_iso_text() -> None:
    frame = pl.DataFrame(
        {
            "d": [dt.date(1999, 1, 2), None],
            "t": [dt.datetime(1999, 1, 2, 23, 59), dt.datetime(2000, 3, 4)],
            "text": ["02.01.1999", "20000304"],
        }
    )
    got = standardise_columns(frame, {"d": "date", "t": "date", "text": "date"})
    assert got.row(0) == ("1999-01-02",) * 3
    assert got.row(1) == (None, "2000-03-04", "2000-03-04")
    assert dt.datetime.strptime(got["d"][0], ISO_DATE).date() == dt.date(1999, 1, 2)
    only_dotted = standardise_columns(frame, {"text": "date"}, date_formats=["%d.%m.%Y"])
    assert only_dotted["text"].to_list() == ["1999-01-02", None]


def test_phonetic_keys_come_from_the_standardised_value() -> None:
    frame = pl.DataFrame({"surname": ["smith-jones", "Smyth"]})
    got = standardise_columns(frame.lazy(), {"surname": "name"}, phonetic_keys=["surname"])
    keys = got.collect()["surname_phonetic"].to_list()
    expected = frame.select(phonetic(normalise_name(pl.col("surname"))))["surname"].to_list()
    assert keys == expected
    assert keys != frame.select(phonetic(pl.col("surname")))["surname"].to_list()


def test_unknown_kinds_are_reported_together() -> None:
    with pytest.raises(SettingsError, match="unknown standardisation colour, size"):
        standardise_columns(RAW, {"surname": "size", "pc": "colour"})  # type: ignore[dict-item]
