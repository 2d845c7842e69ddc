"""Make a file unreadable for a test, also when the tests run as root (who reads anything)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest


def deny_reading(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Take read permission from ``path``; if this process can still read it (root), make
    opening it fail the way it fails for anyone else: ``PermissionError`` (EACCES)."""
    path.chmod(0)
    if not os.access(path, os.R_OK):
        return
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.resolve() == path.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
