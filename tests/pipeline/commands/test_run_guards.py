"""What stops ``pprl run`` before it reads any data: approvals and sources that match nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
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
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 4))
    return tmp_path, keystore


def _approvals(expires: date) -> dict[str, object]:
    return {
        "reference": "DSA-2026-014",
        "approved_recipients": ["tre-a", "tre-b"],
        "recipient": "tre-a",
        "expires": expires.isoformat(),
    }


def test_an_expired_approval_stops_the_run_with_exit_2(workspace: tuple[Path, Path]) -> None:
    root, keystore = workspace
    config = write_config(root, keystore, approvals=_approvals(date.today() - timedelta(days=1)))
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "DSA-2026-014 expired" in result.output
    assert not list((root / "out").glob("run-*"))


def test_a_current_approval_is_recorded_in_the_manifest_and_audit_log(
    workspace: tuple[Path, Path],
) -> None:
    root, keystore = workspace
    config = write_config(root, keystore, approvals=_approvals(date.today()))
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    (manifest,) = (root / "out").glob("run-*/manifest.json")
    recorded = json.loads(manifest.read_text())["approvals"]
    assert recorded["reference"] == "DSA-2026-014" and recorded["recipient"] == "tre-a"
    entry = json.loads((root / AUDIT_LOG).read_text().splitlines()[-1])
    assert entry["details"]["approvals"] == recorded


def test_a_recipient_not_approved_is_a_config_error(workspace: tuple[Path, Path]) -> None:
    root, keystore = workspace
    approvals = {**_approvals(date.today()), "recipient": "tre-c"}
    config = write_config(root, keystore, approvals=approvals)
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "recipient is not among approved_recipients" in result.output


def test_a_source_matching_no_files_stops_the_run(workspace: tuple[Path, Path]) -> None:
    root, keystore = workspace
    sources = [
        {"name": "hospital", "path": "in/hospital/*.csv", "columns": _columns()},
        {"name": "gp", "path": "in/gp/*.csv", "columns": _columns()},
    ]
    config = write_config(root, keystore, sources=sources)
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "sources.gp.path: the pattern matches no files" in result.output
    assert not list((root / "out").glob("run-*"))  # the hospital source was not delivered alone


def test_allow_empty_lets_a_source_have_no_files_yet(workspace: tuple[Path, Path]) -> None:
    root, keystore = workspace
    sources = [
        {"name": "hospital", "path": "in/hospital/*.csv", "columns": _columns()},
        {"name": "gp", "path": "in/gp/*.csv", "columns": _columns(), "allow_empty": True},
    ]
    config = write_config(root, keystore, sources=sources)
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    assert len(list((root / "out").glob("run-*"))) == 1


def _columns() -> dict[str, str]:
    from tests.pipeline.runner_support import COLUMNS

    return dict(COLUMNS)
