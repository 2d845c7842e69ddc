"""A run lock (``lock`` in the config's state folder): two runs never write one delivery at once.

Taking the lock writes the owner's pid, host, start time and a random token to a temporary file
beside the lock, fsyncs it, then hard-links it to the lock's name. ``os.link`` fails when the
name exists, so a lock appears complete or not at all: no other process can ever see it empty
or half written (creating the file first and writing it afterwards left exactly that window).

Removal is serialised by an ``flock`` on ``<lock>.guard``: whoever removes a lock (a run
releasing its own, a run taking over a stale one, ``pprl unlock``) re-reads it under the guard
and removes it only if it is still the lock it looked at, so a fresh lock is never removed in
place of a stale one. A lock is stale when its owner ran on this host and is gone; it is then
taken over. A lock from another host, or one that cannot be read (an older pprl may still be
writing it), is never removed automatically: :class:`LockHeld` (exit 75) names its host and
age, and ``pprl unlock CONFIG --reason TEXT`` clears it once its run is known to be gone,
recording the reason in the run's audit log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pipeline.atomic import PRIVATE_FILE, private_dir
from pipeline.errors import TransientError

logger = logging.getLogger(__name__)

LOCK_FILE = "lock"
Checkpoint = Callable[[str], None]


class LockHeld(TransientError):
    """Another run holds the lock (or its owner cannot be checked from here)."""

    def __init__(self, path: str, owner: str) -> None:
        self.path = path
        self.owner = owner
        super().__init__(
            f"{path}: another run holds the lock ({owner}); retry when it finishes, or if that"
            " run is gone, clear it with 'pprl unlock CONFIG --reason TEXT'"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (LockHeld, (self.path, self.owner))


@dataclass(frozen=True)
class LockOwner:
    """What a lock file says about its holder. ``readable`` is False for an empty or garbled
    file; ``age_seconds`` counts from the recorded start time, else the file's mtime."""

    pid: int | None
    host: str | None
    started: str | None
    token: str | None
    readable: bool
    age_seconds: float
    raw: bytes = field(repr=False)  # with the inode, identifies this very lock
    inode: int = field(repr=False)

    def describe(self) -> str:
        """``pid 12 on host-a, started 2026-12-04T10:00:00+00:00, 3h 02m ago`` (no values)."""
        age = format_age(self.age_seconds)
        if not self.readable:
            return f"an unreadable lock file, {age} old"
        started = f", started {self.started}" if self.started else ""
        return f"pid {self.pid} on {self.host or '?'}{started}, {age} ago"

    def details(self) -> dict[str, object]:
        """The facts for an audit entry."""
        return {
            "pid": self.pid,
            "host": self.host,
            "started": self.started,
            "readable": self.readable,
            "age_seconds": round(self.age_seconds),
        }


def format_age(seconds: float) -> str:
    """``45s``, ``12m 03s``, ``3h 02m``, ``2d 04h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """Context manager holding ``path`` for the life of a run.

    ``checkpoint`` is called with ``"before-link"``, ``"stale-seen"`` and ``"removing"`` at
    those points of :meth:`acquire`; tests use it to widen race windows deterministically.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "lock"
    >>> with RunLock(p):
    ...     p.exists()
    True
    >>> p.exists()
    False
    """

    def __init__(
        self, path: str | os.PathLike[str], *, checkpoint: Checkpoint | None = None
    ) -> None:
        self.path = Path(path)
        self._checkpoint = checkpoint or (lambda point: None)
        self._token: str | None = None

    def owner(self) -> LockOwner | None:
        """The lock's holder as recorded, or None when there is no lock."""
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                raw = handle.read(4096)
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        readable = isinstance(data, dict) and isinstance(data.get("pid"), int)
        fields = data if readable and isinstance(data, dict) else {}
        started = fields.get("started") if isinstance(fields.get("started"), str) else None
        return LockOwner(
            pid=fields.get("pid"),
            host=fields.get("host") if isinstance(fields.get("host"), str) else None,
            started=started,
            token=fields.get("token") if isinstance(fields.get("token"), str) else None,
            readable=readable,
            age_seconds=_age(started, stat.st_mtime),
            raw=raw,
            inode=stat.st_ino,
        )

    def is_stale(self, owner: LockOwner | None = None) -> bool:
        """True if the lock belongs to a process on this host that no longer runs.

        Another host's lock cannot be checked, and an unreadable one may still be being
        written: neither is ever stale.
        """
        owner = owner or self.owner()
        if owner is None or not owner.readable or owner.host != socket.gethostname():
            return False
        return owner.pid is None or not _pid_alive(owner.pid)

    def acquire(self) -> None:
        """Take the lock, replacing a stale one; raise :class:`LockHeld` if it is held."""
        private_dir(self.path.parent)
        token = secrets.token_hex(16)
        for _attempt in range(3):
            if self._link_candidate(token):
                self._token = token
                return
            owner = self.owner()
            if owner is None:
                continue  # released meanwhile
            if not self.is_stale(owner):
                raise LockHeld(str(self.path), owner.describe())
            self._checkpoint("stale-seen")
            if self._remove_if_unchanged(owner):
                logger.warning(
                    "removing stale run lock %s (%s)",
                    self.path,
                    owner.describe(),
                    extra={"lock": str(self.path)},
                )
        raise LockHeld(str(self.path), "a run that keeps re-taking it")

    def release(self) -> None:
        """Drop the lock if this object holds it and it is still ours."""
        if self._token is None:
            return
        token, self._token = self._token, None
        with self._guard():
            owner = self.owner()
            if owner is not None and owner.token == token:
                self.path.unlink()
                return
        logger.warning(
            "run lock %s was removed or replaced while this run held it (pprl unlock?)",
            self.path,
            extra={"lock": str(self.path)},
        )

    def break_lock(self, expected: LockOwner) -> bool:
        """Remove the lock if it is still the one ``expected`` describes (``pprl unlock``);
        False if it was released or replaced meanwhile."""
        return self._remove_if_unchanged(expected)

    # --- internals -------------------------------------------------------------------------

    def _link_candidate(self, token: str) -> bool:
        """Write the owner record to a temporary file and link it to the lock's name; False
        if the name is taken. A candidate removed before the link (a run clearing temporary
        files) is written again."""
        payload = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "token": token,
        }
        for _attempt in range(3):
            fd, name = tempfile.mkstemp(prefix=f".tmp-{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(payload))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(name, PRIVATE_FILE)  # as the state folder: the run's owner only
                self._checkpoint("before-link")
                os.link(name, self.path)
                return True
            except FileExistsError:
                return False
            except FileNotFoundError:
                continue
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
        raise LockHeld(str(self.path), "its temporary files keep disappearing")

    def _remove_if_unchanged(self, expected: LockOwner) -> bool:
        with self._guard():
            current = self.owner()
            if current is None or (current.inode, current.raw) != (expected.inode, expected.raw):
                return False
            self._checkpoint("removing")
            self.path.unlink()
            return True

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        guard = self.path.with_name(self.path.name + ".guard")
        fd = os.open(guard, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _age(started: str | None, mtime: float) -> float:
    if started is not None:
        with contextlib.suppress(ValueError):
            return time.time() - datetime.fromisoformat(started).timestamp()
    return time.time() - mtime
