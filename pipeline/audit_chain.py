"""Checking an audit log's chain entry by entry (the format is described in :mod:`pipeline.audit`).

Kept apart from the file handling so the rules read in one place: sequence numbers count from
1, each ``prev`` is the hash of the entry before, each ``hash`` matches the entry, keyed entries
(``pprl-audit/2``) carry a valid tag under the expected audit key, unkeyed entries
(``pprl-audit/1``) may only form a prefix that an ``audit.upgrade`` entry closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DataError
from pseudonym.digests import bytes_sha256
from pseudonym.macs import AuthenticationError, RecordAuthenticator, canonical_json

GENESIS = "0" * 64
FORMAT = "pprl-audit/2"
LEGACY_FORMAT = "pprl-audit/1"
UPGRADE_ACTION = "audit.upgrade"


class AuditError(DataError):
    """Base class for audit-log problems (exit 3: the log cannot be trusted)."""


class AuditTampered(AuditError):
    """The chain does not verify: an entry was edited, removed, inserted, reordered or forged."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"audit log fails verification at line {line}: {problem}")

    def __reduce__(self) -> tuple[object, ...]:
        return (AuditTampered, (self.line, self.problem))


@dataclass
class ChainState:
    """What a verified prefix of the log looks like."""

    entries: int = 0
    head: str = GENESIS
    keyed: bool = False
    legacy_entries: int = 0
    hashes: set[str] = field(default_factory=lambda: {GENESIS})


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON without its ``hash`` (the ``mac`` is covered)."""
    return bytes_sha256(canonical_json({k: v for k, v in entry.items() if k != "hash"}))


def parse_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry) for each line (bytes are read as UTF-8); a line that is not a JSON
    object is tampering."""
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            raise AuditTampered(number, "line is not UTF-8 text") from None
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            raise AuditTampered(number, "line is not valid JSON") from None
        if not isinstance(entry, dict):
            raise AuditTampered(number, "line is not a JSON object")
        yield number, entry


def check_chain(
    rows: Iterable[tuple[int, dict[str, Any]]], authenticator: RecordAuthenticator | None
) -> ChainState:
    """Check every entry; raise :class:`AuditTampered` at the first broken one.

    Without an authenticator, tags are not checked (the hash chain only).
    """
    state = ChainState()
    for number, entry in rows:
        if entry.get("seq") != number:
            raise AuditTampered(number, "sequence number out of order")
        if entry.get("prev") != state.head:
            raise AuditTampered(number, "link to the previous entry is broken")
        if not isinstance(entry.get("hash"), str) or entry_hash(entry) != entry["hash"]:
            raise AuditTampered(number, "entry content does not match its hash")
        kind = entry.get("format")
        if kind == LEGACY_FORMAT:
            if state.keyed:
                raise AuditTampered(
                    number, "unauthenticated entry after authenticated ones (forged?)"
                )
            state.legacy_entries += 1
        elif kind == FORMAT:
            if not state.keyed and number > 1:
                _check_upgrade(number, entry, state)
            if authenticator is not None:
                _check_tag(number, entry, authenticator)
            state.keyed = True
        else:
            raise AuditTampered(number, "unknown entry format")
        state.entries, state.head = number, entry["hash"]
        state.hashes.add(entry["hash"])
    return state


def _check_upgrade(number: int, entry: dict[str, Any], state: ChainState) -> None:
    details = entry.get("details")
    if (
        entry.get("action") != UPGRADE_ACTION
        or not isinstance(details, dict)
        or details.get("legacy_entries") != state.entries
        or details.get("legacy_head") != state.head
    ):
        raise AuditTampered(
            number, "authenticated entries must start the log or follow an audit.upgrade entry"
        )


def _check_tag(number: int, entry: dict[str, Any], authenticator: RecordAuthenticator) -> None:
    if entry.get("key_id") != authenticator.key_id:
        raise AuditTampered(
            number,
            "entry was authenticated with another audit key (a different master key, or a"
            " rewritten log)",
        )
    body = {k: v for k, v in entry.items() if k not in ("hash", "mac")}
    try:
        authenticator.verify(body, entry.get("mac"))
    except AuthenticationError:
        raise AuditTampered(
            number, "entry's tag does not match (changed, or written without the audit key)"
        ) from None
