"""`pprl keys verify|upgrade` (backup and restore) and `pprl audit verify|upgrade` options."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.cli import cli
from pseudonym.keys import MasterKeyError
from pseudonym.keystore import KEYSTORE_FILE, Keystore
from pseudonym.secret import Secret
from pseudonym.tokens import Pseudonymiser

MASTER = base64.b64encode(os.urandom(32)).decode()
NHS = pl.Series(["9434765919", "4010232137"])


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    base = {"PPRL_MASTER_KEY": MASTER, "PPRL_KEY_PASSPHRASE": "", "PPRL_KEYSTORE": ""}
    return CliRunner().invoke(cli, args, env={**base, **(env or {})})


def ok(args: list[str], env: dict[str, str] | None = None) -> Result:
    result = run(args, env)
    assert result.exit_code == 0, (args, result.output)
    return result


@pytest.fixture
def ks(tmp_path: Path) -> Path:
    ks = tmp_path / "ks"
    ok(["keys", "init", "--keystore", str(ks)])
    ok(["keys", "add-env", "research", "--keystore", str(ks)])
    return ks


def pseudonyms(ks: Path) -> list[str]:
    store = Keystore.open(ks, master=Secret(base64.b64decode(MASTER)))
    return Pseudonymiser.from_keystore(store, "research").pseudonymise("nhs", NHS).to_list()


def flip_salt(ks: Path) -> None:
    data = json.loads((ks / KEYSTORE_FILE).read_text())
    record = data["environments"]["research"]["versions"]["1"]
    salt = bytearray(base64.b64decode(record["salt"]))
    salt[0] ^= 0x80
    record["salt"] = base64.b64encode(bytes(salt)).decode()
    (ks / KEYSTORE_FILE).write_text(json.dumps(data))


def test_keys_verify_passes_on_a_good_keystore_and_names_no_secret(ks: Path) -> None:
    result = ok(["keys", "verify", "--keystore", str(ks)])
    assert result.output.startswith("ok: keystore") and "1 key IDs" in result.output
    assert "audit log 2 entries" in result.output and MASTER not in result.output


def test_an_edited_keystore_fails_every_key_command_with_exit_2(ks: Path) -> None:
    flip_salt(ks)
    for args in (["verify"], ["rotate", "research"], ["add-env", "other"]):
        result = run(["keys", *args, "--keystore", str(ks)])
        assert result.exit_code == 2, (args, result.output)
        assert "changed outside pprl" in result.output and "Traceback" not in result.output
    assert "research" in ok(["keys", "list", "--keystore", str(ks)]).output  # unverified view


def test_backup_and_restore(ks: Path, tmp_path: Path) -> None:
    """The documented procedure: copy the keystore folder; after restoring, `keys verify`."""
    expected = pseudonyms(ks)
    backup = tmp_path / "backup"
    shutil.copytree(ks, backup)
    ok(["keys", "rotate", "research", "--keystore", str(ks)])
    # losing the keystore and restoring the whole folder from backup works...
    shutil.rmtree(ks)
    shutil.copytree(backup, ks)
    ok(["keys", "verify", "--keystore", str(ks)])
    assert pseudonyms(ks) == expected
    # ...a keystore file older than its audit log (a rotation missing) is reported...
    ok(["keys", "rotate", "research", "--keystore", str(ks)])
    shutil.copy(backup / KEYSTORE_FILE, ks / KEYSTORE_FILE)
    stale = run(["keys", "verify", "--keystore", str(ks)])
    assert stale.exit_code == 2 and "key version 2 of environment research" in stale.output
    assert "older backup" in stale.output
    # ...and so is a damaged backup.
    shutil.copytree(backup, tmp_path / "damaged")
    flip_salt(tmp_path / "damaged")
    damaged = run(["keys", "verify", "--keystore", str(tmp_path / "damaged")])
    assert damaged.exit_code == 2 and "restore it from a backup" in damaged.output


def make_older(ks: Path) -> None:
    """What pprl wrote before tags: keystore.json without ``mac``, an unkeyed audit log."""
    data = json.loads((ks / KEYSTORE_FILE).read_text())
    del data["mac"]
    (ks / KEYSTORE_FILE).write_text(json.dumps(data))
    entries = AuditLog(ks / "audit.jsonl").entries()
    (ks / "audit.jsonl").unlink()
    old = AuditLog(ks / "audit.jsonl")
    for entry in entries:
        old.append(entry["action"], actor="old", details=entry["details"])


def test_older_keystore_is_refused_then_upgraded(ks: Path) -> None:
    expected = pseudonyms(ks)
    make_older(ks)
    refused = run(["keys", "rotate", "research", "--keystore", str(ks)])
    assert refused.exit_code == 2 and "pprl keys upgrade" in refused.output
    upgraded = ok(["keys", "upgrade", "--keystore", str(ks)])
    assert "now authenticated" in upgraded.output
    assert pseudonyms(ks) == expected
    verified = ok(["keys", "verify", "--keystore", str(ks)])
    assert "audit log 4 entries" in verified.output  # 2 old + audit.upgrade + keys.upgrade
    actions = [e["action"] for e in AuditLog(ks / "audit.jsonl").entries()]
    assert actions[2:] == ["audit.upgrade", "keys.upgrade"]
    assert "nothing to do" in ok(["keys", "upgrade", "--keystore", str(ks)]).output


def test_audit_verify_of_a_keystore_log_with_heads_and_manifests(ks: Path, tmp_path: Path) -> None:
    log = str(ks / "audit.jsonl")
    head = AuditLog(log).head()
    ok(["keys", "rotate", "research", "--keystore", str(ks)])
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"audit_head_before_run": head}))
    result = ok(["audit", "verify", log, "--expect-head", head, "--manifest", str(manifest)])
    assert result.output.startswith("ok: 3 entries") and "(authenticated)" in result.output
    lines = Path(log).read_text().splitlines(keepends=True)
    Path(log).write_text("".join(lines[:1]))  # truncated back past the recorded head
    assert run(["audit", "verify", log]).exit_code == 0  # alone, a shorter chain looks fine
    for extra in (["--expect-head", head], ["--manifest", str(manifest)]):
        result = run(["audit", "verify", log, *extra])
        assert result.exit_code == 3 and "is not in the log" in result.output
    malformed = run(["audit", "verify", log, "--expect-head", head[:20]])
    assert malformed.exit_code == 2 and "--expect-head: give the 64-character" in malformed.output


def test_audit_verify_needs_the_key_or_unkeyed(ks: Path, tmp_path: Path) -> None:
    log = tmp_path / "elsewhere.jsonl"
    shutil.copy(ks / "audit.jsonl", log)
    no_key = run(["audit", "verify", str(log)], env={"PPRL_MASTER_KEY": ""})
    assert no_key.exit_code == 2 and "--unkeyed" in no_key.output
    chain = ok(["audit", "verify", str(log), "--unkeyed"], env={"PPRL_MASTER_KEY": ""})
    assert "hash chain only, not authenticated" in chain.output
    other = base64.b64encode(os.urandom(32)).decode()
    wrong = run(["audit", "verify", str(log)], env={"PPRL_MASTER_KEY": other})
    assert wrong.exit_code == 3 and "another audit key" in wrong.output
    ok(["audit", "verify", str(log), "--keystore", str(ks)])


def test_audit_upgrade_of_an_older_log_file(tmp_path: Path) -> None:
    log = tmp_path / "old.jsonl"
    AuditLog(log).append("pseudonymise", actor="old", details={"rows": 3})
    refused = run(["audit", "verify", str(log)])
    assert refused.exit_code == 3 and "pprl audit upgrade" in refused.output
    upgraded = ok(["audit", "upgrade", str(log)])
    assert "1 older entries checked" in upgraded.output
    assert "1 from before the upgrade" in ok(["audit", "verify", str(log)]).output
    assert "nothing to do" in ok(["audit", "upgrade", str(log)]).output
    listing = ok(["audit", "list", str(log)]).output.splitlines()
    assert [line.split()[-1] for line in listing] == ["pseudonymise", "audit.upgrade"]


def test_audit_log_given_a_directory_reuses_the_keystore_opened_there(
    ks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pseudonymise and link-register open the keystore (maybe with --key-file) and then pass
    its directory to audit_log: no second master-key lookup may be needed."""
    from pipeline.commands.keys import audit_log, open_keystore

    monkeypatch.setenv("PPRL_MASTER_KEY", MASTER)
    opened = open_keystore(ks, None)
    monkeypatch.setenv("PPRL_MASTER_KEY", "")  # a second lookup would now fail
    log = audit_log(ks)
    assert log.authenticator is not None
    assert log.authenticator.key_id == opened.audit_authenticator().key_id
    other = tmp_path / "other"
    shutil.copytree(ks, other)
    with pytest.raises(MasterKeyError, match="no master key"):
        audit_log(other)  # not the keystore opened: the master key is looked up again
