"""A run lock (``<delivery>/.pprl/lock``) so two runs never write the same delivery at once.

The lock file holds the owner's pid and host. It is created with ``O_EXCL`` (atomic on local
filesystems). A lock left by a process that no longer exists on this host is stale and is taken
over; a live holder makes the second run fail with :class:`LockHeld` (exit 75: retry later).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

from pipeline.errors import TransientError

logger = logging.getLogger(__name__)


class LockHeld(TransientError):
    """Another live run holds the lock."""

    def __init__(self, path: str, owner: str) -> None:
        self.path = path
        self.owner = owner
        super().__init__(f"{path}: another run holds the lock ({owner}); retry when it finishes")

    def __reduce__(self) -> tuple[object, ...]:
        return (LockHeld, (self.path, self.owner))


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

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "lock"
    >>> with RunLock(p):
    ...     p.exists()
    True
    >>> p.exists()
    False
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._held = False

    def owner(self) -> dict[str, object] | None:
        """The recorded holder (pid, host), or None if unlocked or unreadable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, OSError):
            return None
        return data if isinstance(data, dict) else None

    def is_stale(self) -> bool:
        """True if the lock belongs to a dead process on this host (or is unreadable/empty)."""
        owner = self.owner()
        if owner is None:
            return self.path.exists()
        if owner.get("host") != socket.gethostname():
            return False  # cannot check another machine's processes: assume alive
        pid = owner.get("pid")
        return not isinstance(pid, int) or not _pid_alive(pid)

    def acquire(self) -> None:
        """Take the lock, replacing a stale one; raise :class:`LockHeld` if a live run has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        for _attempt in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.is_stale():
                    logger.warning(
                        "removing stale run lock %s", self.path, extra={"lock": str(self.path)}
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                owner = self.owner() or {}
                raise LockHeld(
                    str(self.path), f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
                ) from None
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            self._held = True
            return
        raise LockHeld(str(self.path), "a run that keeps re-taking it")

    def release(self) -> None:
        """Drop the lock if this object holds it."""
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

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
