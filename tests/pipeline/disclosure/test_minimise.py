"""Minimisation, identifier-leak checks, top/bottom coding, and value-free error messages."""

from __future__ import annotations

import datetime as dt
import pickle

import polars as pl
import pytest

from pipeline.disclosure import (
    IdentifierLeak,
    SuppressionBudgetExceeded,
    TableSpecError,
    age_band,
    bottom_code,
    leak_check,
    minimise,
    top_code,
    year_of_birth,
)

NHS = ["9434765919", "4010232137", "9876543210"]
NAMES = ["Oluwaseun Adeyemi", "Grace Whitfield", "Tomasz Nowak"]


def _extract() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "nhs_number": NHS,
            "name": NAMES,
            "region": ["London", "Wales", "Scotland"],
            "age_band": ["25-34", "35-44", "85+"],
            "note": ["ok", "ok", "ok"],
        }
    )


def test_minimise_keeps_only_approved_non_identifiers() -> None:
    out = minimise(_extract(), ["region", "age_band", "name"], ["nhs_number", "name"])
    assert out.columns == ["region", "age_band"]
    with pytest.raises(TableSpecError, match="postcode"):
        minimise(_extract(), ["region", "postcode"], ["nhs_number"])


def test_leak_check_passes_a_clean_extract() -> None:
    clean = minimise(_extract(), ["region", "age_band"], ["nhs_number", "name"])
    leak_check(clean, {"nhs_number": pl.Series(NHS), "name": pl.Series(NAMES)})


def test_leak_check_finds_exact_and_embedded_identifiers_without_quoting_them() -> None:
    leaky = _extract().select(
        "region",
        pl.Series("ref", [NHS[0], "x", "y"]),
        pl.Series("note", ["called " + NAMES[1] + " today", "ok", "ok"]),
        pl.Series("num", [int(NHS[2]), 1, 2]),
    )
    sources = {"nhs_number": pl.Series(NHS), "name": pl.Series(NAMES)}
    with pytest.raises(IdentifierLeak) as info:
        leak_check(leaky, sources)
    err = info.value
    assert sorted(err.leaks) == [
        ("note", "name", 1), ("num", "nhs_number", 1), ("ref", "nhs_number", 1),
    ]  # fmt: skip
    message = str(err) + repr(err.leaks)
    for value in NHS + NAMES + NAMES[1].split():
        assert value not in message
    assert err.exit_code == 3
    clone = pickle.loads(pickle.dumps(err))
    assert clone.leaks == err.leaks and str(clone) == str(err)


def test_budget_error_pickles_and_names_only_counts() -> None:
    err = SuppressionBudgetExceeded(12, 5, 100)
    assert str(err) == "local suppression would touch 12 of 100 records; budget is 5"
    assert pickle.loads(pickle.dumps(err)).needed == 12


def test_top_and_bottom_coding() -> None:
    # sdcMicro topBotCoding semantics: values strictly beyond the limit are replaced.
    df = pl.DataFrame({"income": [5, 10, 90, 100, 150, None]})
    out = df.select(
        top_code(pl.col("income"), 100).alias("top"),
        top_code(pl.col("income"), 100, label="100+").alias("top_label"),
        bottom_code(pl.col("income"), 10).alias("bottom"),
    )
    assert out["top"].to_list() == [5, 10, 90, 100, 100, None]
    assert out["top_label"].to_list() == ["5", "10", "90", "100", "100+", None]
    assert out["bottom"].to_list() == [10, 10, 90, 100, 150, None]


def test_date_of_birth_generalisation() -> None:
    df = pl.DataFrame(
        {
            "dob": [
                dt.date(2000, 2, 29),
                dt.date(1990, 6, 2),
                dt.date(1940, 1, 1),
                dt.date(2020, 1, 1),
            ]
        }
    )
    ref = dt.date(2025, 6, 1)
    out = df.select(
        year_of_birth(pl.col("dob")).alias("yob"),
        age_band(pl.col("dob"), ref).alias("band"),
        age_band(pl.col("dob"), ref, bands=[18, 65]).alias("custom"),
    )
    assert out["yob"].to_list() == [2000, 1990, 1940, 2020]
    # 25 (birthday passed), 34 (birthday tomorrow), 85, 5.
    assert out["band"].to_list() == ["25-34", "25-34", "85+", "0-15"]
    assert out["custom"].to_list() == ["18-64", "18-64", "65+", None]


def test_leak_check_ignores_digit_runs_inside_random_tokens() -> None:
    # A pseudonym token can contain a ten-digit run equal to some NHS number by chance; that
    # is not a leak. The same number as a word in free text is.
    tokens = pl.DataFrame({"pid": ["ab" + NHS[0] + "ff", "x" + NHS[1]]})
    leak_check(tokens, {"nhs_number": pl.Series(NHS)})
    text = pl.DataFrame({"note": ["ref " + NHS[0] + ".", "none"]})
    with pytest.raises(IdentifierLeak):
        leak_check(text, {"nhs_number": pl.Series(NHS)})
