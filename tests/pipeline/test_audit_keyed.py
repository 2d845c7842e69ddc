"""The keyed audit chain: every rewrite without the key is detected; older logs; run-log checks."""

from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

from pipeline.audit import (
    GENESIS,
    AuditKeyRequired,
    AuditLegacyLog,
    AuditLog,
    AuditLogMissing,
    AuditTampered,
    check_run_log,
    head_from_manifest,
    run_log,
    run_log_head,
)
from pipeline.audit_chain import ChainState, entry_hash
from pipeline.cli import exit_code_for
from pipeline.config import PipelineConfig
from pipeline.errors import DataError
from pseudonym.keys import generate_master_key
from pseudonym.macs import AUDIT_LOG, RecordAuthenticator


@pytest.fixture
def key() -> RecordAuthenticator:
    return RecordAuthenticator(generate_master_key(), AUDIT_LOG)


@pytest.fixture
def log(tmp_path: Path, key: RecordAuthenticator) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl", authenticator=key)
    for i in range(4):
        log.append(f"run.{i}", actor="tester", inputs={"in.csv": "ab" * 32}, details={"rows": i})
    return log


def lines(log: AuditLog) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.path.read_text().splitlines()]


def write(log: AuditLog, entries: list[dict[str, Any]]) -> None:
    log.path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))


def rechain(entries: list[dict[str, Any]], key: RecordAuthenticator | None = None) -> None:
    """What an attacker does after an edit: renumber, relink and rehash (retag with ``key``)."""
    prev = GENESIS
    for seq, entry in enumerate(entries, start=1):
        entry.update(seq=seq, prev=prev)
        entry.pop("hash", None)
        if key is not None:
            entry.pop("mac", None)
            entry["key_id"] = key.key_id
            entry["mac"] = key.tag(entry)
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]


def test_a_keyed_log_verifies_and_every_entry_is_tagged(
    log: AuditLog, key: RecordAuthenticator
) -> None:
    result = log.verify()
    assert result.entries == 4 and result.authenticated and result.legacy_entries == 0
    entries = lines(log)
    assert result.head == entries[-1]["hash"] == log.head()
    assert all(e["format"] == "pprl-audit/2" and e["key_id"] == key.key_id for e in entries)
    assert entries[0]["prev"] == GENESIS and entries[1]["prev"] == entries[0]["hash"]
    assert log.path.stat().st_mode & 0o777 == 0o600


def test_edit_is_detected_even_when_rehashed(log: AuditLog) -> None:
    entries = lines(log)
    entries[1]["details"]["rows"] = 99
    write(log, entries)
    with pytest.raises(AuditTampered, match="line 2: entry content does not match its hash"):
        log.verify()
    rechain(entries)  # rehash and relink without the key: the tags give it away
    write(log, entries)
    with pytest.raises(AuditTampered, match="line 2: entry's tag does not match"):
        log.verify()


def test_delete_and_swap_are_detected(log: AuditLog) -> None:
    entries = lines(log)
    write(log, [entries[0], entries[2], entries[3]])
    with pytest.raises(AuditTampered, match="line 2"):
        log.verify()
    write(log, [entries[0], entries[2], entries[1], entries[3]])
    with pytest.raises(AuditTampered, match="line 2"):
        log.verify()
    deleted = [entries[0], entries[2], entries[3]]
    rechain(deleted)
    write(log, deleted)
    with pytest.raises(AuditTampered, match="tag does not match"):
        log.verify()


def test_truncation_is_detected_with_an_expected_head(log: AuditLog) -> None:
    head = log.head()
    write(log, lines(log)[:2])
    assert log.verify().entries == 2  # a shorter chain is still valid on its own...
    with pytest.raises(AuditTampered, match="is not in the log"):
        log.verify(expect_head=head)  # ...but not the head recorded elsewhere
    assert log.verify(expect_head=[GENESIS, lines(log)[0]["hash"]]).entries == 2


def test_empty_file_is_detected(log: AuditLog) -> None:
    log.path.write_text("")
    with pytest.raises(AuditTampered, match="the log is empty"):
        log.verify()
    with pytest.raises(AuditTampered, match="the log is empty"):
        log.append("after", actor="x")
    assert log.path.read_text() == ""


def test_bytes_that_are_not_utf8_are_tampering_not_a_crash(log: AuditLog) -> None:
    good = log.path.read_bytes()
    log.path.write_bytes(good + b'{"seq": 5, "note": "\xff\xfe"}\n')
    for attempt in (log.verify, log.entries, lambda: log.append("x")):
        with pytest.raises(AuditTampered, match="line 5: line is not UTF-8 text"):
            attempt()
    assert log.path.read_bytes().endswith(b'\xff\xfe"}\n')  # never extended


def test_forged_appends_are_detected(log: AuditLog, key: RecordAuthenticator) -> None:
    entries = lines(log)
    forged = {**entries[-1], "seq": 5, "prev": entries[-1]["hash"], "action": "keys.destroy"}
    forged["hash"] = entry_hash(forged)  # keeps the last entry's tag: wrong for this content
    write(log, [*entries, forged])
    with pytest.raises(AuditTampered, match="line 5: entry's tag does not match"):
        log.verify()
    legacy = {k: v for k, v in forged.items() if k not in ("mac", "key_id", "hash")}
    legacy["format"] = "pprl-audit/1"
    legacy["hash"] = entry_hash(legacy)
    write(log, [*entries, legacy])
    with pytest.raises(AuditTampered, match="line 5: unauthenticated entry after"):
        log.verify()
    write(log, entries)
    with pytest.raises(AuditKeyRequired):
        AuditLog(log.path).append("sneaky", actor="x")  # the API refuses it too
    assert lines(log) == entries


def test_full_rewrites_are_detected(log: AuditLog, key: RecordAuthenticator) -> None:
    entries = lines(log)
    entries[0]["actor"] = "someone-else"
    attacker = RecordAuthenticator(generate_master_key(), AUDIT_LOG)
    rechain(entries, attacker)
    write(log, entries)
    with pytest.raises(AuditTampered, match="line 1: entry was authenticated with another"):
        log.verify()
    for entry in entries:  # claim our key ID: the tags still fail
        entry["key_id"] = key.key_id
    write(log, entries)
    with pytest.raises(AuditTampered, match="line 1"):
        log.verify()
    downgraded = [
        {k: v for k, v in e.items() if k not in ("mac", "key_id")} | {"format": "pprl-audit/1"}
        for e in entries
    ]
    rechain(downgraded)  # rewritten in the old unkeyed format
    write(log, downgraded)
    with pytest.raises(AuditLegacyLog, match="pprl audit upgrade"):
        log.verify()
    with pytest.raises(AuditLegacyLog):
        log.append("on top", actor="x")


def test_a_tampered_log_is_never_extended(log: AuditLog) -> None:
    entries = lines(log)
    entries[2]["action"] = "edited"
    write(log, entries)
    before = log.path.read_bytes()
    with pytest.raises(AuditTampered):
        log.append("next", actor="x")
    assert log.path.read_bytes() == before


def test_another_master_key_cannot_verify_or_append(log: AuditLog) -> None:
    other = AuditLog(log.path, authenticator=RecordAuthenticator(generate_master_key(), AUDIT_LOG))
    with pytest.raises(AuditTampered, match="another audit key"):
        other.verify()
    with pytest.raises(AuditTampered):
        other.append("x", actor="x")
    unkeyed = AuditLog(log.path).verify()  # the hash chain alone still checks out
    assert unkeyed.entries == 4 and not unkeyed.authenticated


def legacy_log(path: Path) -> AuditLog:
    old = AuditLog(path)  # no authenticator: the unkeyed pprl-audit/1 format
    for i in range(3):
        old.append(f"old.{i}", actor="tester", details={"n": i})
    return old


def test_older_log_is_refused_until_upgraded_then_covered(
    tmp_path: Path, key: RecordAuthenticator
) -> None:
    old = legacy_log(tmp_path / "audit.jsonl")
    legacy_head = old.head()
    keyed = AuditLog(old.path, authenticator=key)
    with pytest.raises(AuditLegacyLog, match=r"\(3 entries\)"):
        keyed.verify()
    with pytest.raises(AuditKeyRequired):
        old.upgrade()
    upgrade = keyed.upgrade(actor="curator")
    assert upgrade is not None and upgrade["action"] == "audit.upgrade"
    assert upgrade["details"] == {
        "legacy_format": "pprl-audit/1",
        "legacy_entries": 3,
        "legacy_head": legacy_head,
    }
    assert keyed.upgrade() is None  # already keyed: nothing to do
    keyed.append("new", actor="curator")
    result = keyed.verify(expect_head=legacy_head)
    assert (result.entries, result.legacy_entries) == (5, 3)
    # an edit of the legacy prefix, rehashed, no longer meets the tagged upgrade entry
    entries = lines(keyed)
    entries[1]["actor"] = "someone-else"
    prefix = entries[:3]
    rechain(prefix)
    write(keyed, prefix + entries[3:])
    with pytest.raises(AuditTampered, match="line 4: link to the previous entry is broken"):
        keyed.verify()


def test_keyed_entries_must_start_the_log_or_follow_an_upgrade(
    tmp_path: Path, key: RecordAuthenticator
) -> None:
    old = legacy_log(tmp_path / "audit.jsonl")
    keyed = AuditLog(old.path, authenticator=key)
    entries = lines(old)
    state = ChainState(entries=3, head=entries[-1]["hash"])
    fields = {"actor": "x", "action": "not-an-upgrade", "inputs": {}, "outputs": {}, "details": {}}
    write(old, [*entries, keyed._new_entry(state, fields)])
    with pytest.raises(AuditTampered, match="line 4: authenticated entries must start the log"):
        keyed.verify()


def test_concurrent_keyed_appends_and_creation_keep_one_chain(
    tmp_path: Path, key: RecordAuthenticator
) -> None:
    log = AuditLog(tmp_path / "new" / "audit.jsonl", authenticator=key)
    threads = [
        threading.Thread(target=lambda i=i: log.append(f"t{i}", actor="x")) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.verify().entries == 8
    assert sorted(e["action"] for e in log.entries()) == [f"t{i}" for i in range(8)]
    assert not list(log.path.parent.glob(".tmp-*"))


def test_errors_pickle_and_map_to_exit_codes(tmp_path: Path) -> None:
    errors = [
        AuditTampered(3, "broken"),
        AuditLegacyLog("a.jsonl", 2),
        AuditKeyRequired("a.jsonl"),
        AuditLogMissing("a.jsonl"),
    ]
    for error in errors:
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error) and str(clone) == str(error)
    assert [exit_code_for(e) for e in errors] == [3, 3, 2, 3]
    assert all(isinstance(e, DataError) for e in errors)


# --- the run log of a pipeline config ------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "project": "p",
            "environment": "e",
            "sources": [{"name": "a", "path": "a.csv", "columns": {"nhs": "identifier:nhs"}}],
            "keystore": {"path": "ks"},
            "delivery": {"path": "out"},
            "base_dir": tmp_path,
        }
    )


def deliver(config: PipelineConfig, run_id: str, head: str, field: str = "audit_head") -> Path:
    manifest = config.delivery_dir / run_id / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"run_id": run_id, field: head}))
    return manifest


def test_check_run_log_before_any_run(config: PipelineConfig, key: RecordAuthenticator) -> None:
    assert check_run_log(config, key).entries == 0
    assert run_log_head(config) == GENESIS


def test_check_run_log_catches_truncation_and_removal_against_manifests(
    config: PipelineConfig, key: RecordAuthenticator
) -> None:
    log = run_log(config, key)
    log.append("pipeline.run", actor="x")
    deliver(config, "run-1", run_log_head(config))
    log.append("pipeline.run", actor="x")
    deliver(config, "run-2", run_log_head(config))
    assert check_run_log(config, key).entries == 2
    log.path.write_text(log.path.read_text().splitlines(keepends=True)[0])
    with pytest.raises(AuditTampered, match=r"run-2/manifest\.json recorded is not in the log"):
        check_run_log(config, key)
    log.path.unlink()
    with pytest.raises(AuditLogMissing, match="2 deliveries recorded its head"):
        check_run_log(config, key)


def test_check_run_log_refuses_a_tampered_or_legacy_log(
    config: PipelineConfig, key: RecordAuthenticator
) -> None:
    legacy_log(run_log(config).path)
    with pytest.raises(AuditLegacyLog):
        check_run_log(config, key)
    run_log(config, key).upgrade()
    assert check_run_log(config, key).legacy_entries == 3
    path = run_log(config).path
    path.write_text(path.read_text().replace("old.1", "old.X"))
    with pytest.raises(DataError):
        check_run_log(config, key)


def test_head_from_manifest(config: PipelineConfig, tmp_path: Path) -> None:
    head = "ab" * 32
    assert head_from_manifest(deliver(config, "run-1", head)) == head
    older = deliver(config, "run-2", head, field="audit_head_before_run")
    assert head_from_manifest(older) == head
    (tmp_path / "none.json").write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(DataError, match="no audit_head field"):
        head_from_manifest(tmp_path / "none.json")
    with pytest.raises(DataError, match="not a 64-character hex hash"):
        head_from_manifest(deliver(config, "run-3", "XYZ"))
    with pytest.raises(DataError, match="file not found"):
        head_from_manifest(tmp_path / "missing.json")
