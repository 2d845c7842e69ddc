"""The keystore document on disk: reading it, checking its shape, writing it privately.

A keystore file edited by hand (or by an attacker) must give one clear error naming the field,
not a ``KeyError`` deep inside key derivation. The checks here are structural only; whether the
content is genuine is the tag's job (:mod:`pseudonym.keystore`). Messages name fields, never
values (a salt is key material).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pseudonym.errors import PseudonymError
from pseudonym.keys import check_name

KEYSTORE_FILE = "keystore.json"
KEYSTORE_FORMAT = "pprl-keystore"
KEYSTORE_VERSION = 1
SALT_BYTES = 32
_ENV_STATUS = {"active", "destroyed"}
_VERSION_STATUS = {"active", "retired", "destroyed"}


class KeystoreError(PseudonymError, ValueError):
    """The keystore is missing, malformed, or cannot do what was asked."""


class KeystoreTampered(KeystoreError):
    """The keystore document is malformed or fails authentication: changed outside pprl."""


class KeystoreUnauthenticated(KeystoreError):
    """The keystore has no tag (written by an older pprl): upgrade it before use."""


def read_document(path: Path) -> dict[str, Any]:
    """The parsed, well-formed (not yet authenticated) document of the keystore at ``path``."""
    file = path / KEYSTORE_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(
            f"{path}: no keystore here (create one with 'pprl keys init')"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeystoreError(f"{file}: unreadable keystore file") from None
    if not isinstance(data, dict) or data.get("format") != KEYSTORE_FORMAT:
        raise KeystoreError(f"{file}: not a pprl keystore")
    if data.get("format_version") != KEYSTORE_VERSION:
        raise KeystoreError(f"{file}: unsupported keystore format version")
    problems = check_structure(data)
    if problems:
        raise KeystoreTampered(f"{file}: malformed keystore: {'; '.join(problems)}")
    return data


def untagged(data: dict[str, Any]) -> dict[str, Any]:
    """The document without its ``mac`` field: what the tag covers."""
    return {k: v for k, v in data.items() if k != "mac"}


def check_structure(data: dict[str, Any]) -> list[str]:
    """Field paths of everything malformed in a keystore document (empty when well formed)."""
    problems = [
        f"{field}: missing or not text"
        for field in ("master_key_id", "created")
        if not isinstance(data.get(field), str)
    ]
    if not isinstance(data.get("master_key_file"), str | None):
        problems.append("master_key_file: not text")
    if "mac" in data and not isinstance(data["mac"], dict):
        problems.append("mac: not an object")
    environments = data.get("environments")
    if not isinstance(environments, dict):
        return [*problems, "environments: missing or not an object"]
    for name, env in environments.items():
        try:
            check_name("environment", name)
        except ValueError:
            problems.append("environments: holds an invalid environment name")
            continue
        problems.extend(_check_environment(f"environments.{name}", env))
    return problems


def _check_environment(where: str, env: object) -> list[str]:
    if not isinstance(env, dict):
        return [f"{where}: not an object"]
    problems = []
    if not isinstance(env.get("prefix"), str):
        problems.append(f"{where}.prefix: missing or not text")
    if env.get("status") not in _ENV_STATUS:
        problems.append(f"{where}.status: not one of {', '.join(sorted(_ENV_STATUS))}")
    active = env.get("active_version")
    if active is not None and (not isinstance(active, int) or isinstance(active, bool)):
        problems.append(f"{where}.active_version: not a whole number")
    versions = env.get("versions")
    if not isinstance(versions, dict):
        return [*problems, f"{where}.versions: missing or not an object"]
    for number, record in versions.items():
        problems.extend(_check_version(f"{where}.versions.{number}", number, record))
    if isinstance(active, int) and str(active) not in versions:
        problems.append(f"{where}.active_version: names a version the keystore does not hold")
    return problems


def _check_version(where: str, number: str, record: object) -> list[str]:
    if not number.isdigit() or int(number) < 1:
        return [f"{where}: version numbers are whole numbers from 1"]
    if not isinstance(record, dict):
        return [f"{where}: not an object"]
    problems = []
    if not isinstance(record.get("key_id"), str):
        problems.append(f"{where}.key_id: missing or not text")
    if record.get("status") not in _VERSION_STATUS:
        problems.append(f"{where}.status: not one of {', '.join(sorted(_VERSION_STATUS))}")
    if not isinstance(record.get("created"), str):
        problems.append(f"{where}.created: missing or not text")
    salt = record.get("salt")
    if salt is not None and decode_salt(salt) is None:
        problems.append(f"{where}.salt: not base64 of {SALT_BYTES} bytes")
    return problems


def decode_salt(text: object) -> bytes | None:
    """The salt bytes, or None when ``text`` is not base64 of exactly 32 bytes."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == SALT_BYTES else None


def version_records(data: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(environment, version, record) for every key version of a well-formed document."""
    for name, env in sorted(data["environments"].items()):
        for number, record in sorted(env["versions"].items(), key=lambda kv: int(kv[0])):
            yield name, int(number), record


def write_private_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 temporary file beside ``target``, fsync, rename over it.

    ``pseudonym`` may not import ``pipeline.atomic``, hence this small copy.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        if tmp.exists():
            tmp.unlink()
