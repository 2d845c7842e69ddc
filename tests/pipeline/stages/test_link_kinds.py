"""Both configs translate comparison kinds through linkage's one registry (linkage.kinds), and
both standardise through ``linkage.standardise.standardise_columns``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from linkage import comparisons as cl
from linkage.kinds import KINDS
from linkage.standardise import ISO_DATE, standardise_columns
from pipeline.config import COMPARISON_KINDS, LinkageSpec
from pipeline.errors import ConfigError
from pipeline.linkconfig import StandardiseSpec, parse_link_config
from pipeline.stages.link_engine import _settings
from pipeline.stages.link_records import standardise_view


def _job(comparisons: list[dict[str, object]]) -> dict[str, object]:
    return {
        "mode": "dedupe",
        "output": "out",
        "inputs": [{"path": "people.csv", "id_column": "pid"}],
        "standardise": {"names": ["surname"], "dates": ["dob"]},
        "comparisons": comparisons,
        "blocking": [["surname"]],
    }


def test_pipeline_kinds_are_linkages_and_accept_both_date_spellings() -> None:
    assert tuple(KINDS) == COMPARISON_KINDS
    both = [
        LinkageSpec(mode="dedupe", blocking=["surname"], comparisons={"date_of_birth": kind})
        for kind in ("date", "dob")
    ]
    dicts = [[c.to_dict() for c in _settings(spec).comparisons] for spec in both]
    iso = cl.DateOfBirthComparison("date_of_birth", date_format=ISO_DATE)
    assert dicts[0] == dicts[1] == [iso.to_dict()]
    with pytest.raises(ValueError, match="unknown comparison soundex; choose from exact, name"):
        LinkageSpec(mode="dedupe", blocking=["surname"], comparisons={"surname": "soundex"})


def test_pipeline_name_comparisons_weigh_rare_names_more() -> None:
    spec = LinkageSpec(
        mode="dedupe",
        blocking=["surname"],
        comparisons={"surname": "name", "postcode": "postcode", "sex": "damerau_levenshtein"},
    )
    built = _settings(spec).comparisons
    assert [c.tf_column for c in built] == ["surname", None, None]


def test_link_job_accepts_date_and_dob_and_parses_standardised_dates_as_iso() -> None:
    configs = [
        parse_link_config(_job([{"type": kind, "column": column}]), base_dir=Path("/data"))
        for kind in ("dob", "date")
        for column in ("dob", "raw_dob")
    ]
    formats = [cfg.settings().comparisons[0].levels[3].to_dict()["date_format"] for cfg in configs]
    assert formats == [ISO_DATE, None, ISO_DATE, None]


def test_link_job_reports_unknown_kinds_and_misplaced_options_at_once() -> None:
    bad = [
        {"type": "soundex", "column": "surname"},
        {"type": "postcode", "column": "pc", "date_format": "%Y"},
    ]
    with pytest.raises(ConfigError) as info:
        parse_link_config(_job(bad), base_dir=Path("/data"))
    text = str(info.value)
    assert "comparisons[0].type: unknown comparison 'soundex'; choose from exact" in text
    assert "comparisons[1]: date_format does not apply to type 'postcode'" in text


def test_link_job_standardises_through_linkage() -> None:
    spec = StandardiseSpec(names=["surname"], dates=["dob"], postcodes=["pc"], phonetic=["surname"])
    assert spec.kinds() == {"surname": "name", "dob": "date", "pc": "postcode"}
    frame = pl.DataFrame({"surname": ["smyth"], "dob": ["02/01/1999"], "pc": ["sw1a1aa"]})
    want = standardise_columns(frame, spec.kinds(), phonetic_keys=["surname"])
    assert spec.apply(frame).equals(want)
    assert spec.apply(frame).row(0)[:3] == ("SMYTH", "1999-01-02", "SW1A 1AA")


def test_pipeline_view_splits_full_names_before_standardising_them() -> None:
    view = pl.DataFrame(
        {
            "full_name": ["SMITH, John", "Dr Ann Smith-Jones", "Lee"],
            "first_name": [None, "annie", None],
            "date_of_birth": [dt.date(1980, 5, 17), None, dt.date(2001, 1, 1)],
            "sex": ["male", "F", None],
        }
    )
    got = standardise_view(view)
    assert got["first_name"].to_list() == ["JOHN", "ANNIE", None]
    assert got["surname"].to_list() == ["SMITH", "SMITH JONES", "LEE"]
    assert got["full_name"].to_list() == ["SMITH JOHN", "ANN SMITH JONES", "LEE"]
    assert got["date_of_birth"].to_list() == ["1980-05-17", None, "2001-01-01"]
    assert got["sex"].to_list() == ["M", "F", None]
    assert set(got.columns) == {"full_name", "first_name", "surname", "date_of_birth", "sex"}
