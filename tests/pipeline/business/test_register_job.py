"""The business-linkage job as a library call (pipeline/business/register_job.py), no click."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from pipeline.audit import AuditLog
from pipeline.business.columns import IncomingColumns
from pipeline.business.register_job import (
    CRN_REQUEST_STATUS_NAMES,
    RegisterLinkOptions,
    run_register_link,
)
from pipeline.errors import ConfigError, DataError
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser

REGISTER = pl.DataFrame(
    {
        "entref": ["1000000001", "1000000002", "1000000003", "1000000004"],
        "crn": ["00445790", "SC001234", "NI000042", "NI000042"],
        "legal_name": ["Harlow Zinc Ltd", "Glenmorag Distillers", "Erne Boats", "Erne Holdings"],
        "postcode": ["CM20 2AA", "PH1 5AB", "BT74 6EF", "BT74 6EG"],
        "address": ["1 Mill Lane", "2 Glen Road", "4 Shore Rd", "5 Shore Rd"],
    }
)
# (request_id, CRN as typed, expected status)
CRN_CASES = [
    ("r01", "445790", "matched_exact"),
    ("r03", "sc1234", "matched_exact"),
    ("r07", "00000000", "invalid"),
    ("r10", "09999999", "not_found"),
    ("r11", "NI000042", "ambiguous"),
]


@pytest.fixture(scope="module")
def pseudonymiser(tmp_path_factory: pytest.TempPathFactory) -> Pseudonymiser:
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    return Pseudonymiser.from_keystore(keystore, "project")


@pytest.fixture
def options(tmp_path: Path) -> RegisterLinkOptions:
    register, requests = tmp_path / "register.parquet", tmp_path / "requests.csv"
    REGISTER.write_parquet(register)
    pl.DataFrame(
        {"request_id": [c[0] for c in CRN_CASES], "crn": [c[1] for c in CRN_CASES]}
    ).write_csv(requests)
    return RegisterLinkOptions(
        register_path=register,
        input_path=requests,
        out_dir=tmp_path / "out",
        kind="crn-request",
        incoming_columns=IncomingColumns(key="request_id", name=None, vat=None, paye=None),
        status_names=CRN_REQUEST_STATUS_NAMES,
        write_review=False,
    )


def test_a_crn_request_runs_without_click(
    options: RegisterLinkOptions, pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    delivered = run_register_link(options, lambda: pseudonymiser, audit)
    results = pl.read_csv(delivered.results, infer_schema=False)
    assert results["request_id"].to_list() == [c[0] for c in CRN_CASES]
    assert results["status"].to_list() == [c[2] for c in CRN_CASES]
    manifest = json.loads(delivered.manifest.read_text())
    assert manifest["kind"] == "crn-request" and delivered.review is None
    assert [e["action"] for e in audit.entries()] == ["crn-request"]
    line = delivered.summary_line()
    assert line.startswith(f"{len(CRN_CASES)} records: ") and "2 matched_exact" in line


def test_a_register_run_announces_its_steps_in_order(
    options: RegisterLinkOptions, pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    from pipeline.business.register_job import REGISTER_STEPS

    steps: list[tuple[str, int, int]] = []
    audit = AuditLog(tmp_path / "audit.jsonl")
    run_register_link(
        options, lambda: pseudonymiser, audit, progress=lambda *step: steps.append(step)
    )
    assert steps == [(s, i, len(REGISTER_STEPS)) for i, s in enumerate(REGISTER_STEPS, 1)]


def test_truth_adds_precision_and_decisions_override(
    options: RegisterLinkOptions, pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.csv"
    pl.DataFrame({"request_id": ["r01", "r03"], "entref": ["1000000001", "1000000002"]}).write_csv(
        truth
    )
    decisions = tmp_path / "decisions.csv"
    token = pseudonymiser.pseudonymise_one("entref", "1000000003")
    decisions.write_text(f"key,candidate,decision\nr10,{token},match\n")
    run = replace(options, truth_path=truth, decisions_path=decisions)
    delivered = run_register_link(run, lambda: pseudonymiser, AuditLog(tmp_path / "a.jsonl"))
    report = json.loads(delivered.report.read_text())
    assert report["truth"]["true_links"] == 2 and report["truth"]["recall"] == 1.0
    results = pl.read_csv(delivered.results, infer_schema=False)
    assert results.filter(pl.col("request_id") == "r10")["entref_pseudonym"].item() == token
    manifest = json.loads(delivered.manifest.read_text())
    assert [e["name"] for e in manifest["inputs"]] == [
        "register.parquet",
        "requests.csv",
        "decisions.csv",
    ]


def test_bad_inputs_fail_before_the_keys_are_opened(
    options: RegisterLinkOptions, tmp_path: Path
) -> None:
    def no_keys() -> Pseudonymiser:
        raise AssertionError("the keystore must not be opened for a run that cannot start")

    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(DataError, match=r"^absent\.csv: file not found"):
        run_register_link(replace(options, input_path=tmp_path / "absent.csv"), no_keys, audit)
    clash = tmp_path / "results.csv"
    clash.write_text("request_id,crn\n")
    with pytest.raises(ConfigError, match="--out must not be the directory of an input"):
        run_register_link(replace(options, input_path=clash, out_dir=tmp_path), no_keys, audit)
    assert audit.entries() == []


def test_truth_rows_without_an_entref_are_not_links_to_find(
    options: RegisterLinkOptions, pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    # r10 and r07 are known not to be in the register (empty entref): recall is over r01, r03
    # only (it once counted every truth row, so recall read 0.5 here)
    truth = tmp_path / "truth.csv"
    truth.write_text("request_id,entref\nr01,1000000001\nr03,1000000002\nr10,\nr07,\n")
    run = replace(options, truth_path=truth)
    delivered = run_register_link(run, lambda: pseudonymiser, AuditLog(tmp_path / "a.jsonl"))
    found = json.loads(delivered.report.read_text())["truth"]
    assert found["true_links"] == 2
    assert found["correct"] == 2 and found["recall"] == 1.0 and found["precision"] == 1.0
