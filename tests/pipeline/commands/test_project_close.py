"""``pprl project close``: keys destroyed, work folder deleted, delivery and audit log kept,
the closure recorded in a log that still verifies; refused without --yes; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pseudonym.keys import master_key_from_env
from pseudonym.keystore import Keystore
from tests.pipeline.runner_support import ENVIRONMENT, demo_config, demo_workspace

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A linked project after one run: review files and a registry in its work folder."""
    root = demo_workspace(tmp_path, monkeypatch)
    config = demo_config(root, root / "keys", ENVIRONMENT)
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.output
    assert any((root / "work-research/review").glob("run-*.csv"))
    return config


def entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def status(root: Path, environment: str) -> str:
    return Keystore.open(root / "keys").environment(environment).status


def test_close_needs_yes_and_then_changes_nothing(project: Path) -> None:
    root = project.parent
    result = invoke("project", "close", str(project))
    assert result.exit_code == 2 and "--yes" in result.output
    assert status(root, ENVIRONMENT) == "active"
    assert (root / "work-research/registry/manifest.json").exists()


def test_close_destroys_the_keys_deletes_the_work_folder_and_records_it(project: Path) -> None:
    root = project.parent
    delivered = {p: p.read_bytes() for p in (root / "out-research").rglob("*") if p.is_file()}
    log = root / "state-research/audit.jsonl"
    result = invoke("project", "close", str(project), "--yes")
    assert result.exit_code == 0, result.output
    assert status(root, ENVIRONMENT) == "destroyed"
    assert status(root, "other") == "active"  # another project's environment is untouched
    assert not (root / "work-research").exists()
    assert {p: p.read_bytes() for p in (root / "out-research").rglob("*") if p.is_file()} == (
        delivered
    )
    closing = entries(log)[-1]
    assert closing["action"] == "project.close"
    details = closing["details"]
    assert isinstance(details, dict)
    assert details["environment"] == ENVIRONMENT
    assert details["deleted"] == [str(root / "work-research")]
    assert details["kept"] == {"delivery": str(root / "out-research"), "deliveries": 1}
    # the audit key derives from the master key, not the destroyed environment: still verifies
    verified = invoke("audit", "verify", str(project))
    assert verified.exit_code == 0 and "(authenticated)" in verified.output, verified.output
    keystore_log = entries(root / "keys/audit.jsonl")
    assert keystore_log[-1]["action"] == "keys.destroy"
    assert invoke("keys", "verify", "--keystore", str(root / "keys")).exit_code == 0


def test_a_closed_project_refuses_runs_and_a_second_close_changes_nothing(project: Path) -> None:
    root = project.parent
    assert invoke("project", "close", str(project), "--yes").exit_code == 0
    log = (root / "state-research/audit.jsonl").read_bytes()
    again = invoke("project", "close", str(project), "--yes")
    assert again.exit_code == 0 and "already closed" in again.output
    run = invoke("run", str(project))
    assert run.exit_code == 2 and "project was closed" in run.output
    assert not (root / "work-research").exists()  # no identifying checkpoint made again
    assert (root / "state-research/audit.jsonl").read_bytes() == log


def test_a_close_interrupted_after_destroying_the_keys_completes_when_run_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import project as lifecycle

    def fail(work: Path) -> list[str]:
        raise OSError(13, "Permission denied", str(work))

    real_delete = lifecycle._delete_work_folder
    monkeypatch.setattr(lifecycle, "_delete_work_folder", fail)
    root = project.parent
    failed = invoke("project", "close", str(project), "--yes")
    assert failed.exit_code == 3 and "Traceback" not in failed.output
    assert status(root, ENVIRONMENT) == "destroyed"
    assert (root / "work-research").exists()
    monkeypatch.setattr(lifecycle, "_delete_work_folder", real_delete)
    result = invoke("project", "close", str(project), "--yes")
    assert result.exit_code == 0, result.output
    assert not (root / "work-research").exists()
    destroyed = [e for e in entries(root / "keys/audit.jsonl") if e["action"] == "keys.destroy"]
    assert len(destroyed) == 1


def test_close_refuses_a_work_folder_holding_files_a_run_did_not_write(project: Path) -> None:
    root = project.parent
    (root / "work-research/notes.txt").write_text("mine")
    result = invoke("project", "close", str(project), "--yes")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert status(root, ENVIRONMENT) == "active"  # refused before anything was destroyed


def test_close_needs_the_master_key_and_a_log_that_verifies(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project.parent
    log = root / "state-research/audit.jsonl"
    log.write_text(log.read_text().replace('"pipeline.run"', '"pipeline.rum"'))
    tampered = invoke("project", "close", str(project), "--yes")
    assert tampered.exit_code == 3
    assert status(root, ENVIRONMENT) == "active"
    assert master_key_from_env() is not None
    monkeypatch.delenv("PPRL_MASTER_KEY")
    keyless = invoke("project", "close", str(project), "--yes")
    assert keyless.exit_code == 2 and "master key" in keyless.output
