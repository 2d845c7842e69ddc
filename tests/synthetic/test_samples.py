"""The committed sample files (configs/samples/) are what ``python -m synthetic.samples``
makes, so they can be regenerated and their provenance is known."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from synthetic.samples import sample_frames

SAMPLES = Path(__file__).resolve().parents[2] / "configs" / "samples"


@pytest.mark.parametrize("name", sorted(sample_frames()))
def test_committed_sample_matches_the_generator(name: str) -> None:
    frame = sample_frames()[name]
    path = SAMPLES / name
    if path.suffix == ".parquet":
        committed = pl.read_parquet(path)
    else:
        committed = pl.read_csv(path, schema=frame.schema)
    assert committed.equals(frame), f"regenerate: python -m synthetic.samples {SAMPLES}"


def test_people_has_the_two_broken_nhs_numbers_the_readme_counts_on() -> None:
    people = sample_frames()["people.csv"]
    assert people.height == 20
    assert people["nhs_number"].str.len_chars().to_list().count(5) == 1
