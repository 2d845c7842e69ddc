"""Demo source files: counts on disk match the returned description, bad IDs are as declared."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from synthetic import INVALID_KINDS, write_demo_sources
from synthetic.errors import SyntheticError


def classify(number: str | None) -> str:
    """Independent NHS-number triage used to audit the declared counts."""
    if number is None:
        return "missing"
    digits = number.replace(" ", "")
    if not digits.isdigit():
        return "non_numeric"
    if len(digits) != 10:
        return "wrong_length"
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = (11 - total % 11) % 11
    return "valid" if check != 10 and check == int(digits[9]) else "bad_check_digit"


def test_demo_sources_match_their_description(tmp_path: Path) -> None:
    sources = write_demo_sources(tmp_path, n=2000, seed=31)
    hospital = pl.read_csv(sources.hospital_path, infer_schema=False)
    gp = pl.read_parquet(sources.gp_path)
    truth = pl.read_parquet(sources.truth_path)
    assert (hospital.height, gp.height, truth.height) == (
        sources.hospital_rows,
        sources.gp_rows,
        sources.true_links,
    )
    assert (sources.gp_rows, sources.hospital_rows, sources.true_links) == (2000, 1600, 1280)
    assert truth["episode_id"].is_in(hospital["episode_id"].implode()).all()
    assert truth["gp_record_id"].is_in(gp["gp_record_id"].implode()).all()
    for label, frame in (("hospital", hospital), ("gp", gp)):
        observed = pl.Series([classify(x) for x in frame["nhs_number"]]).value_counts()
        counts = dict(zip(observed[""], observed["count"], strict=True))
        declared = sources.invalid_nhs[label]
        assert set(declared) == set(INVALID_KINDS)
        for kind in INVALID_KINDS:
            assert counts.get(kind, 0) == declared[kind], (label, kind)
    assert sources.invalid_nhs["hospital"]["bad_check_digit"] == 20
    assert sources.invalid_nhs["hospital"]["non_numeric"] == 5


def test_demo_sources_are_messy_in_the_documented_ways(tmp_path: Path) -> None:
    sources = write_demo_sources(tmp_path, n=1000, seed=32)
    hospital = pl.read_csv(sources.hospital_path, infer_schema=False)
    assert hospital["nhs_number"].drop_nulls().str.contains(r"^\d{3} \d{3} \d{4}$").any()
    assert hospital["patient_name"].str.contains(r"^(Mr|Ms) ").any()
    assert hospital["patient_name"].str.contains(",").any()
    assert hospital["date_of_birth"].drop_nulls().str.contains(r"^\d{2}/\d{2}/\d{4}$").all()
    assert hospital["postcode"].drop_nulls().str.contains(r"^[a-z0-9 ]+$").any()
    assert hospital["postcode"].drop_nulls().str.contains(r"^[A-Z0-9]+$").any()
    gp = pl.read_parquet(sources.gp_path)
    assert gp.schema["date_of_birth"] == pl.Date
    assert {"income", "employment_status"} <= set(gp.columns)


def test_demo_sources_are_deterministic(tmp_path: Path) -> None:
    first = write_demo_sources(tmp_path / "a", n=300, seed=33)
    second = write_demo_sources(tmp_path / "b", n=300, seed=33)
    assert first.hospital_path.read_bytes() == second.hospital_path.read_bytes()
    assert pl.read_parquet(first.gp_path).equals(pl.read_parquet(second.gp_path))
    assert first.invalid_nhs == second.invalid_nhs
    assert not list(tmp_path.rglob("*.tmp*"))  # atomic writes leave no temporaries


def test_demo_sources_reject_tiny_n(tmp_path: Path) -> None:
    with pytest.raises(SyntheticError):
        write_demo_sources(tmp_path, n=3, seed=1)


def test_description_holds_no_record_values(tmp_path: Path) -> None:
    sources = write_demo_sources(tmp_path, n=200, seed=34)
    gp = pl.read_parquet(sources.gp_path)
    text = repr(sources)
    for value in gp["nhs_number"].drop_nulls().to_list() + gp["surname"].to_list():
        assert not re.search(rf"\b{re.escape(value)}\b", text)


def test_bad_sizes_and_seeds_are_all_reported_without_the_value(tmp_path: Path) -> None:
    with pytest.raises(SyntheticError) as info:
        write_demo_sources(tmp_path, n=3, seed=-77)
    assert info.value.problems == [
        "write_demo_sources: n must be at least 10",
        "write_demo_sources: seed must be zero or more",
    ]
    assert "-77" not in str(info.value)
    assert not any(tmp_path.iterdir())  # refused before writing anything
