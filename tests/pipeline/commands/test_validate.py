from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from tests.pipeline.runner_support import (
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

REPO = Path(__file__).resolve().parents[3]


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 3))
    write_config(tmp_path, keystore)
    return tmp_path


def test_valid_setup_prints_ok(workspace: Path) -> None:
    assert validate(workspace / "pipeline.yaml") == (0, "ok\n")


def test_a_glob_matching_no_files_is_an_error_unless_allowed(workspace: Path) -> None:
    (workspace / "in/hospital/a.csv").unlink()
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "sources[0].path: the pattern matches no files" in output
    doc = yaml.safe_load((workspace / "pipeline.yaml").read_text())
    doc["sources"][0]["allow_empty"] = True
    (workspace / "pipeline.yaml").write_text(yaml.safe_dump(doc))
    assert validate(workspace / "pipeline.yaml") == (0, "ok\n")


def test_every_problem_is_listed_and_exit_is_2(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "in/hospital/a.csv").write_text("nhs_no,forename\n4000000004,Xanthe\n")
    write_csv(workspace / "in/gp.csv", ["ID"], [["1"]])
    doc = yaml.safe_load((workspace / "pipeline.yaml").read_text())
    doc["environment"] = "elsewhere"
    doc["sources"].append(
        {
            "name": "gp",
            "path": "in/gp.csv",
            "columns": {"ID": "identifier:nhs", "NAME": "full_name"},
        }
    )
    doc["sources"].append({"name": "lab", "path": "in/missing.csv", "columns": {"x": "attribute"}})
    (workspace / "pipeline.yaml").write_text(yaml.safe_dump(doc))
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2
    for expected in (
        "sources[0].columns.surname: not in the header of a.csv",
        "sources[0].columns.dob: not in the header of a.csv",
        "sources[1].columns.NAME: not in the header of gp.csv",
        "sources[2].path: input file not found: missing.csv",
        "keystore:",
    ):
        assert expected in output, expected
    assert "Xanthe" not in output and "4000000004" not in output


def test_missing_master_key_and_missing_keystore(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPRL_MASTER_KEY")
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "master key not" in output and "PPRL_MASTER_KEY" in output
    doc = yaml.safe_load((workspace / "pipeline.yaml").read_text())
    doc["keystore"]["path"] = "nowhere"
    (workspace / "pipeline.yaml").write_text(yaml.safe_dump(doc))
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "no keystore here" in output


def test_wrong_master_key_is_refused(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    monkeypatch.setenv("PPRL_MASTER_KEY", base64.b64encode(b"\x01" * 32).decode())
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2 and "keystore" in output


def test_schema_errors_exit_2_with_yaml_paths(workspace: Path) -> None:
    doc = yaml.safe_load((workspace / "pipeline.yaml").read_text())
    doc["sources"][0]["columns"]["nhs_no"] = "identifier:nsh"
    (workspace / "pipeline.yaml").write_text(yaml.safe_dump(doc))
    code, output = validate(workspace / "pipeline.yaml")
    assert code == 2
    assert "sources[0].columns.nhs_no: unknown identifier type 'nsh'" in output


def test_shipped_configs_validate_from_a_fresh_environment() -> None:
    """What CI does: `pprl validate` on every configs/*.yaml with no key material in the env."""
    # the demo key file's passphrase is published (fictitious data); a run needs it, so does
    # validate. PYTHONPATH: this checkout's code, not whatever copy of pprl is installed
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "PPRL_DEMO_PASSPHRASE": "pprl-demo-only",
        "PYTHONPATH": str(REPO),
    }
    configs = sorted((REPO / "configs").glob("*.yaml"))
    assert configs, f"no example configs found under {REPO / 'configs'}"
    for config in configs:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "validate", str(config)],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == "ok"


def test_shipped_demo_config_needs_its_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PPRL_DEMO_PASSPHRASE", raising=False)
    monkeypatch.delenv("PPRL_MASTER_KEY", raising=False)
    code, output = validate(REPO / "configs/demo.yaml")
    assert code == 2 and "keystore.passphrase_env: PPRL_DEMO_PASSPHRASE is not set" in output
    monkeypatch.setenv("PPRL_DEMO_PASSPHRASE", "not-the-passphrase")
    code, output = validate(REPO / "configs/demo.yaml")
    assert code == 2 and "cannot decrypt" in output
    monkeypatch.setenv("PPRL_DEMO_PASSPHRASE", "pprl-demo-only")
    assert validate(REPO / "configs/demo.yaml") == (0, "ok\n")
