"""Append-only audit log of who ran what on which data, authenticated with the master key.

Each line is one JSON entry (format ``pprl-audit/2``) holding ``seq``, ``prev`` (the hash of the
entry before), ``hash`` (SHA-256 of the canonical JSON of its other fields), ``key_id`` and
``mac``: an HMAC-SHA256 tag over the same fields with the audit key, derived from the master key
(:class:`pseudonym.macs.RecordAuthenticator`; the module docstring there says why HMAC rather
than signatures). With the key, :meth:`AuditLog.verify` detects an edited, deleted, inserted,
reordered or forged entry, a rewritten chain and an empty file. Truncating the newest entries
leaves a shorter chain whose tags are all valid: that needs a reference kept elsewhere, an
expected head. Manifests record the head (``audit_head``), :func:`check_run_log` checks every
delivered manifest's head is still in the log, and ``pprl audit verify --expect-head H`` /
``--manifest M`` do the same for one head. A keyed append verifies the whole log first, so a
log that does not verify is never extended.

**Older logs** (``pprl-audit/1``: a hash chain without a key) are refused by keyed verification
with :class:`AuditLegacyLog` until ``pprl audit upgrade`` checks their chain and appends an
authenticated ``audit.upgrade`` entry that records how many legacy entries precede it and
their head. From then on the legacy prefix is covered too (its hashes feed the tagged upgrade
entry), and only that prefix may be unkeyed. A log is never upgraded implicitly: otherwise
rewriting a log in the old format would be a way round the key.

**Unkeyed logs**: an :class:`AuditLog` made without an authenticator writes ``pprl-audit/1``
entries (for jobs that hold no master key, such as ``pprl link``) and refuses to append to an
authenticated log; its ``verify`` checks the hash chain only, which finds accidents, not
tampering.

Entries hold file names, checksums, counts, key IDs and settings: never keys or record values.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline import __version__
from pipeline.audit_chain import (
    FORMAT,
    GENESIS,
    LEGACY_FORMAT,
    UPGRADE_ACTION,
    AuditError,
    AuditTampered,
    ChainState,
    check_chain,
    entry_hash,
    parse_lines,
)
from pipeline.errors import EXIT_CONFIG, DataError
from pipeline.locations import refuse_legacy_state
from pseudonym.keystore import Keystore
from pseudonym.macs import RecordAuthenticator

if TYPE_CHECKING:  # the config's module imports disclosure control (scipy): ~0.5 s a command
    from pipeline.config import PipelineConfig

__all__ = [
    "FORMAT",
    "GENESIS",
    "LEGACY_FORMAT",
    "UPGRADE_ACTION",
    "AuditError",
    "AuditKeyRequired",
    "AuditLegacyLog",
    "AuditLog",
    "AuditLogMissing",
    "AuditTampered",
    "VerifyResult",
    "check_against_deliveries",
    "check_run_log",
    "default_actor",
    "head_from_manifest",
    "keystore_log",
    "run_log",
    "run_log_head",
]


EntryT = TypeVar("EntryT", dict[str, Any], dict[str, Any] | None)


class AuditLogMissing(AuditError):
    """The audit log does not exist where one is expected."""

    def __init__(self, path: str, why: str = "audit log not found") -> None:
        self.path, self.why = path, why
        super().__init__(f"{path}: {why}")

    def __reduce__(self) -> tuple[object, ...]:
        return (AuditLogMissing, (self.path, self.why))


class AuditLegacyLog(AuditError):
    """The log is in the unkeyed format of older versions and was never upgraded."""

    def __init__(self, path: str, entries: int) -> None:
        self.path, self.entries = path, entries
        super().__init__(
            f"{path}: written in the unkeyed format {LEGACY_FORMAT} ({entries} entries) and"
            " never authenticated; check it, then run 'pprl audit upgrade' on it"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (AuditLegacyLog, (self.path, self.entries))


class AuditKeyRequired(AuditError):
    """An authenticated log was to be extended or upgraded without the audit key."""

    exit_code = EXIT_CONFIG

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: this audit log is authenticated; writing to it needs the master key"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (AuditKeyRequired, (self.path,))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a successful verification. ``hashes`` holds every entry's hash."""

    entries: int
    head: str
    authenticated: bool
    legacy_entries: int = 0
    hashes: frozenset[str] = frozenset()


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


class AuditLog:
    """An audit log stored as JSON lines at ``path``; pass ``authenticator`` to key it.

        >>> import tempfile, pathlib
        >>> from pseudonym.keys import generate_master_key
        >>> from pseudonym.keystore import Keystore
    from pseudonym.macs import RecordAuthenticator
        >>> key = RecordAuthenticator(generate_master_key(), "audit-log")
        >>> log = AuditLog(pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl", authenticator=key)
        >>> _ = log.append("keys.init", actor="curator@tre", details={"environment": "proj-a"})
        >>> log.verify().entries
        1
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        authenticator: RecordAuthenticator | None = None,
    ) -> None:
        self.path = Path(path)
        self.authenticator = authenticator

    def append(
        self,
        action: str,
        *,
        actor: str | None = None,
        inputs: dict[str, str] | None = None,
        outputs: dict[str, str] | None = None,
        details: dict[str, object] | None = None,
    ) -> dict[str, Any]:
        """Verify the log, append one entry and return it (with its hash and tag).

        ``inputs``/``outputs`` map file names to their SHA-256; ``details`` holds counts, key IDs
        and settings. The append holds an exclusive lock so concurrent writers cannot interleave.
        """
        if not action:
            raise ValueError("action must be a non-empty string")
        fields = {
            "actor": actor or default_actor(),
            "action": action,
            "inputs": dict(inputs or {}),
            "outputs": dict(outputs or {}),
            "details": dict(details or {}),
        }

        def build(state: ChainState) -> dict[str, Any]:
            if self.authenticator is not None and state.entries and not state.keyed:
                raise AuditLegacyLog(str(self.path), state.entries)
            if self.authenticator is None and state.keyed:
                raise AuditKeyRequired(str(self.path))
            return self._new_entry(state, fields)

        return self._transact(build)

    def upgrade(self, *, actor: str | None = None) -> dict[str, Any] | None:
        """Authenticate a log written in the unkeyed format from here on (see the module
        docstring); return the ``audit.upgrade`` entry, or None if the log is keyed already."""
        if self.authenticator is None:
            raise AuditKeyRequired(str(self.path))
        if not self.path.exists():
            raise AuditLogMissing(str(self.path))

        def build(state: ChainState) -> dict[str, Any] | None:
            if state.keyed:
                return None
            details = {
                "legacy_format": LEGACY_FORMAT,
                "legacy_entries": state.entries,
                "legacy_head": state.head,
            }
            fields = {"actor": actor or default_actor(), "action": UPGRADE_ACTION}
            return self._new_entry(
                state, {**fields, "inputs": {}, "outputs": {}, "details": details}
            )

        return self._transact(build)

    def entries(self) -> list[dict[str, Any]]:
        """All entries, oldest first (parsed, not verified)."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as handle:  # decoded line by line: bad bytes are tampering
            return [entry for _, entry in parse_lines(handle)]

    def head(self) -> str:
        """Hash of the newest entry (the genesis value for a missing log). Not verified."""
        entries = self.entries()
        return str(entries[-1]["hash"]) if entries else GENESIS

    def verify(self, *, expect_head: str | Iterable[str] | None = None) -> VerifyResult:
        """Check every entry (its tag too, with an authenticator); raise at the first problem.

        ``expect_head`` (one hash or several) must each be the hash of an entry still in the
        log: a head recorded elsewhere (a manifest) exposes truncation and rewriting.
        """
        if not self.path.exists():
            raise AuditLogMissing(str(self.path))
        with open(self.path, "rb") as handle:  # decoded line by line: bad bytes are tampering
            state = check_chain(parse_lines(handle), self.authenticator)
        if state.entries == 0:
            raise AuditTampered(1, "the log is empty (its entries were removed)")
        if self.authenticator is not None and not state.keyed:
            raise AuditLegacyLog(str(self.path), state.entries)
        expected = [expect_head] if isinstance(expect_head, str) else list(expect_head or [])
        for head in expected:
            if head not in state.hashes:
                raise AuditTampered(
                    state.entries,
                    f"expected head {head[:16]} is not in the log (truncated or rewritten?)",
                )
        return VerifyResult(
            entries=state.entries,
            head=state.head,
            authenticated=self.authenticator is not None,
            legacy_entries=state.legacy_entries,
            hashes=frozenset(state.hashes),
        )

    # --- internals -------------------------------------------------------------------------

    def _new_entry(self, state: ChainState, fields: dict[str, Any]) -> dict[str, Any]:
        keyed = self.authenticator is not None
        entry: dict[str, Any] = {
            "format": FORMAT if keyed else LEGACY_FORMAT,
            "seq": state.entries + 1,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "pprl_version": __version__,
            **fields,
            "prev": state.head,
        }
        if self.authenticator is not None:
            entry["key_id"] = self.authenticator.key_id
            entry["mac"] = self.authenticator.tag(entry)
        entry["hash"] = entry_hash(entry)
        return entry

    def _transact(self, build: Callable[[ChainState], EntryT]) -> EntryT:
        """Verify the log under an exclusive lock, then append what ``build`` makes of its state.

        A new log is written to a temporary file and linked into place, so it is never visible
        empty (an empty log means its entries were removed). If another writer links one first,
        the entry is rebuilt on top of theirs.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                handle = open(self.path, "r+b")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                entry = build(ChainState())
                if entry is None or self._create_with(entry):
                    return entry
                continue
            with handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
                if os.fstat(handle.fileno()).st_nlink == 0:
                    continue  # removed while we waited for the lock
                state = check_chain(parse_lines(handle), self.authenticator)
                if state.entries == 0:
                    raise AuditTampered(1, "the log is empty (its entries were removed)")
                entry = build(state)
                if entry is not None:
                    handle.seek(0, os.SEEK_END)
                    handle.write(_line(entry).encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
                return entry

    def _create_with(self, entry: dict[str, Any]) -> bool:
        """Create the log holding ``entry``; False if another writer created it first."""
        fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(_line(entry))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp_name, self.path)
        except (FileExistsError, FileNotFoundError):  # created by another writer; or our
            return False  # temporary file was cleared away: either way, look again
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        return True


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True) + "\n"


# --- the audit log of a pipeline config's runs -------------------------------------------------

RUN_LOG_FILE = "audit.jsonl"
KEYSTORE_LOG_FILE = "audit.jsonl"
# Manifest fields holding the head of the log when the manifest was written: ``audit_head``
# (pipeline runs), ``audit_head_before_run`` (pseudonymise and business-linkage manifests).
HEAD_FIELDS = ("audit_head", "audit_head_before_run")


def run_log(config: PipelineConfig, authenticator: RecordAuthenticator | None = None) -> AuditLog:
    """The audit log of ``config``'s runs (in its state folder); pass the authenticator to
    append or verify. Refuses while an older version's log is still in the delivery folder
    (:func:`pipeline.locations.refuse_legacy_state`)."""
    refuse_legacy_state(config)
    return AuditLog(config.state_dir / RUN_LOG_FILE, authenticator=authenticator)


def run_log_head(config: PipelineConfig) -> str:
    """The head to record as a manifest's ``audit_head`` (:data:`GENESIS` before the first
    entry). It is not verified here: call :func:`check_run_log` when the run starts."""
    return run_log(config).head()


def check_run_log(config: PipelineConfig, authenticator: RecordAuthenticator) -> VerifyResult:
    """Check the run log before a run starts; raise :class:`AuditError` (exit 3) if it fails.

    The log must verify with the audit key and still hold the head every delivered manifest
    (``<delivery>/run-*/manifest.json``) recorded, which catches truncation, an emptied log and
    a deleted one. A missing log is fine only before the first delivery that recorded a head.
    """
    return check_against_deliveries(run_log(config, authenticator), config.delivery_dir)


def check_against_deliveries(log: AuditLog, delivery_dir: Path) -> VerifyResult:
    """:func:`check_run_log` for a log at any path (one being moved, say)."""
    recorded = recorded_heads(delivery_dir)
    if not log.path.exists():
        if recorded:
            raise AuditLogMissing(
                str(log.path),
                f"audit log not found, but {len(recorded)} deliveries recorded its head",
            )
        return VerifyResult(entries=0, head=GENESIS, authenticated=True)
    result = log.verify()
    for manifest, head in recorded:
        if head not in result.hashes:
            raise AuditTampered(
                result.entries,
                f"the head {manifest} recorded is not in the log (truncated or rewritten?)",
            )
    return result


def keystore_log(keystore: Keystore) -> AuditLog:
    """The keystore's own audit log (``<keystore>/audit.jsonl``), keyed with its audit key."""
    return AuditLog(keystore.path / KEYSTORE_LOG_FILE, authenticator=keystore.audit_authenticator())


def recorded_heads(delivery_dir: Path) -> list[tuple[str, str]]:
    """(manifest, audit head) for every delivered run's manifest that records one."""
    found = []
    for manifest in sorted(delivery_dir.glob("run-*/manifest.json")):
        document = _read_json(manifest)
        if "audit_head" in document:
            found.append((f"{manifest.parent.name}/{manifest.name}", _head_of(manifest, document)))
    return found


def head_from_manifest(path: str | os.PathLike[str]) -> str:
    """The audit head a manifest recorded (``audit_head``, or ``audit_head_before_run``)."""
    path = Path(path)
    document = _read_json(path)
    if not any(name in document for name in HEAD_FIELDS):
        raise DataError(f"{path}: no audit_head field (manifest written before heads were kept?)")
    return _head_of(path, document)


def _head_of(path: Path, document: dict[str, Any]) -> str:
    head = next(document[name] for name in HEAD_FIELDS if name in document)
    if not isinstance(head, str) or len(head) != 64 or head.strip("0123456789abcdef"):
        raise DataError(f"{path}: audit_head: not a 64-character hex hash")
    return head


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path}: unreadable JSON") from None
    if not isinstance(document, dict):
        raise DataError(f"{path}: not a JSON object")
    return document
