"""`pprl keys`: init (new key file / env key), add-env, list, rotate, destroy; audit; no leaks."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.cli import cli
from pseudonym.keys import read_key_file
from pseudonym.keystore import KEYSTORE_FILE, Keystore
from pseudonym.secret import Secret

PASSPHRASE = "tre-test-passphrase-7Yq"


def run(args: list[str], env: dict[str, str] | None = None, input: str | None = None) -> Result:
    base = {"PPRL_KEY_PASSPHRASE": PASSPHRASE, "PPRL_MASTER_KEY": "", "PPRL_KEYSTORE": ""}
    return CliRunner().invoke(cli, args, env={**base, **(env or {})}, input=input)


def all_text(result: Result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    ks = tmp_path / "ks"
    result = run(["keys", "init", "--keystore", str(ks), "--key-file", str(tmp_path / "m.key")])
    assert result.exit_code == 0, all_text(result)
    return ks


def test_init_generates_encrypted_key_file_and_records_it(tmp_path: Path, keystore: Path) -> None:
    master = read_key_file(tmp_path / "m.key", Secret(PASSPHRASE.encode()))
    data = json.loads((keystore / KEYSTORE_FILE).read_text())
    assert data["master_key_file"] == str((tmp_path / "m.key").resolve())
    assert Keystore.open(keystore, master=master).master_key_id.startswith("m-")
    entries = AuditLog(keystore / "audit.jsonl").entries()
    assert [e["action"] for e in entries] == ["keys.init"]
    assert entries[0]["details"]["key_file_created"] is True


def test_init_prompts_for_passphrase_twice_when_not_in_env(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["keys", "init", "--keystore", str(tmp_path / "ks"), "--key-file", str(tmp_path / "k")],
        env={"PPRL_KEY_PASSPHRASE": None, "PPRL_MASTER_KEY": None},
        input="typed-secret-1\ntyped-secret-1\n",
    )
    assert result.exit_code == 0, all_text(result)
    assert "typed-secret-1" not in all_text(result)
    read_key_file(tmp_path / "k", Secret(b"typed-secret-1"))


def test_full_lifecycle_with_audit_and_no_key_in_output(tmp_path: Path, keystore: Path) -> None:
    outputs = []
    for args in (
        ["add-env", "research", "--prefix", "res"],
        ["add-env", "audit"],
        ["rotate", "research"],
        ["list"],
        ["list", "--json"],
        ["destroy", "audit", "--yes"],
    ):
        result = run(["keys", *args, "--keystore", str(keystore)])
        assert result.exit_code == 0, (args, all_text(result))
        outputs.append(all_text(result))
    listing = json.loads(outputs[4])
    envs = {e["name"]: e for e in listing["environments"]}
    assert envs["research"]["active_version"] == 2
    assert [v["status"] for v in envs["research"]["versions"]] == ["retired", "active"]
    assert envs["audit"]["status"] == "active"  # listed before the destroy below
    assert Keystore.open(keystore).environment("audit").status == "destroyed"
    assert "* v2" in outputs[3]
    actions = [e["action"] for e in AuditLog(keystore / "audit.jsonl").entries()]
    # listing reads public key IDs only and needs no master key: it writes no entry
    assert actions == ["keys.init", "keys.add-env", "keys.add-env", "keys.rotate", "keys.destroy"]
    master = read_key_file(tmp_path / "m.key", Secret(PASSPHRASE.encode()))
    store = Keystore.open(keystore, master=master)
    log = AuditLog(keystore / "audit.jsonl", authenticator=store.audit_authenticator())
    assert log.verify().authenticated
    secrets = [master.reveal().hex(), base64.b64encode(master.reveal()).decode(), PASSPHRASE]
    for purpose in ("nhs", "crn", "environment"):
        for version in (1, 2):
            key, _ = store.working_key("research", purpose, version=version)
            secrets.append(key.reveal().hex())
    texts = [
        *outputs,
        (keystore / "audit.jsonl").read_text(),
        (keystore / KEYSTORE_FILE).read_text(),
    ]
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_env_master_key_and_mismatch(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    ks = tmp_path / "ks"
    assert run(["keys", "init", "--keystore", str(ks)], env={"PPRL_MASTER_KEY": key}).exit_code == 0
    ok = run(["keys", "add-env", "p1"], env={"PPRL_MASTER_KEY": key, "PPRL_KEYSTORE": str(ks)})
    assert ok.exit_code == 0, all_text(ok)
    other = base64.b64encode(os.urandom(32)).decode()
    bad = run(["keys", "rotate", "p1", "--keystore", str(ks)], env={"PPRL_MASTER_KEY": other})
    assert bad.exit_code == 2 and "not this keystore's master key" in all_text(bad)
    assert other not in all_text(bad) and key not in all_text(bad)


def test_errors_have_clear_messages_and_exit_codes(tmp_path: Path, keystore: Path) -> None:
    wrong = run(
        ["keys", "add-env", "x", "--keystore", str(keystore)], env={"PPRL_KEY_PASSPHRASE": "not-it"}
    )
    assert wrong.exit_code == 2 and "cannot decrypt" in all_text(wrong)
    missing = run(["keys", "list", "--keystore", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no keystore here" in all_text(missing)
    unknown = run(["keys", "rotate", "nope", "--keystore", str(keystore)])
    assert unknown.exit_code == 2 and "'nope'" in all_text(unknown)
    key_file = str(tmp_path / "m.key")
    again = run(["keys", "init", "--keystore", str(keystore), "--key-file", key_file])
    assert again.exit_code == 2 and "already exists" in all_text(again)
    no_key = run(["keys", "init", "--keystore", str(tmp_path / "ks2")])
    assert no_key.exit_code == 2 and "PPRL_MASTER_KEY" in all_text(no_key)


def test_destroy_asks_for_confirmation_without_yes(keystore: Path) -> None:
    assert run(["keys", "add-env", "research", "--keystore", str(keystore)]).exit_code == 0
    declined = run(["keys", "destroy", "research", "--keystore", str(keystore)], input="n\n")
    assert declined.exit_code != 0
    assert Keystore.open(keystore).environment("research").status == "active"
    accepted = run(["keys", "destroy", "research", "--keystore", str(keystore)], input="y\n")
    assert accepted.exit_code == 0
    assert Keystore.open(keystore).environment("research").status == "destroyed"


@pytest.mark.parametrize(
    "command",
    [
        ["keys"],
        ["keys", "init"],
        ["keys", "add-env"],
        ["keys", "list"],
        ["keys", "rotate"],
        ["keys", "destroy"],
        ["pseudonymise"],
    ],
)
def test_every_command_help_ends_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    body = result.output.split("Options:")[0].rstrip().splitlines()
    starts = [i for i, line in enumerate(body) if line.strip() == "Example:"]
    assert starts, result.output
    example = body[starts[-1] + 1 :]
    # The example is the last thing in the help text, and runs pprl itself.
    assert any(line.strip().startswith("pprl ") for line in example), result.output
    assert all(line.startswith("      ") for line in example), result.output
