"""``pprl audit`` on the log a ``pprl run`` writes, and the run command's option checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.pipeline.runner_support import (
    AUDIT_LOG,
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


@pytest.fixture
def delivered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 4))
    config = write_config(tmp_path, keystore)
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_run_records_an_audit_entry_that_verifies(delivered: Path) -> None:
    runner = CliRunner()
    config = str(delivered / "pipeline.yaml")
    result = runner.invoke(cli, ["audit", "verify", config])
    assert result.exit_code == 0 and result.output.startswith("ok: "), result.output
    assert "(authenticated)" in result.output
    listing = runner.invoke(cli, ["audit", "list", str(delivered / AUDIT_LOG)])
    assert "pipeline.run" in listing.output
    entry = json.loads((delivered / AUDIT_LOG).read_text().splitlines()[0])
    run_id = entry["details"]["run_id"]
    manifest = delivered / "out" / run_id / "manifest.json"
    from pseudonym.digests import file_sha256

    assert entry["details"]["manifest_sha256"] == file_sha256(manifest)
    assert entry["inputs"] == {"in/hospital/a.csv": file_sha256(delivered / "in/hospital/a.csv")}
    assert entry["format"] == "pprl-audit/2" and entry["mac"]  # appended with the audit key
    # the manifest holds the head the log had before this run: the genesis of a new log
    head = json.loads(manifest.read_text())["audit_head"]
    verified = runner.invoke(cli, ["audit", "verify", config, "--manifest", str(manifest)])
    assert verified.exit_code == 0, verified.output
    assert head == entry["prev"]


def _second_batch(root: Path) -> str:
    write_csv(root / "in/hospital/b.csv", HEADER, people_rows(10, 4))
    return str(root / "pipeline.yaml")


def test_a_run_refuses_a_tampered_audit_log(delivered: Path) -> None:
    log = delivered / AUDIT_LOG
    log.write_text(log.read_text().replace('"pipeline.run"', '"pipeline.rerun"'))
    result = CliRunner().invoke(cli, ["run", _second_batch(delivered)])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert len(list((delivered / "out").glob("run-*"))) == 1  # nothing new delivered


def test_a_run_refuses_an_emptied_audit_log(delivered: Path) -> None:
    (delivered / AUDIT_LOG).write_text("")
    result = CliRunner().invoke(cli, ["run", _second_batch(delivered)])
    assert result.exit_code == 3, result.output
    assert len(list((delivered / "out").glob("run-*"))) == 1


def test_a_run_refuses_a_deleted_audit_log_after_a_delivery(delivered: Path) -> None:
    (delivered / AUDIT_LOG).unlink()
    result = CliRunner().invoke(cli, ["run", _second_batch(delivered)])
    assert result.exit_code == 3, result.output
    assert len(list((delivered / "out").glob("run-*"))) == 1


def test_a_second_run_chains_onto_the_first(delivered: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["run", _second_batch(delivered)])
    assert result.exit_code == 0, result.output
    entries = [json.loads(x) for x in (delivered / AUDIT_LOG).read_text().splitlines()]
    runs = [e for e in entries if e["action"] == "pipeline.run"]
    assert len(runs) == 2
    second = delivered / "out" / runs[1]["details"]["run_id"] / "manifest.json"
    assert json.loads(second.read_text())["audit_head"] == runs[1]["prev"] != runs[0]["prev"]
    verified = runner.invoke(cli, ["audit", "verify", str(delivered / "pipeline.yaml")])
    assert verified.exit_code == 0, verified.output


def test_tampering_with_the_audit_log_exits_3(delivered: Path) -> None:
    log = delivered / AUDIT_LOG
    log.write_text(log.read_text().replace('"pipeline.run"', '"pipeline.rerun"'))
    result = CliRunner().invoke(cli, ["audit", "verify", str(log)])
    assert result.exit_code == 3 and "fails verification" in result.output


def test_scheduler_needs_dask_executor(delivered: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(delivered / "pipeline.yaml"), "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert result.exit_code == 2 and "--scheduler needs --executor dask" in result.output


def test_unreachable_scheduler_is_transient() -> None:
    from pipeline.errors import TransientError
    from pipeline.executors import DaskExecutor

    with pytest.raises(TransientError, match="cannot reach the dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout="1s")


def test_progress_only_on_a_terminal() -> None:
    import io

    from pipeline.progress import stage_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with stage_progress("pprl run", ["a", "b"], stream=io.StringIO()) as none:
        assert none is None
    terminal = Terminal()
    with stage_progress("pprl run", ["ingest", "link"], stream=terminal) as show:
        assert show is not None
        show("link", 2, 2)
    assert "2/2 link" in terminal.getvalue()
