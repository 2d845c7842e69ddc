"""End-to-end tests of ``pprl run`` through the CLI, on small hand-written CSVs in tmp dirs."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner, Result

from pipeline.cli import cli
from tests.pipeline.runner_support import (
    AUDIT_LOG,
    HEADER,
    LOCK,
    PEOPLE,
    STATE,
    WORK,
    all_output_text,
    deliveries,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keystore = make_keystore(tmp_path, monkeypatch)
    rows = people_rows(0, 12)
    rows[4][0] = rows[4][0][:9] + str((int(rows[4][0][9]) + 1) % 10)  # bad check digit
    rows[7][3] = "1970-13-45"  # impossible date
    rows[9][0] = ""  # missing identifier: kept
    write_csv(tmp_path / "in/hospital/2026-10.csv", HEADER, rows)
    write_csv(tmp_path / "in/hospital/2026-11.csv", HEADER, people_rows(100, 6))
    write_config(tmp_path, keystore)
    return tmp_path


def run(root: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["run", str(root / "pipeline.yaml"), *extra])


def delivered_files(root: Path) -> dict[str, bytes]:
    out = root / "out"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def raw_values(root: Path) -> set[str]:
    values = set()
    for path in (root / "in").rglob("*.csv"):
        frame = pl.read_csv(path, infer_schema=False)
        for col in ("nhs_no", "forename", "surname", "dob", "postcode"):
            values |= {v for v in frame[col].to_list() if v}
    return values


def test_run_delivers_de_identified_extract_with_balanced_accounts(workspace: Path) -> None:
    result = run(workspace)
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in (workspace / "out").iterdir() if p.name.startswith("run-"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["input_rows"] == 18
    assert totals["quarantined"] == 2
    assert totals["input_rows"] == totals["delivered"] + totals["quarantined"]
    assert totals["delivered"] == totals["linked"] + totals["unlinked"]
    extract = pl.read_parquet(run_dir / "hospital.parquet")
    assert extract.height == manifest["outputs"]["hospital.parquet"]["rows"] == 16
    assert extract.columns == ["source_dataset", "pid_nhs", "record_key", "ethnicity"]
    assert extract["pid_nhs"].null_count() == 1  # the missing identifier stays missing
    assert extract["pid_nhs"].drop_nulls().str.starts_with("research1_").all()
    quarantine = pl.read_parquet(run_dir / "quarantine.parquet")
    assert sorted(quarantine["reason"].to_list()) == ["bad_date", "nhs:bad_check_digit"]
    assert set(quarantine["row"].to_list()) == {5, 8}  # data rows: file lines 6 and 9
    assert manifest["key_ids"]["nhs"].startswith("k1-")
    assert (run_dir / "report.html").read_text().count("<svg") == 0  # no linkage: no chart


def test_no_identifying_value_in_any_output_log_or_message(workspace: Path) -> None:
    result = run(workspace, "--json-logs")
    assert result.exit_code == 0, result.output
    text = all_output_text(workspace) + result.output + (workspace / AUDIT_LOG).read_text()
    values = raw_values(workspace)
    assert len(values) > 40
    leaked = sorted(v for v in values if v in text)
    assert leaked == []
    # the distinctive surnames are also absent case-insensitively
    assert not any(p[1].lower() in text.lower() for p in PEOPLE)


def test_rerun_changes_nothing_and_a_fresh_rerun_is_byte_identical(workspace: Path) -> None:
    assert run(workspace).exit_code == 0
    first = delivered_files(workspace)
    audit = (workspace / AUDIT_LOG).read_bytes()
    again = run(workspace)
    assert again.exit_code == 0 and "nothing new" in again.output
    assert delivered_files(workspace) == first
    assert (workspace / AUDIT_LOG).read_bytes() == audit
    shutil.rmtree(workspace / "out")
    shutil.rmtree(workspace / STATE)  # the catalogue would find the files delivered
    assert run(workspace).exit_code == 0
    second = delivered_files(workspace)
    assert second.keys() == first.keys()
    for name, data in first.items():
        if name.endswith(".parquet"):
            assert second[name] == data, name


def test_new_files_in_a_source_folder_are_processed_once(workspace: Path) -> None:
    assert run(workspace).exit_code == 0
    write_csv(workspace / "in/hospital/2026-12.csv", HEADER, people_rows(200, 5))
    result = run(workspace)
    assert result.exit_code == 0
    runs = sorted(p for p in (workspace / "out").iterdir() if p.name.startswith("run-"))
    assert len(runs) == 2
    newest = max(runs, key=lambda p: p.stat().st_mtime)
    manifest = json.loads((newest / "manifest.json").read_text())
    assert [i["path"] for i in manifest["inputs"]] == ["in/hospital/2026-12.csv"]
    assert manifest["totals"]["input_rows"] == 5
    assert "nothing new" in run(workspace).output


def test_crash_between_stages_leaves_nothing_visible_and_rerun_completes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import run_stages

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash")

    original = run_stages.deidentify_stage.deidentify
    monkeypatch.setattr(run_stages.deidentify_stage, "deidentify", explode)
    crashed = run(workspace)
    # the CLI edge reports the crash as one line (its type only) with the data-error code
    assert crashed.exit_code == 3 and "unexpected RuntimeError" in crashed.output
    assert deliveries(workspace) == []
    assert not (workspace / LOCK).exists()
    work = workspace / WORK
    checkpoints = sorted(p.parent.name for p in work.glob("run-*/*/parts.json"))
    assert {"01-prepared", "03-pseudonymised"} <= set(checkpoints)  # finished stages
    # identifying checkpoints never sit in the delivery folder, even after a crash
    values = raw_values(workspace)
    leftovers = all_output_text(workspace)
    assert sorted(v for v in values if v in leftovers) == []
    monkeypatch.setattr(run_stages.deidentify_stage, "deidentify", original)
    resumed = run(workspace)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming from checkpoint" in resumed.output
    assert [p.name for p in work.iterdir()] == ["staging"]
    assert not any((work / "staging").iterdir())
    after_resume = delivered_files(workspace)
    shutil.rmtree(workspace / "out")
    shutil.rmtree(workspace / STATE)  # the catalogue would find the files delivered
    assert run(workspace).exit_code == 0
    clean = delivered_files(workspace)
    assert {k: v for k, v in after_resume.items() if k.endswith(".parquet")} == {
        k: v for k, v in clean.items() if k.endswith(".parquet")
    }


def test_second_concurrent_run_exits_75(workspace: Path) -> None:
    lock = workspace / LOCK
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    result = run(workspace)
    assert result.exit_code == 75
    assert "another run holds the lock" in result.output
    assert lock.exists()  # never removes someone else's lock


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (
            b"nhs_no,forename,surname,dob,postcode,ethnicity,ethnicity,region_code\n",
            "row 1: duplicate column 'ethnicity'",
        ),
        (
            b"nhs_no,forename,dob,postcode,ethnicity,region_code\n1,a,,,,\n",
            "row 1: missing column 'surname'",
        ),
    ],
)
def test_malformed_files_stop_the_run_with_exit_3(
    workspace: Path, content: bytes, message: str
) -> None:
    (workspace / "in/hospital/2026-12.csv").write_bytes(content)
    result = run(workspace)
    assert result.exit_code == 3
    assert "2026-12.csv" in result.output and message in result.output
    assert deliveries(workspace) == []


def test_bad_encoding_and_ragged_rows_are_quarantined_with_file_row_field(workspace: Path) -> None:
    good = people_rows(300, 3)
    lines = [",".join(HEADER).encode()] + [",".join(r).encode() for r in good]
    lines[2] = lines[2].replace(b",", b",\xe9", 1)  # latin-1 byte in the forename
    lines.append(b"4000000004,only,three")
    (workspace / "in/hospital/2026-12.csv").write_bytes(b"\n".join(lines) + b"\n")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in (workspace / "out").iterdir() if p.name.startswith("run-"))
    q = pl.read_parquet(run_dir / "quarantine.parquet").filter(
        pl.col("file") == "in/hospital/2026-12.csv"
    )
    assert q.select("row", "reason", "column").rows() == [  # data rows: file lines 3 and 5
        (2, "bad_encoding", "forename"),
        (4, "ragged_row", None),
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["totals"]["input_rows"] == 18 + 4


def test_shipped_demo_config_links_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parents[3]
    shutil.copytree(repo / "configs/demo-data", tmp_path / "configs/demo-data")
    shutil.copy(repo / "configs/demo.yaml", tmp_path / "configs/demo.yaml")
    monkeypatch.setenv("PPRL_DEMO_PASSPHRASE", "pprl-demo-only")
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "configs/demo.yaml")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "example-output/pipeline-demo").glob("run-*"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["input_rows"] == 85 == totals["delivered"] + totals["quarantined"]
    # 25 people are in both sources: each should be linked across them
    assert manifest["linkage"]["pairs_matched"] >= 23
    assert 46 <= totals["linked"] <= 54
    hospital = pl.read_parquet(run_dir / "hospital.parquet")
    gp = pl.read_parquet(run_dir / "gp.parquet")
    assert "REGION" not in hospital.columns and "REGION" in gp.columns
    shared = set(hospital["person_id"]) & set(gp["person_id"])
    assert len(shared) >= 23
    inputs = tmp_path / "configs/demo-data"
    values = set()
    for path in inputs.rglob("*.csv"):
        frame = pl.read_csv(path, infer_schema=False)
        for col in frame.columns:
            if col.lower() in {
                "nhs_number",
                "nhs_no",
                "forename",
                "surname",
                "name",
                "dob",
                "date_of_birth",
                "postcode",
            }:
                values |= {v for v in frame[col].to_list() if v}
    text = result.output + "".join(
        p.read_bytes().decode("latin-1")
        + (pl.read_parquet(p).write_csv() if p.suffix == ".parquet" else "")
        for p in (tmp_path / "example-output/pipeline-demo").rglob("*")
        if p.is_file()
    )
    assert sorted(v for v in values if v in text) == []


def test_incremental_batch_from_one_source_links_to_earlier_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a later batch holds hospital records only; they link to the GP records of the first
    # run (the entity registry) and carry the person_id those people were delivered with
    repo = Path(__file__).resolve().parents[3]
    shutil.copytree(repo / "configs/demo-data", tmp_path / "configs/demo-data")
    shutil.copy(repo / "configs/demo.yaml", tmp_path / "configs/demo.yaml")
    monkeypatch.setenv("PPRL_DEMO_PASSPHRASE", "pprl-demo-only")
    doc = yaml.safe_load((tmp_path / "configs/demo.yaml").read_text())
    doc["disclosure"]["quasi_identifiers"] = []  # a 23-row batch cannot be 3-anonymous
    (tmp_path / "configs/demo.yaml").write_text(yaml.safe_dump(doc))
    config = str(tmp_path / "configs/demo.yaml")
    assert CliRunner().invoke(cli, ["run", config]).exit_code == 0
    first = next((tmp_path / "example-output/pipeline-demo").glob("run-*"))
    earlier_gp = pl.read_parquet(first / "gp.parquet")
    earlier_hospital = pl.read_parquet(first / "hospital.parquet")
    month = tmp_path / "configs/demo-data/hospital/episodes-2026-10.csv"
    shutil.copy(month, month.with_name("episodes-2026-12.csv"))
    result = CliRunner().invoke(cli, ["run", config])
    assert result.exit_code == 0, result.output
    assert "linkage skipped" not in result.output
    newest = max(
        (tmp_path / "example-output/pipeline-demo").glob("run-*"), key=lambda p: p.stat().st_mtime
    )
    manifest = json.loads((newest / "manifest.json").read_text())
    entities = manifest["linkage"]["entities"]
    assert entities["earlier_records"] == earlier_gp.height + earlier_hospital.height
    assert manifest["totals"]["linked"] > 0
    assert entities["records_joining_earlier_entities"] == manifest["totals"]["linked"]
    assert not (newest / "gp.parquet").exists()  # no new GP files: no empty GP extract
    batch = pl.read_parquet(newest / "hospital.parquet")
    earlier = pl.concat([earlier_gp, earlier_hospital], how="diagonal_relaxed")
    linked_ids = set(batch.filter(pl.col("linked"))["person_id"])
    assert linked_ids and linked_ids <= set(earlier["person_id"])
    # the copied file's records are the October records again: a copy holding a valid NHS
    # number carries the person_id that number was delivered with (one per number), whether
    # the first run found it in the GP register or in hospital episodes only
    known = earlier.drop_nulls("pid_nhs").select("pid_nhs", pl.col("person_id").alias("before"))
    assert known.unique()["pid_nhs"].is_unique().all()
    copies = batch.drop_nulls("pid_nhs").join(known.unique(), on="pid_nhs")
    assert copies.height == batch["pid_nhs"].drop_nulls().len() > 0
    assert (copies["person_id"] == copies["before"]).all()


def test_all_flag_reprocesses_after_a_config_change(workspace: Path) -> None:
    assert run(workspace).exit_code == 0
    doc = yaml.safe_load((workspace / "pipeline.yaml").read_text())
    doc["approved_attributes"] = ["ethnicity", "region_code"]
    (workspace / "pipeline.yaml").write_text(yaml.safe_dump(doc))
    assert "nothing new" in run(workspace).output
    result = run(workspace, "--all")
    assert result.exit_code == 0, result.output
    runs = sorted((workspace / "out").glob("run-*"))
    assert len(runs) == 2
    newest = max(runs, key=lambda p: p.stat().st_mtime)
    assert "region_code" in pl.read_parquet(newest / "hospital.parquet").columns
    again = run(workspace, "--all")  # same config and inputs: finds the delivery, changes nothing
    assert again.exit_code == 0 and len(list((workspace / "out").glob("run-*"))) == 2


KILL_SCRIPT = """
import os, signal, sys
from pipeline import run_stages
from pipeline.cli import main

real = run_stages.deidentify_stage.deidentify

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally blocks: a real crash

run_stages.deidentify_stage.deidentify = die
sys.argv = ["pprl", "run", sys.argv[1]]
main()
"""


def test_sigkill_mid_run_then_rerun_completes(workspace: Path) -> None:
    import subprocess
    import sys

    script = workspace / "kill.py"
    script.write_text(KILL_SCRIPT)
    killed = subprocess.run(
        [sys.executable, str(script), str(workspace / "pipeline.yaml")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert killed.returncode == -9
    lock = workspace / LOCK
    assert lock.exists()  # the killed run could not release it
    assert deliveries(workspace) == []
    leftovers = all_output_text(workspace)
    assert sorted(v for v in raw_values(workspace) if v in leftovers) == []
    resumed = run(workspace)
    assert resumed.exit_code == 0, resumed.output
    assert "removing stale run lock" in resumed.output
    assert "resuming from checkpoint" in resumed.output
    manifest = json.loads(next((workspace / "out").glob("run-*/manifest.json")).read_text())
    assert manifest["totals"]["input_rows"] == 18


def test_crash_after_promotion_is_recorded_once_on_rerun(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.state import StateCatalogue

    original = StateCatalogue.finish_run

    def crash(self: StateCatalogue, run_id: str) -> None:
        raise RuntimeError("simulated crash before the catalogue update")

    monkeypatch.setattr(StateCatalogue, "finish_run", crash)
    crashed = run(workspace)
    assert crashed.exit_code == 3 and "unexpected RuntimeError" in crashed.output
    promoted = delivered_files(workspace)
    assert any(name.endswith("manifest.json") for name in promoted)
    monkeypatch.setattr(StateCatalogue, "finish_run", original)
    rerun = run(workspace)
    assert rerun.exit_code == 0 and "already promoted" in rerun.output
    assert delivered_files(workspace) == promoted
    audit = (workspace / AUDIT_LOG).read_text().splitlines()
    assert len(audit) == 1
    assert "nothing new" in run(workspace).output
