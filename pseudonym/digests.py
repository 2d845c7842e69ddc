"""Unkeyed digests for integrity (file checksums, audit-chain links). Never for pseudonyms.

Kept here so that every use of a hash function in pprl lives in the ``pseudonym`` package.
An unkeyed hash of an identifier is reversible by enumeration; use :mod:`pseudonym.tokens`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(Path(path), "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (config hashes, audit-chain links)."""
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    return hashlib.sha256(data).hexdigest()
