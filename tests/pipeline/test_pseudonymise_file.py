"""Pseudonymising one file as a library call (pipeline/pseudonymise_file.py), no click."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.audit import AuditLog
from pipeline.errors import ConfigError, DataError
from pipeline.pseudonymise_file import (
    ColumnSpec,
    PseudonymiseOptions,
    parse_columns,
    pseudonymise_file,
    pseudonymise_table,
)
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser

VALID, INVALID = "4000000004", "4000000005"  # NHS numbers: check digit right, and wrong


@pytest.fixture(scope="module")
def pseudonymiser(tmp_path_factory: pytest.TempPathFactory) -> Pseudonymiser:
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("research")
    return Pseudonymiser.from_keystore(keystore, "research")


def test_a_file_is_pseudonymised_quarantined_and_recorded(
    pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"nhs,visits\n{VALID},1\n{INVALID},2\n,3\n")
    audit = AuditLog(tmp_path / "audit.jsonl")
    options = PseudonymiseOptions(source, tmp_path / "out.parquet", [ColumnSpec("nhs", "nhs")])
    result = pseudonymise_file(options, lambda: pseudonymiser, audit)
    assert (result.rows_in, result.rows_out, result.rows_quarantined) == (3, 2, 1)
    out = pl.read_parquet(result.output)
    assert out["nhs"].to_list() == [pseudonymiser.pseudonymise_one("nhs", VALID), None]
    assert out["visits"].to_list() == ["1", "3"]  # CSV read as text
    assert pl.read_parquet(result.quarantine).rows() == [
        ("in", "in.csv", 2, "identifiers", "nhs", "nhs:bad_check_digit")
    ]
    manifest = json.loads(result.manifest.read_text())
    assert manifest["environment"] == "research"
    assert manifest["missing_kept_as_null"] == {"nhs": 1}
    assert [e["action"] for e in audit.entries()] == ["pseudonymise"]
    assert result.summary_line() == (
        "3 rows in, 2 pseudonymised to out.parquet, 1 quarantined to out.parquet.quarantine.parquet"
    )
    text = result.manifest.read_text() + audit.path.read_text()
    assert VALID not in text and INVALID not in text


def test_bad_requests_fail_before_the_keys_are_opened(tmp_path: Path) -> None:
    def no_keys() -> Pseudonymiser:
        raise AssertionError("the keystore must not be opened for a run that cannot start")

    audit = AuditLog(tmp_path / "audit.jsonl")
    columns = [ColumnSpec("nhs", "nhs")]
    cases: list[tuple[PseudonymiseOptions, type[Exception], str]] = [
        (
            PseudonymiseOptions(tmp_path / "a.csv", tmp_path / "o.csv", columns),
            ConfigError,
            ".parquet",
        ),
        (
            PseudonymiseOptions(tmp_path / "a.csv", tmp_path / "o.parquet", columns),
            DataError,
            "a.csv",
        ),
    ]
    for options, error, needle in cases:
        with pytest.raises(error, match=needle):
            pseudonymise_file(options, no_keys, audit)
    assert audit.entries() == []


def test_table_missing_values_integers_and_wrong_types(pseudonymiser: Pseudonymiser) -> None:
    frame = pl.DataFrame({"nhs": [int(VALID), None, int(INVALID)], "x": [1.5, 2.5, 3.5]})
    kept = pseudonymise_table(frame, [ColumnSpec("nhs", "nhs")], pseudonymiser, source="t")
    assert kept.valid.height == 2 and kept.missing == {"nhs": 1}
    strict = pseudonymise_table(
        frame, [ColumnSpec("nhs", "nhs")], pseudonymiser, source="t", quarantine_missing=True
    )
    assert strict.valid.height == 1
    assert strict.quarantine.select("row", "column", "reason").rows() == [
        (2, "nhs", "nhs:missing"),
        (3, "nhs", "nhs:bad_check_digit"),
    ]
    with pytest.raises(DataError, match="t: column x has type Float64; expected text"):
        pseudonymise_table(frame, [ColumnSpec("x", "nhs")], pseudonymiser, source="t")
    with pytest.raises(DataError, match=r"t: missing column\(s\) y"):
        pseudonymise_table(frame, [ColumnSpec("y", "nhs")], pseudonymiser, source="t")


def test_column_requests_report_every_problem() -> None:
    assert parse_columns(["a:b:nhs"]) == [ColumnSpec("a:b", "nhs")]
    with pytest.raises(ConfigError) as raised:
        parse_columns(["nhs", "x:nope", "a:nhs", "a:crn"])
    problems = raised.value.problems
    assert len(problems) == 3 and "given more than once" in problems[-1]
    with pytest.raises(ConfigError, match="at least one"):
        parse_columns([])
