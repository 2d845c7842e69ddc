"""Atomic file writes: write to a temporary file beside the target, fsync, then rename.
Folders assembled elsewhere are put in place the same way (:func:`move_atomic`, or
:func:`promote_folder` from another filesystem).

A run killed mid-write leaves either the old file or no file, never a partial one; temporary
files and folders carry a ``.tmp-`` prefix so a rerun can clean them up
(:func:`remove_stale_temporaries`). Files written here are readable by their owner only (0600,
from :func:`tempfile.mkstemp`); :func:`private_dir` makes folders the same (0700).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_PREFIX = ".tmp-"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


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
    ensure_dir(target.parent)
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


def promote_folder(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the finished folder ``source`` at ``target`` so that readers see all of it or none.

    On one filesystem that is one rename. Across filesystems a rename is impossible: the folder
    is copied beside ``target`` under a hidden temporary name (:data:`TMP_PREFIX`, owner-only),
    made durable, then renamed. A process killed during the copy leaves only that hidden
    folder (:func:`hidden_copy`), never ``target``; the next run deletes it. ``source`` is
    removed once ``target`` is in place.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if same_filesystem(source, target.parent):
        move_atomic(source, target)
        return
    hidden = hidden_copy(target)
    shutil.rmtree(hidden, ignore_errors=True)
    hidden.mkdir(mode=PRIVATE_DIR)
    shutil.copytree(source, hidden, copy_function=shutil.copy2, dirs_exist_ok=True)
    os.chmod(hidden, PRIVATE_DIR)  # owner-only until promoted (copytree gave it the source's)
    for path in sorted(hidden.rglob("*")):
        if path.is_file():
            _fsync_file(path)
    _fsync_dir(hidden)
    move_atomic(hidden, target)
    os.chmod(target, stat.S_IMODE(source.stat().st_mode))
    shutil.rmtree(source, ignore_errors=True)


def hidden_copy(target: str | os.PathLike[str]) -> Path:
    """Where :func:`promote_folder` copies a folder across filesystems before renaming it."""
    target = Path(target)
    return target.with_name(f"{TMP_PREFIX}{target.name}")


def same_filesystem(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two existing paths are on one filesystem (so a rename between them works)."""
    return os.stat(first).st_dev == os.stat(second).st_dev


def ensure_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents; inside an owner-only folder (the work and state
    folders) they are owner-only too (:func:`private_dir`), elsewhere the umask decides."""
    path = Path(path)
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if ancestor.is_dir() and stat.S_IMODE(ancestor.stat().st_mode) & 0o077 == 0:
        return private_dir(path) if ancestor != path else path
    path.mkdir(parents=True, exist_ok=True)
    return path


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents readable by their owner only (0700), and make
    an existing ``path`` so: folders holding identifying data or run state use this."""
    path = Path(path)
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> int:
    """Delete temporary files and folders left by a killed run; return how many were removed."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    removed = 0
    for path in sorted(directory.rglob(f"{TMP_PREFIX}*")):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        elif path.is_file():
            with contextlib.suppress(FileNotFoundError):  # inside a folder removed above
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
