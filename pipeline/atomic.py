"""Atomic file writes: write to a temporary file beside the target, fsync, then rename.
Folders assembled elsewhere are put in place the same way (:func:`move_atomic`).

A run killed mid-write leaves either the old file or no file, never a partial one; temporary
files carry a ``.tmp-`` prefix so a rerun can clean them up.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "out.txt").read_text()
    'hello'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync_file(tmp)
        move_atomic(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Atomically replace ``target`` with ``data``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Atomically replace ``target`` with UTF-8 ``text``."""
    write_bytes_atomic(target, text.encode("utf-8"))


def write_with_atomic(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> None:
    """Call ``writer(tmp_path)`` and atomically move the result onto ``target``.

    Suits library writers that take a path, e.g. ``lambda p: df.write_parquet(p)``.
    """
    with atomic_path(target) as tmp:
        writer(tmp)


def move_atomic(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rename a finished file or folder onto ``target`` in one step (same filesystem), and make
    the rename durable: a reader sees all of it or none of it, even after a crash."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    _fsync_dir(target.parent)


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> int:
    """Delete temporary files left by a killed run; return how many were removed."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    removed = 0
    for path in directory.rglob(f"{TMP_PREFIX}*"):
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Directory fsync makes the rename durable; not every platform allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
