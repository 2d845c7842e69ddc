"""Register status columns mapped to one vocabulary, whatever the register calls them."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from pipeline.business.columns import RegisterColumns
from pipeline.business.register_status import REGISTER_STATUSES, register_status

# (status as a register writes it, dissolution date, expected)
CASES = [
    ("Active", None, "active"),
    ("active - proposal to strike off", None, "active"),  # Companies House: still active
    ("LIVE", None, "active"),
    ("Registered", None, "active"),
    ("Dissolved", None, "dissolved"),
    ("dead", None, "dissolved"),
    ("Converted/Closed", None, "dissolved"),
    ("struck off", None, "dissolved"),
    ("Liquidation", None, "insolvency"),
    ("In Administration", None, "insolvency"),
    ("not yet incorporated", None, "not_yet_incorporated"),
    ("NOT_YET_INCORPORATED", None, "not_yet_incorporated"),
    ("pre-incorporation", None, "not_yet_incorporated"),
    ("active", "2021-03-04", "dissolved"),  # a dissolution date wins
    (None, "2019-01-01", "dissolved"),
    (None, None, "unknown"),
    ("", "", "unknown"),
]


@pytest.mark.parametrize(("status", "dissolved_on", "expected"), CASES)
def test_statuses_map_to_one_vocabulary(
    status: str | None, dissolved_on: str | None, expected: str
) -> None:
    frame = pl.DataFrame(
        {"status": [status], "dissolution_date": [dissolved_on]},
        schema={"status": pl.String, "dissolution_date": pl.String},
    )
    assert register_status(frame, RegisterColumns(), "register.csv").to_list() == [expected]
    assert expected in REGISTER_STATUSES


def test_mapped_columns_dates_and_absent_columns() -> None:
    frame = pl.DataFrame(
        {"state": ["live", "live"], "closed_on": [None, "2020-01-01"]},
        schema={"state": pl.String, "closed_on": pl.Date},
    )
    columns = RegisterColumns(status="state", dissolution_date="closed_on")
    assert register_status(frame, columns, "r").to_list() == ["active", "dissolved"]
    # neither column: every row unknown (one per row, not a single literal)
    assert register_status(frame, RegisterColumns(), "r").to_list() == ["unknown", "unknown"]


def test_unrecognised_values_are_counted_never_quoted(caplog: pytest.LogCaptureFixture) -> None:
    frame = pl.DataFrame({"status": ["Zorblax Pending Review 42", "active"]})
    with caplog.at_level(logging.WARNING):
        got = register_status(frame, RegisterColumns(), "register.csv")
    assert got.to_list() == ["unknown", "active"]
    assert "register.csv: 1 register row(s)" in caplog.text and "Zorblax" not in caplog.text
