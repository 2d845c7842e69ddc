"""The business commands' inputs that cannot work: each names the file and the problem, exits
2 (usage, column mapping) or 3 (data), never 0 with every row invalid, and writes nothing.
Also the register column mapping and the register status in results."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

MASTER = base64.b64encode(b"business-errors-test-master-key-32bytes!!").decode()
ENV = {"PPRL_MASTER_KEY": MASTER, "PPRL_KEYSTORE": "", "PPRL_KEY_PASSPHRASE": ""}
REGISTER = pl.DataFrame(
    {
        "entref": ["1000000001", "1000000002", "1000000003"],
        "crn": ["00445790", "SC001234", "00777777"],
        "legal_name": ["Harlow Zinc Ltd", "Glenmorag Distillers Ltd", "Penrose Quillon Ltd"],
        "postcode": ["CM20 2AA", "PH1 5AB", "TR1 2CD"],
        "state": ["Active", "Dissolved", "not yet incorporated"],
    }
)


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, env=ENV)


def text_of(result: Result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    ks = tmp_path / "ks"
    for args in (
        ["keys", "init", "--keystore", str(ks)],
        ["keys", "add-env", "project", "--keystore", str(ks)],
    ):
        assert run(args).exit_code == 0
    register = tmp_path / "register.parquet"
    REGISTER.write_parquet(register)
    return {"ks": ks, "register": register, "root": tmp_path}


def command(setup: dict[str, Path], name: str, input_path: Path, *extra: str) -> Result:
    out = setup["root"] / "out"
    return run(
        [
            name, "--keystore", str(setup["ks"]), "--env", "project",
            "--register", str(setup["register"]), "--input", str(input_path),
            "--key-column", "request_id", "--out", str(out), *extra,
        ]
    )  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_request_without_its_crn_column_is_named(setup: dict[str, Path]) -> None:
    requests = write(setup["root"] / "requests.csv", "request_id,company_number\nr1,00445790\n")
    result = command(setup, "crn-request", requests)
    assert result.exit_code == 3
    assert "requests.csv: missing column(s) crn" in text_of(result)
    assert not (setup["root"] / "out" / "results.csv").exists()


def test_an_unreadable_request_file_is_named(setup: dict[str, Path]) -> None:
    broken = setup["root"] / "requests.parquet"
    broken.write_bytes(b"PAR1 this is not parquet \x00\x01\x02")
    result = command(setup, "crn-request", broken)
    assert result.exit_code == 3 and "requests.parquet:" in text_of(result)
    assert "ComputeError" not in text_of(result)
    absent = command(setup, "crn-request", setup["root"] / "absent.csv")
    assert absent.exit_code == 3 and "absent.csv: file not found" in text_of(absent)


def test_every_row_invalid_is_an_error_not_a_result(setup: dict[str, Path]) -> None:
    # the CRN column holds something else (names typed into it): nothing can match
    requests = write(setup["root"] / "requests.csv", "request_id,crn\nr1,Harlow Zinc\nr2,Acme\n")
    result = command(setup, "crn-request", requests)
    assert result.exit_code == 3
    assert "requests.csv: every record is invalid" in text_of(result)
    assert "Harlow" not in text_of(result)
    assert not (setup["root"] / "out" / "results.csv").exists()


def test_link_register_needs_the_columns_it_is_told_about(setup: dict[str, Path]) -> None:
    records = write(setup["root"] / "records.csv", "request_id,name\nr1,Harlow Zinc Ltd\n")
    named = command(setup, "link-register", records, "--crn-column", "company_no")
    assert named.exit_code == 3 and "records.csv: missing column(s) company_no" in text_of(named)
    requests = write(setup["root"] / "requests.csv", "request_id,crn\nr1,00445790\n")
    fallback = command(setup, "crn-request", requests, "--name-column", "company")
    assert fallback.exit_code == 3
    assert "requests.csv: missing column(s) company" in text_of(fallback)
    nothing = write(setup["root"] / "nothing.csv", "request_id,postcode\nr1,CM20 2AA\n")
    unmatched = command(setup, "link-register", nothing)
    assert unmatched.exit_code == 3 and "no column to match on" in text_of(unmatched)


@pytest.mark.parametrize("mapping", ["colour=blue", "status", "entref="])
def test_bad_register_column_mappings_are_usage_errors(
    setup: dict[str, Path], mapping: str
) -> None:
    requests = write(setup["root"] / "requests.csv", "request_id,crn\nr1,00445790\n")
    result = command(setup, "crn-request", requests, "--register-column", mapping)
    assert result.exit_code == 2 and "--register-column" in text_of(result)


def test_the_crn_rule_is_an_option_recorded_in_the_manifest(setup: dict[str, Path]) -> None:
    requests = write(setup["root"] / "requests.csv", "request_id,crn\nr1,00445790\n")
    bad = command(setup, "crn-request", requests, "--contradicting-crn", "ignore")
    assert bad.exit_code == 2 and "--contradicting-crn" in text_of(bad)
    good = command(setup, "crn-request", requests, "--contradicting-crn", "evidence")
    assert good.exit_code == 0, text_of(good)
    manifest = json.loads((setup["root"] / "out" / "manifest.json").read_text())
    assert manifest["settings"]["contradicting_crn"] == "evidence"


def test_crn_request_reports_dissolved_and_not_yet_incorporated(setup: dict[str, Path]) -> None:
    requests = write(
        setup["root"] / "requests.csv",
        "request_id,crn\nr1,445790\nr2,SC1234\nr3,00777777\nr4,09999999\n",
    )
    result = command(setup, "crn-request", requests, "--register-column", "status=state")
    assert result.exit_code == 0, text_of(result)
    got = pl.read_csv(setup["root"] / "out" / "results.csv", infer_schema=False)
    assert got["status"].to_list() == [
        "matched_exact", "dissolved", "not_yet_incorporated", "not_found",
    ]  # fmt: skip
    assert got["method"].to_list() == ["crn", "crn", "crn", None]
    assert got["register_status"].to_list() == [
        "active", "dissolved", "not_yet_incorporated", None,
    ]  # fmt: skip
    # without the mapping the register's status column is not found: statuses unknown
    plain = command(setup, "crn-request", requests)
    assert plain.exit_code == 0, text_of(plain)
    got = pl.read_csv(setup["root"] / "out" / "results.csv", infer_schema=False)
    assert got["status"].to_list()[:3] == ["matched_exact"] * 3
    assert got["register_status"].to_list()[:3] == ["unknown"] * 3
