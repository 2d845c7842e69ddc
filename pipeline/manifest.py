"""JSON manifests written beside every delivered output.

A manifest says what was made, from what, by which code and keys: file checksums, row counts,
key IDs and versions, settings. It never holds a key or a record value: callers pass counts,
names, checksums and key IDs only, and :func:`write_manifest` refuses byte strings (the usual
way key material slips in).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.atomic import write_text_atomic
from pipeline.errors import DataError
from pseudonym.digests import file_sha256

MANIFEST_FORMAT = "pprl-manifest/1"


def manifest_path_for(output: str | os.PathLike[str]) -> Path:
    """``OUT.manifest.json`` beside ``OUT``."""
    output = Path(output)
    return output.with_name(output.name + ".manifest.json")


def file_entry(path: str | os.PathLike[str]) -> dict[str, object]:
    """Name, size and SHA-256 of a file, for a manifest's ``inputs``/``outputs``."""
    path = Path(path)
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def build_manifest(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest document: a header (format, kind, code version, time) plus ``body``."""
    if not kind:
        raise ValueError("kind must be a non-empty string")
    header = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "pprl_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    clash = set(header) & set(body)
    if clash:
        raise ValueError(f"manifest body may not set header fields: {sorted(clash)}")
    document = {**header, **body}
    _reject_bytes(document, "manifest")
    return document


def write_manifest(
    path: str | os.PathLike[str], kind: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Build a manifest and write it atomically as indented JSON; return the document."""
    document = build_manifest(kind, body)
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=False) + "\n")
    return document


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a manifest written by :func:`write_manifest`."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path}: unreadable manifest") from None
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{path}: not a pprl manifest")
    return document


def _reject_bytes(value: object, where: str) -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{where}: byte strings are not allowed in a manifest")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _reject_bytes(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_bytes(item, f"{where}[{index}]")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise TypeError(f"{where}: {type(value).__name__} is not allowed in a manifest")
