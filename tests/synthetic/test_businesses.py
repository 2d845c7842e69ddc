"""Synthetic business register and incoming records: valid references, truth, name variants."""

from __future__ import annotations

import re

import polars as pl
import pytest

from linkage.standardise import normalise_company_name
from synthetic import (
    INCOMING_COLUMNS,
    REGISTER_COLUMNS,
    generate_incoming,
    generate_register,
)
from synthetic.checkdigits import (
    is_valid_crn,
    is_valid_ruref,
    is_valid_vat_number,
)


def vat_97(number: str) -> bool:
    """HMRC's published method, written independently: weights 8..2, then the two digits."""
    total = sum(int(d) * w for d, w in zip(number[:7], [8, 7, 6, 5, 4, 3, 2], strict=True))
    return (total + int(number[7:])) % 97 == 0


def vat_9755(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:7], [8, 7, 6, 5, 4, 3, 2], strict=True))
    return (total + 55 + int(number[7:])) % 97 == 0


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        # 9*(8+7+6+5+4+3+2) = 315 = 97*3 + 24; 24 + 73 = 97: valid under the old 97 rule
        ("999999973", True),
        # stem 1000000: 1*8 = 8; 8 + 55 + 34 = 97: valid under the 97-55 rule
        ("100000034", True),
        ("999999974", False),
        ("12345678", False),
        ("99999997X", False),
    ],
)
def test_vat_rule_hand_checked_vectors(number: str, valid: bool) -> None:
    assert is_valid_vat_number(number) is valid


@pytest.mark.parametrize(
    ("crn", "valid"),
    [
        ("01234567", True),
        ("SC123456", True),
        ("OC301234", True),
        ("R0000123", True),
        ("XX123456", False),
        ("1234567", False),
        ("SC12345", False),
    ],
)
def test_crn_formats(crn: str, valid: bool) -> None:
    assert is_valid_crn(crn) is valid


@pytest.fixture(scope="module")
def register() -> pl.DataFrame:
    return generate_register(6000, seed=21)


def test_register_is_deterministic(register: pl.DataFrame) -> None:
    assert register.equals(generate_register(6000, seed=21))
    assert not register.equals(generate_register(6000, seed=22))
    assert tuple(register.columns) == REGISTER_COLUMNS


def test_register_references_are_valid_and_unique(register: pl.DataFrame) -> None:
    assert register["entref"].str.contains(r"^[1-9][0-9]{9}$").all()
    assert register["entref"].n_unique() == register.height
    assert all(is_valid_ruref(r) for r in register["ruref"])
    assert register["ruref"].str.contains(r"^[0-9]{11}[A-Z]$").all()
    assert register["luref"].str.contains(r"^[0-9]{9}[A-Z]$").all()
    crns = register["crn"].drop_nulls()
    assert all(is_valid_crn(c) for c in crns)
    assert crns.n_unique() == crns.len()
    prefixes = {c[:2] for c in crns if not c.isdigit()}
    assert {"SC", "NI", "OC", "LP", "SL", "FC", "IP", "CE"} <= prefixes
    assert 0.1 < register["crn"].null_count() / register.height < 0.3  # unincorporated
    vats = register["vat"].drop_nulls().to_list()
    assert all(vat_97(v) or vat_9755(v) for v in vats)
    assert any(vat_97(v) and not vat_9755(v) for v in vats)
    assert any(vat_9755(v) and not vat_97(v) for v in vats)
    payes = register["paye"].drop_nulls()
    assert payes.str.contains(r"^[0-9]{3}/[A-Z]{2}[0-9]{5}$").all()
    assert register.filter(pl.col("employment") == 0)["paye"].null_count() == (
        register.filter(pl.col("employment") == 0).height
    )


def test_register_legal_forms_match_crn_prefix(register: pl.DataFrame) -> None:
    llps = register.filter(pl.col("crn").str.contains("^(OC|SO|NC)"))
    assert llps.height > 0
    assert llps["legal_name"].str.ends_with(" LLP").all()
    companies = register.filter(pl.col("crn").str.contains("^[0-9]"))
    assert companies["legal_name"].str.contains(" (LIMITED|PLC)$").all()
    assert register["sic"].str.contains(r"^[0-9]{5}$").all()
    assert set(register["status"]) == {"live", "dissolved"}
    merged = register.filter(pl.col("successor_entref").is_not_null())
    assert merged["status"].unique().to_list() == ["dissolved"]
    live = register.filter(pl.col("status") == "live")["entref"].implode()
    assert merged["successor_entref"].is_in(live).all()


@pytest.fixture(scope="module")
def incoming(register: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate_incoming(register, 3000, seed=23, in_register=0.8)


def test_incoming_truth_refers_to_real_records(
    register: pl.DataFrame, incoming: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    records, truth = incoming
    assert tuple(records.columns) == INCOMING_COLUMNS
    assert records.height == 3000
    assert records["incoming_id"].n_unique() == 3000
    assert truth.height == round(0.8 * 3000)
    assert truth["incoming_id"].is_in(records["incoming_id"].implode()).all()
    assert truth["entref"].is_in(register["entref"].implode()).all()
    strangers = records.filter(~pl.col("incoming_id").is_in(truth["incoming_id"].implode()))
    assert not strangers["crn"].drop_nulls().is_in(register["crn"].drop_nulls().implode()).any()
    again = generate_incoming(register, 3000, seed=23, in_register=0.8)
    assert again[0].equals(records) and again[1].equals(truth)


def test_incoming_names_vary_like_real_sources(
    incoming: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    names = incoming[0]["name"].str.to_uppercase()
    for variant in (" LTD", " L.T.D.", " LIMITED", " & ", " AND ", " T/A ", "(IN LIQUIDATION)"):
        assert names.str.contains(variant, literal=True).any(), variant
    assert incoming[0]["crn"].null_count() > 0.3 * incoming[0].height
    assert incoming[0]["crn"].drop_nulls().str.contains(r"^[1-9][0-9]{6}$").any()  # lost zero


def test_standardised_incoming_names_mostly_agree_with_the_register(
    register: pl.DataFrame, incoming: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    records, truth = incoming
    pairs = truth.join(records, on="incoming_id").join(register, on="entref")
    std = pairs.select(
        raw=pl.col("name").str.to_uppercase() == pl.col("legal_name"),
        std=normalise_company_name(pl.col("name")) == normalise_company_name(pl.col("legal_name")),
    )
    raw_share, std_share = std["raw"].mean(), std["std"].mean()
    assert raw_share is not None and std_share is not None
    assert float(raw_share) < 0.5  # raw strings rarely agree...
    assert float(std_share) > 0.6  # ...standardisation recovers most, not all
    assert float(std_share) < 0.95  # typos, abbreviations and trading names remain


def test_names_are_realistic_uk_company_names(register: pl.DataFrame) -> None:
    pattern = re.compile(r"^[^\W_][\w &.\-']+$")  # accented surnames (MÜLLER) included
    assert all(pattern.match(name) for name in register["legal_name"])
    assert register["trading_name"].null_count() < register.height
