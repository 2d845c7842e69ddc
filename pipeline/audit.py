"""Append-only, tamper-evident audit log of who ran what on which data.

Each line of the log is one JSON object. Every entry records the hash of the entry before it
(``prev``) and its own hash (``hash``) over a canonical encoding of all its other fields, so
editing, deleting, inserting or reordering any entry breaks the chain from that point on.
Truncating the newest entries leaves a valid but shorter chain: manifests record the head hash
at the time they were written, and :meth:`AuditLog.verify` accepts ``expect_head`` to check
that a known entry is still present.

Entries hold file names, checksums, counts, key IDs and settings: never keys or record values.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import DataError, PipelineError
from pseudonym.digests import bytes_sha256

GENESIS = "0" * 64
FORMAT = "pprl-audit/1"


class AuditError(PipelineError):
    """Base class for audit-log problems."""

    exit_code = 3


class AuditTampered(AuditError):
    """The audit chain does not verify: an entry was edited, removed, inserted or reordered."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"audit log fails verification at line {line}: {problem}")

    def __reduce__(self) -> tuple[object, ...]:
        return (AuditTampered, (self.line, self.problem))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a successful verification."""

    entries: int
    head: str


def default_actor() -> str:
    """Who is running: ``PPRL_ACTOR`` if set (schedulers set it), else user@host."""
    actor = os.environ.get("PPRL_ACTOR")
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return bytes_sha256(canonical.encode("ascii"))


class AuditLog:
    """An audit log stored as JSON lines at ``path``.

    >>> import tempfile, pathlib
    >>> log = AuditLog(pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl")
    >>> _ = log.append("keys.init", actor="curator@tre", details={"environment": "proj-a"})
    >>> log.verify().entries
    1
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(
        self,
        action: str,
        *,
        actor: str | None = None,
        inputs: dict[str, str] | None = None,
        outputs: dict[str, str] | None = None,
        details: dict[str, object] | None = None,
    ) -> dict[str, Any]:
        """Append one entry and return it (including its hash).

        ``inputs``/``outputs`` map file names to their SHA-256; ``details`` holds counts, key IDs
        and settings. The append holds an exclusive lock so concurrent writers cannot interleave.
        """
        if not action:
            raise ValueError("action must be a non-empty string")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked() as handle:
            handle.seek(0)
            prev, seq = GENESIS, 0
            for seq, line in enumerate(handle, start=1):  # noqa: B007 - seq used after loop
                prev = json.loads(line)["hash"]
            entry: dict[str, Any] = {
                "format": FORMAT,
                "seq": seq + 1,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "actor": actor or default_actor(),
                "action": action,
                "pprl_version": __version__,
                "inputs": dict(inputs or {}),
                "outputs": dict(outputs or {}),
                "details": dict(details or {}),
                "prev": prev,
            }
            entry["hash"] = _entry_hash(entry)
            handle.seek(0, os.SEEK_END)
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """All entries, oldest first (no verification)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def head(self) -> str:
        """Hash of the newest entry (the genesis value for an empty log)."""
        entries = self.entries()
        return entries[-1]["hash"] if entries else GENESIS

    def verify(self, *, expect_head: str | None = None) -> VerifyResult:
        """Check every link of the chain; raise :class:`AuditTampered` at the first broken one.

        With ``expect_head``, also require that an entry with that hash is in the chain, which
        detects truncation back past a hash recorded elsewhere (e.g. in a manifest).
        """
        if not self.path.exists():
            raise DataError(f"{self.path}: audit log not found")
        prev, seen = GENESIS, False
        count = 0
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    raise AuditTampered(number, "line is not valid JSON") from None
                if not isinstance(entry, dict) or "hash" not in entry:
                    raise AuditTampered(number, "entry has no hash")
                if entry.get("seq") != number:
                    raise AuditTampered(number, "sequence number out of order")
                if entry.get("prev") != prev:
                    raise AuditTampered(number, "link to the previous entry is broken")
                if _entry_hash(entry) != entry["hash"]:
                    raise AuditTampered(number, "entry content does not match its hash")
                prev = entry["hash"]
                seen = seen or prev == expect_head
                count = number
        if expect_head is not None and expect_head != GENESIS and not seen:
            raise AuditTampered(count, "expected head entry is missing (log truncated?)")
        return VerifyResult(entries=count, head=prev)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
