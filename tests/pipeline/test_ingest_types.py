"""Declared attribute types: parsed at ingest, bad values quarantined naming file, row and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import ColumnSpec, SourceConfig, parse_config
from pipeline.errors import ConfigError, DataError
from pipeline.ingest import ingest_file

COLUMNS = {
    "name": "first_name",
    "income": "attribute:integer",
    "weight": "attribute:decimal",
    "admitted": {"role": "attribute", "type": "date"},
    "ward": "attribute:category",
    "note": "attribute",
}
HEADER = "name,income,weight,admitted,ward,note\n"


def source(**overrides: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {"name": "s", "path": "x", "columns": COLUMNS, "date_format": "%d/%m/%Y", **overrides}
    )


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_values_are_parsed_to_their_declared_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Ann,1200,61.5,02/01/2024,A,free text\n"
        "Bob, 1200.0 ,70,,B,\n"  # a whole decimal is an integer (missing ints stored as floats)
        "Cat,-3,1e2,29/02/2024,,x\n"
        "Dan,,,,,\n",
    )
    rows = ingest_file(path, source()).rows
    assert rows.schema["income"] == pl.Int64
    assert rows.schema["weight"] == pl.Float64
    assert rows.schema["admitted"] == pl.Date
    assert rows.schema["ward"] == rows.schema["note"] == pl.String
    assert rows["income"].to_list() == [1200, 1200, -3, None]
    assert rows["weight"].to_list() == [61.5, 70.0, 100.0, None]
    assert rows["admitted"].to_list() == [dt.date(2024, 1, 2), None, dt.date(2024, 2, 29), None]
    assert rows["note"].to_list() == ["free text", None, "x", None]


@pytest.mark.parametrize(
    ("line", "reason", "field"),
    [
        ("Ann,12a,1,01/01/2024,A,x", "bad_integer", "income"),
        ("Ann,1.5,1,01/01/2024,A,x", "bad_integer", "income"),
        ("Ann,1e30,1,01/01/2024,A,x", "bad_integer", "income"),
        ("Ann,1,nan,01/01/2024,A,x", "bad_decimal", "weight"),
        ("Ann,1,inf,01/01/2024,A,x", "bad_decimal", "weight"),
        ("Ann,1,1;5,01/01/2024,A,x", "bad_decimal", "weight"),
        ("Ann,1,1,31/02/2024,A,x", "bad_date", "admitted"),
        ("Ann,1,1,2024-01-01,A,x", "bad_date", "admitted"),
    ],
)
def test_a_bad_value_quarantines_its_row_with_reason_and_field(
    tmp_path: Path, line: str, reason: str, field: str
) -> None:
    path = write(tmp_path, "Bob,7,2,01/01/2024,B,y\n" + line + "\n")
    result = ingest_file(path, source())
    assert result.rows["first_name"].to_list() == ["Bob"]
    assert result.quarantine.select("_file", "_row", "stage", "reason", "field").rows() == [
        ("in.csv", 3, "ingest", reason, field)
    ]


def test_a_row_with_several_bad_fields_is_quarantined_once_for_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "Ann,x,y,z,A,q\nBob,1,2,01/01/2024,B,r\n")
    result = ingest_file(path, source())
    assert result.quarantine.height == 1
    assert result.quarantine.row(0, named=True)["field"] == "income"
    assert result.rows.height == 1


def test_error_mode_names_file_row_and_field_never_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "Ann,1,1,01/01/2024,A,x\nBob,98765zz,1,01/01/2024,A,x\n")
    with pytest.raises(DataError) as raised:
        ingest_file(path, source(on_bad_rows="error"))
    message = str(raised.value)
    assert "in.csv: row 3: field income: bad_integer" in message
    assert "98765" not in message and "Bob" not in message


def test_parquet_columns_of_any_fitting_type(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "name": ["Ann", "Bob", "Cat"],
            "income": [1200.0, None, float("nan")],  # float column, as pandas writes ints
            "weight": [61.5, float("nan"), 3.0],  # NaN in Parquet: pandas' missing value
            "admitted": [dt.datetime(2024, 1, 2, 13, 5), None, dt.datetime(2023, 5, 6)],
            "ward": pl.Series(["A", "B", None], dtype=pl.Categorical),
            "note": [1, 2, 3],
        }
    ).write_parquet(path)
    result = ingest_file(path, source(format="parquet"))
    rows = result.rows
    assert result.quarantine.height == 0
    assert rows["income"].to_list() == [1200, None, None]
    assert rows["weight"].to_list() == [61.5, None, 3.0]
    assert rows["admitted"].to_list() == [dt.date(2024, 1, 2), None, dt.date(2023, 5, 6)]
    assert rows["ward"].to_list() == ["A", "B", None]
    assert rows["note"].to_list() == ["1", "2", "3"]


def test_parquet_values_that_do_not_fit_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    frame = {
        "name": ["Ann", "Bob"],
        "income": [1200.5, 3.0],
        "weight": ["1", "x"],
        "admitted": ["02/01/2024", "01/01/2024"],
        "ward": ["A", "B"],
        "note": ["a", "b"],
    }
    pl.DataFrame(frame).write_parquet(path)
    quarantine = ingest_file(path, source(format="parquet")).quarantine
    assert quarantine.select("_row", "reason", "field").rows() == [
        (1, "bad_integer", "income"),
        (2, "bad_decimal", "weight"),
    ]


def test_column_spec_syntax() -> None:
    assert ColumnSpec.model_validate("attribute:integer").type == "integer"
    assert ColumnSpec.model_validate("attribute").value_type == "text"
    assert ColumnSpec.model_validate({"role": "attribute", "type": "date"}).value_type == "date"
    assert ColumnSpec.model_validate("identifier:nhs").id_type == "nhs"
    for bad, message in [
        ("attribute:number", "Input should be 'integer', 'decimal', 'date', 'category' or"),
        ("surname:text", "only identifier and attribute columns take a type"),
        ({"role": "sex", "type": "category"}, "only attribute columns take a value type"),
    ]:
        with pytest.raises(ValueError, match=message):
            ColumnSpec.model_validate(bad)


def _config(**overrides: object) -> dict[str, object]:
    return {
        "project": "p",
        "environment": "e",
        "sources": [
            {"name": "a", "path": "a.csv", "columns": {"n": "surname", "inc": "attribute:integer"}},
            {"name": "b", "path": "b.csv", "columns": {"n": "surname", "inc": "attribute"}},
        ],
        "keystore": {"path": "k"},
        "delivery": {"path": "out"},
        "approved_attributes": ["inc"],
        **overrides,
    }


def test_config_cross_checks_types_and_disclosure_attributes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            _config(
                disclosure={
                    "quasi_identifiers": [],
                    "l_diversity": 2,
                    "sensitive": ["diagnosis"],
                    "risk": {"max_individual_risk": 0.2, "weight": "w"},
                }
            ),
            base_dir=tmp_path,
        )
    text = str(raised.value)
    assert "attributes declared with different types by two sources: ['inc']" in text
    assert "disclosure.sensitive must be approved attributes: diagnosis" in text
    assert "disclosure.risk.weight" in text
    assert "disclosure.l_diversity and risk need quasi_identifiers" in text
    doc = _config()
    doc["sources"][1]["columns"]["inc"] = "attribute:integer"  # type: ignore[index]
    config = parse_config(doc, base_dir=tmp_path)
    assert config.attribute_types() == {"inc": "integer"}
