"""Where a run keeps its state and work files (outside the delivery folder, owner-only), and
``pprl project migrate`` for state an older pprl kept in ``DELIVERY/.pprl``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    HEADER,
    demo_config,
    demo_workspace,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

STATE = Path(f".pprl-state/demo-{ENVIRONMENT}")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_a_linked_run_keeps_only_deliveries_in_the_delivery_folder_and_the_rest_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    config = demo_config(root, root / "keys", ENVIRONMENT)
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.output
    # the delivery folder holds the deliveries and their index, nothing of the run's state
    assert sorted(p.name for p in (root / "out-research").iterdir()) == [
        "index.json",
        next((root / "out-research").glob("run-*")).name,
    ]
    work, state = root / "work-research", root / "state-research"
    assert {p.name for p in state.iterdir()} == {"state.duckdb", "audit.jsonl", "lock.guard"}
    assert {"registry", "review", "staging"} <= {p.name for p in work.iterdir()}
    assert any((work / "review").glob("run-*.csv"))  # identifying: in the work folder
    for folder in (work, state):
        paths = [folder, *folder.rglob("*")]
        modes = {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in paths}
        wrong = {
            name: oct(mode)
            for name, mode in modes.items()
            if mode != (0o700 if Path(root / name).is_dir() else 0o600)
        }
        assert wrong == {}


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment as an older pprl left it: state, log and unpromoted staging in out/.pprl."""
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 6))
    write_config(tmp_path, keystore)
    assert invoke("run", str(tmp_path / "pipeline.yaml")).exit_code == 0
    old = tmp_path / "out/.pprl"
    shutil.move(tmp_path / STATE, old)
    (old / "staging/run-0123456789abcdef").mkdir(parents=True)
    (old / "staging/run-0123456789abcdef/hospital.parquet").write_bytes(b"unpromoted")
    return tmp_path


def entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_commands_refuse_state_left_in_the_delivery_folder(legacy: Path) -> None:
    config = str(legacy / "pipeline.yaml")
    commands = (["validate", config], ["run", config], ["audit", "verify", config])
    for args in (*commands, ["audit", "list", config]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "pprl project migrate CONFIG" in result.output
    assert not (legacy / STATE / "state.duckdb").exists()  # no second, empty state started


def test_migrate_moves_the_state_with_the_audit_log_verified_and_the_move_recorded(
    legacy: Path,
) -> None:
    config = str(legacy / "pipeline.yaml")
    before = (legacy / "out/.pprl/audit.jsonl").read_bytes()
    result = invoke("project", "migrate", config)
    assert result.exit_code == 0, result.output
    assert "audit log verified (2 entries" in result.output
    assert sorted(p.name for p in (legacy / "out").iterdir()) == [
        "index.json",
        next((legacy / "out").glob("run-*")).name,
    ]  # the old folder, its unpromoted staging included, is gone
    log = legacy / STATE / "audit.jsonl"
    assert log.read_bytes().startswith(before)
    moved = entries(log)[-1]
    assert moved["action"] == "pipeline.state_moved"
    assert moved["details"] == {"from": str(legacy / "out/.pprl"), "to": str(legacy / STATE)}
    assert stat.S_IMODE((legacy / STATE).stat().st_mode) == 0o700
    assert invoke("audit", "verify", config).exit_code == 0
    rerun = invoke("run", config)  # the catalogue came along: nothing is delivered twice
    assert rerun.exit_code == 0 and "nothing new" in rerun.output
    again = invoke("project", "migrate", config)
    assert again.exit_code == 0 and "nothing to move" in again.output


def test_migrate_refuses_a_log_that_does_not_verify_and_moves_nothing(legacy: Path) -> None:
    log = legacy / "out/.pprl/audit.jsonl"
    log.write_text(log.read_text().replace('"pipeline.run"', '"pipeline.rum"'))
    result = invoke("project", "migrate", str(legacy / "pipeline.yaml"))
    assert result.exit_code == 3, result.output
    assert (legacy / "out/.pprl/state.duckdb").exists()
    assert not (legacy / STATE / "audit.jsonl").exists()


def test_an_interrupted_migration_resumes_and_records_the_move_once(
    legacy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import project

    real_copy = project._copy_identical

    def copy_log_then_fail(source: Path, target: Path) -> None:
        if source.name == "state.duckdb":
            raise RuntimeError("killed mid-migration")
        real_copy(source, target)

    monkeypatch.setattr(project, "_copy_identical", copy_log_then_fail)
    config = str(legacy / "pipeline.yaml")
    assert invoke("project", "migrate", config).exit_code == 3
    assert (legacy / STATE / "audit.jsonl").exists() and (legacy / "out/.pprl").exists()
    monkeypatch.setattr(project, "_copy_identical", real_copy)
    result = invoke("project", "migrate", config)
    assert result.exit_code == 0, result.output
    actions = [e["action"] for e in entries(legacy / STATE / "audit.jsonl")]
    assert actions.count("pipeline.state_moved") == 1
    assert invoke("run", config).exit_code == 0


def test_a_migration_killed_after_moving_the_files_finishes_when_run_again(
    legacy: Path,
) -> None:
    config = str(legacy / "pipeline.yaml")
    assert invoke("project", "migrate", config).exit_code == 0
    leftover = legacy / "out/.pprl/staging/run-0123456789abcdef"  # as a kill would leave it
    leftover.mkdir(parents=True)
    (leftover / "hospital.parquet").write_bytes(b"unpromoted")
    assert invoke("run", config).exit_code == 2
    result = invoke("project", "migrate", config)
    assert result.exit_code == 0, result.output
    assert not (legacy / "out/.pprl").exists()
    assert invoke("audit", "verify", config).exit_code == 0


def test_migrate_never_overwrites_another_state(legacy: Path) -> None:
    (legacy / STATE).mkdir(parents=True)
    (legacy / STATE / "audit.jsonl").write_text("someone else's log\n")
    result = invoke("project", "migrate", str(legacy / "pipeline.yaml"))
    assert result.exit_code == 2 and "differs" in result.output
    assert (legacy / STATE / "audit.jsonl").read_text() == "someone else's log\n"
    assert (legacy / "out/.pprl/audit.jsonl").exists()


def test_an_older_pprls_lock_from_another_host_can_be_cleared_before_migrating(
    legacy: Path,
) -> None:
    lock = legacy / "out/.pprl/lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname() + "-other"}))
    config = str(legacy / "pipeline.yaml")
    held = invoke("project", "migrate", config)
    assert held.exit_code == 75 and "pprl unlock" in held.output
    cleared = invoke("unlock", config, "--reason", "old host retired, INC-1")
    assert cleared.exit_code == 0, cleared.output
    assert invoke("project", "migrate", config).exit_code == 0
    actions = [e["action"] for e in entries(legacy / STATE / "audit.jsonl")]
    assert actions[-2:] == ["pipeline.unlock", "pipeline.state_moved"]
