"""`pprl validate` catches what a run would fail on: date formats (on a sample of rows),
a tampered keystore, and the approvals section."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.validate import SAMPLE_ROWS, validate_config
from pipeline.errors import ConfigError
from pseudonym.keystore import KEYSTORE_FILE
from tests.pipeline.runner_support import (
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_config(tmp_path, keystore)
    return tmp_path


def edit_config(workspace: Path, **changes: object) -> Path:
    path = workspace / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if key.startswith("source_"):
            doc["sources"][0][key.removeprefix("source_")] = value
        else:
            doc[key] = value
    path.write_text(yaml.safe_dump(doc))
    return path


def rows_with_dates(dates: list[str]) -> list[list[str]]:
    rows = people_rows(0, len(dates))
    for row, dob in zip(rows, dates, strict=True):
        row[3] = dob
    return rows


def test_a_wrong_date_format_is_caught_on_a_sample(workspace: Path) -> None:
    dates = [f"{d:02d}/03/1961" for d in range(1, 29)]
    write_csv(workspace / "in/hospital/a.csv", HEADER, rows_with_dates(dates))
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2
    assert (
        "sources[0].date_format: 28 of 28 sampled values of column dob in a.csv do not parse"
        in output
    )
    assert "1961" not in output and "/03/" not in output  # no values
    edit_config(workspace, source_date_format="%d/%m/%Y")
    assert validate(workspace / "pipeline.yaml") == (0, "ok\n")


def test_a_few_bad_dates_are_rows_to_quarantine_not_a_wrong_format(workspace: Path) -> None:
    dates = ["1961-03-14"] * 8 + ["1961-02-30", "not a date"]
    write_csv(workspace / "in/hospital/a.csv", HEADER, rows_with_dates(dates))
    assert validate(workspace / "pipeline.yaml") == (0, "ok\n")


def test_only_a_sample_is_read(workspace: Path) -> None:
    good = ["1961-03-14"] * SAMPLE_ROWS
    write_csv(workspace / "in/hospital/a.csv", HEADER, rows_with_dates(good + ["14/03/1961"] * 600))
    assert validate(workspace / "pipeline.yaml")[0] == 0  # the bad tail is past the sample


def test_latin1_and_parquet_sources_are_sampled_too(workspace: Path) -> None:
    rows = rows_with_dates(["14.03.1961"] * 6)
    rows[0][1] = "Zoë"
    write_csv(workspace / "in/hospital/a.csv", HEADER, rows, encoding="latin-1")
    edit_config(workspace, source_encoding="latin-1")
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "6 of 6 sampled values of column dob" in output
    (workspace / "in/hospital/a.csv").unlink()
    frame = pl.DataFrame(rows, schema=HEADER, orient="row")
    frame.write_parquet(workspace / "in/hospital/a.parquet")
    edit_config(workspace, source_format="parquet", source_path="in/hospital/*.parquet")
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "in a.parquet do not parse" in output
    frame.with_columns(pl.lit(date(1961, 3, 14)).alias("dob")).write_parquet(
        workspace / "in/hospital/a.parquet"
    )
    assert validate(workspace / "pipeline.yaml") == (0, "ok\n")  # real dates need no format


def test_a_tampered_keystore_fails_validation(workspace: Path) -> None:
    write_csv(workspace / "in/hospital/a.csv", HEADER, people_rows(0, 3))
    file = workspace / "keys" / KEYSTORE_FILE
    data = json.loads(file.read_text())
    version = data["environments"]["research"]["versions"]["1"]
    salt = bytearray(base64.b64decode(version["salt"]))
    salt[3] ^= 4
    version["salt"] = base64.b64encode(bytes(salt)).decode()
    file.write_text(json.dumps(data))
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "changed outside pprl" in output


def approvals(expires: date, recipient: str = "tre-a") -> dict[str, object]:
    return {
        "reference": "DSA-2026-014",
        "approved_recipients": ["tre-a", "tre-b"],
        "recipient": recipient,
        "expires": expires.isoformat(),
    }


def test_approvals_expiry_is_checked_on_the_day(workspace: Path) -> None:
    write_csv(workspace / "in/hospital/a.csv", HEADER, people_rows(0, 3))
    path = edit_config(workspace, approvals=approvals(date(2027, 3, 31)))
    assert validate_config(path, today=date(2027, 3, 31)).approvals is not None
    with pytest.raises(ConfigError, match="approval DSA-2026-014 expired on 2027-03-31"):
        validate_config(path, today=date(2027, 4, 1))
    edit_config(workspace, approvals=approvals(date.today() - timedelta(days=1)))
    code, output = validate(path)
    assert code == 2 and "approvals.expires" in output


def test_a_recipient_not_approved_is_a_config_error(workspace: Path) -> None:
    path = edit_config(workspace, approvals=approvals(date(2099, 1, 1), recipient="elsewhere"))
    for command in (["validate", str(path)], ["run", str(path)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2
        assert "approvals: recipient is not among approved_recipients" in result.output


def test_approvals_are_recorded_without_surprises(workspace: Path) -> None:
    from pipeline.config import load_config

    path = edit_config(workspace, approvals=approvals(date(2099, 1, 1)))
    loaded = load_config(path).approvals
    assert loaded is not None
    assert loaded.record() == {
        "reference": "DSA-2026-014",
        "recipient": "tre-a",
        "expires": "2099-01-01",
    }
    loaded.enforce(date(2099, 1, 1))
    with pytest.raises(ConfigError):
        loaded.enforce(date(2099, 1, 2))


def test_duplicate_column_names_fail_validation_as_they_fail_a_run(workspace: Path) -> None:
    write_csv(
        workspace / "in/hospital/a.csv",
        [*HEADER, HEADER[-1]],
        [[*r, r[-1]] for r in people_rows(0, 3)],
    )
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "a.csv: row 1: duplicate column names" in output
    run = CliRunner().invoke(cli, ["run", str(workspace / "pipeline.yaml")])
    assert run.exit_code == 3 and "duplicate column" in run.output
