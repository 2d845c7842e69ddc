from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from pipeline.audit import GENESIS, AuditLog, AuditTampered


def _log_with_entries(tmp_path: Path, n: int = 3) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append(f"run.{i}", actor="tester", inputs={"in.csv": "ab" * 32}, details={"rows": i})
    return log


def _rewrite(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(lines), encoding="utf-8")


def test_chain_verifies_and_links_entries(tmp_path: Path) -> None:
    log = _log_with_entries(tmp_path)
    result = log.verify()
    entries = log.entries()
    assert result.entries == 3 and result.head == entries[-1]["hash"]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"]


def test_edited_entry_is_detected(tmp_path: Path) -> None:
    log = _log_with_entries(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["details"]["rows"] = 99
    lines[1] = json.dumps(entry) + "\n"
    _rewrite(log, lines)
    with pytest.raises(AuditTampered) as info:
        log.verify()
    assert info.value.line == 2


def test_deleted_and_reordered_entries_are_detected(tmp_path: Path) -> None:
    log = _log_with_entries(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    _rewrite(log, [lines[0], lines[2]])
    with pytest.raises(AuditTampered):
        log.verify()
    _rewrite(log, [lines[1], lines[0], lines[2]])
    with pytest.raises(AuditTampered):
        log.verify()


def test_rehashed_forgery_is_caught_by_expected_head(tmp_path: Path) -> None:
    log = _log_with_entries(tmp_path)
    head = log.head()
    lines = log.path.read_text().splitlines(keepends=True)
    _rewrite(log, lines[:2])  # truncation keeps a valid shorter chain...
    assert log.verify().entries == 2
    with pytest.raises(AuditTampered):  # ...but not the head a manifest recorded
        log.verify(expect_head=head)


def test_concurrent_appends_keep_a_valid_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    threads = [
        threading.Thread(target=lambda i=i: log.append(f"t{i}", actor="x")) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.verify().entries == 8
