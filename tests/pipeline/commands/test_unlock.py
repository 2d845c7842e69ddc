"""`pprl unlock CONFIG --reason TEXT`: removes a lock whose run is gone, on the record."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog, run_log
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.stages.services import open_keystore
from tests.pipeline.runner_support import make_keystore, write_config

REASON = "host tre-02 rebooted mid-run, INC-4711"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_config(tmp_path, make_keystore(tmp_path, monkeypatch))


def lock_file(config: Path) -> Path:
    return load_config(config).state_dir / "lock"


def keyed_log(config: Path) -> AuditLog:
    loaded = load_config(config)
    return run_log(loaded, open_keystore(loaded).audit_authenticator())


def place_lock(config: Path, **owner: object) -> Path:
    path = lock_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(owner))
    return path


def unlock(config: Path, *extra: str, reason: str | None = REASON) -> Result:
    args = ["unlock", str(config), *extra]
    if reason is not None:
        args += ["--reason", reason]
    return CliRunner().invoke(cli, args)


def test_another_hosts_lock_is_removed_and_recorded(config: Path) -> None:
    path = place_lock(config, pid=4321, host="tre-02.example", started="2026-12-01T08:00:00+00:00")
    result = unlock(config)
    assert result.exit_code == 0, result.output
    assert "tre-02.example" in result.output and not path.exists()
    log = keyed_log(config)
    assert log.verify().authenticated
    (entry,) = log.entries()
    assert entry["action"] == "pipeline.unlock" and entry["details"]["reason"] == REASON
    assert entry["details"]["lock"]["host"] == "tre-02.example"
    assert entry["details"]["lock"]["pid"] == 4321


def test_an_unreadable_lock_is_removed(config: Path) -> None:
    path = lock_file(config)
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert unlock(config).exit_code == 0 and not path.exists()
    assert keyed_log(config).entries()[0]["details"]["lock"]["readable"] is False


def test_a_live_run_on_this_host_is_not_unlocked(config: Path) -> None:
    path = place_lock(config, pid=os.getpid(), host=socket.gethostname())
    result = unlock(config)
    assert result.exit_code == 75 and "still running" in result.output
    assert path.exists() and not keyed_log(config).path.exists()


def test_nothing_to_unlock(config: Path) -> None:
    result = unlock(config)
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert not keyed_log(config).path.exists()


@pytest.mark.parametrize("reason", [None, "", "   ", "two\nlines", "x" * 501])
def test_a_reason_is_required(config: Path, reason: str | None) -> None:
    path = place_lock(config, pid=1, host="elsewhere")
    result = unlock(config, reason=reason)
    assert result.exit_code == 2 and path.exists()
    assert "--reason" in result.output and "Traceback" not in result.output
    if reason and reason.strip():
        assert reason.strip()[:20] not in result.output  # never echoed back


def test_a_log_that_does_not_verify_keeps_the_lock(config: Path) -> None:
    log = keyed_log(config)
    log.append("pipeline.run", actor="x")
    log.path.write_text(log.path.read_text().replace("pipeline.run", "pipeline.xxx"))
    path = place_lock(config, pid=1, host="elsewhere")
    result = unlock(config)
    assert result.exit_code == 3 and "fails verification" in result.output
    assert path.exists()


def test_without_the_master_key_the_lock_stays(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPRL_MASTER_KEY")
    path = place_lock(config, pid=1, host="elsewhere")
    result = unlock(config)
    assert result.exit_code == 2 and "master key" in result.output and path.exists()


def test_audit_verify_of_a_config_checks_every_delivered_manifests_head(config: Path) -> None:
    log = keyed_log(config)
    log.append("pipeline.run", actor="x", details={"run": 1})
    log.append("pipeline.run", actor="x", details={"run": 2})
    manifest = load_config(config).delivery_dir / "run-2" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"run_id": "run-2", "audit_head": log.head()}))
    log.append("pipeline.run", actor="x", details={"run": 3})
    assert CliRunner().invoke(cli, ["audit", "verify", str(config)]).exit_code == 0
    log.path.write_text("".join(log.path.read_text().splitlines(keepends=True)[:1]))
    truncated = CliRunner().invoke(cli, ["audit", "verify", str(config)])
    assert truncated.exit_code == 3 and "is not in the log" in truncated.output
    log.path.write_text("")
    emptied = CliRunner().invoke(cli, ["audit", "verify", str(config)])
    assert emptied.exit_code == 3 and "the log is empty" in emptied.output
