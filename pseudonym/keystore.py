"""The keystore: environments, their key versions and salts, in one JSON file in a directory.

The keystore holds no key. It holds, per environment and key version, a random 32-byte salt; the
working keys are derived from the master key and that salt (see :mod:`pseudonym.keys`). So:

* rotation adds version N+1 with a fresh salt and makes it active; old versions stay readable;
* destruction deletes the salts of every version of an environment (crypto-shredding: the keys
  can no longer be re-derived, even with the master key) and marks it destroyed, keeping the key
  IDs so the audit trail still resolves.

Deleting a salt from this file does not erase copies in backups or old disk blocks: keep keystore
backups under the same retention rules as the data they protect.

The file (``keystore.json``, mode 0600) is rewritten atomically. Concurrent writers are not
serialised: run key administration from one place at a time.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hmac
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pseudonym.errors import PseudonymError
from pseudonym.keys import (
    MasterKeyError,
    check_name,
    derive_key,
    key_id,
    master_key_id,
    random_salt,
)
from pseudonym.secret import Secret

KEYSTORE_FILE = "keystore.json"
KEYSTORE_FORMAT = "pprl-keystore"
KEYSTORE_VERSION = 1
# Purpose used for the per-version key ID shown by ``pprl keys list``; not an identifier type.
ENVIRONMENT_PURPOSE = "environment"
_PREFIX = re.compile(r"^[a-z]{1,8}$")

Status = Literal["active", "retired", "destroyed"]


class KeystoreError(PseudonymError, ValueError):
    """The keystore is missing, malformed, or cannot do what was asked."""


class EnvironmentNotFoundError(KeystoreError):
    """No environment of that name in the keystore."""


class EnvironmentDestroyedError(KeystoreError):
    """The environment was destroyed: its keys can no longer be derived."""


class KeyVersionError(KeystoreError):
    """The requested key version does not exist or was destroyed."""


@dataclass(frozen=True)
class KeyVersion:
    """Public facts about one key version of an environment (no salt, no key)."""

    environment: str
    version: int
    key_id: str
    status: Status
    created: str
    destroyed: str | None


@dataclass(frozen=True)
class EnvironmentInfo:
    """Public facts about one environment."""

    name: str
    prefix: str
    status: Literal["active", "destroyed"]
    active_version: int | None
    created: str
    destroyed: str | None
    versions: tuple[KeyVersion, ...]


class Keystore:
    """A keystore directory. Open with :meth:`create` or :meth:`open`; pass ``master`` to derive.

    >>> import tempfile
    >>> from pseudonym.keys import generate_master_key
    >>> master = generate_master_key()
    >>> ks = Keystore.create(tempfile.mkdtemp(), master=master)
    >>> ks.add_environment("research").version
    1
    >>> ks.rotate("research").version
    2
    """

    def __init__(self, path: Path, data: dict[str, Any], master: Secret | None) -> None:
        self.path = path
        self._data = data
        self._master = master
        if master is not None:
            self._check_master(master)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: str | os.PathLike[str],
        *,
        master: Secret,
        master_key_file: str | None = None,
    ) -> Keystore:
        """Create a new, empty keystore bound to ``master`` (by its key ID)."""
        path = Path(directory)
        if (path / KEYSTORE_FILE).exists():
            raise KeystoreError(f"{path}: a keystore already exists here")
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.chmod(0o700)
        data: dict[str, Any] = {
            "format": KEYSTORE_FORMAT,
            "format_version": KEYSTORE_VERSION,
            "created": _now(),
            "master_key_id": master_key_id(master),
            "master_key_file": master_key_file,
            "environments": {},
        }
        keystore = cls(path, data, master)
        keystore._save()
        return keystore

    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, master: Secret | None = None) -> Keystore:
        """Open an existing keystore; ``master`` is needed only to derive keys or key IDs."""
        path = Path(directory)
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
        return cls(path, data, master)

    def with_master(self, master: Secret) -> Keystore:
        """The same keystore, able to derive keys with ``master``."""
        return Keystore(self.path, self._data, master)

    @property
    def master_key_id(self) -> str:
        return str(self._data["master_key_id"])

    @property
    def master_key_file(self) -> str | None:
        value = self._data.get("master_key_file")
        return str(value) if value else None

    # --- reading ---------------------------------------------------------------------------

    def environments(self) -> list[EnvironmentInfo]:
        """Every environment, destroyed ones included, sorted by name."""
        return [self.environment(name) for name in sorted(self._data["environments"])]

    def environment(self, name: str) -> EnvironmentInfo:
        """Public facts about one environment."""
        env = self._env(name)
        versions = tuple(
            KeyVersion(
                environment=name,
                version=int(number),
                key_id=str(record["key_id"]),
                status=record["status"],
                created=str(record["created"]),
                destroyed=record.get("destroyed"),
            )
            for number, record in sorted(env["versions"].items(), key=lambda kv: int(kv[0]))
        )
        return EnvironmentInfo(
            name=name,
            prefix=str(env["prefix"]),
            status=env["status"],
            active_version=env.get("active_version"),
            created=str(env["created"]),
            destroyed=env.get("destroyed"),
            versions=versions,
        )

    def active_version(self, environment: str) -> int:
        """The version new pseudonyms use; raises if the environment was destroyed."""
        env = self._env(environment)
        if env["status"] == "destroyed" or env.get("active_version") is None:
            raise EnvironmentDestroyedError(
                f"environment {environment!r} was destroyed; its keys cannot be derived"
            )
        return int(env["active_version"])

    def working_key(
        self, environment: str, purpose: str, *, version: int | None = None
    ) -> tuple[Secret, str]:
        """The derived key and its key ID for (environment, purpose, version or active)."""
        master = self._require_master()
        number = self.active_version(environment) if version is None else version
        salt = self._salt(environment, number)
        key = derive_key(
            master, salt=salt, environment=environment, purpose=purpose, version=number
        )
        return key, key_id(key, number)

    # --- changing --------------------------------------------------------------------------

    def add_environment(self, name: str, *, prefix: str | None = None) -> KeyVersion:
        """Add an environment with key version 1; ``prefix`` starts its pseudonyms."""
        check_name("environment", name)
        if name in self._data["environments"]:
            raise KeystoreError(f"environment {name!r} already exists")
        prefix = _default_prefix(name) if prefix is None else prefix
        if not _PREFIX.match(prefix):
            raise KeystoreError("prefix must be 1-8 lowercase letters a-z")
        data = copy.deepcopy(self._data)
        data["environments"][name] = {
            "prefix": prefix,
            "status": "active",
            "active_version": None,
            "created": _now(),
            "destroyed": None,
            "versions": {},
        }
        return self._add_version(data, name, 1)

    def rotate(self, environment: str) -> KeyVersion:
        """Add key version N+1 and make it active; older versions are kept for reading."""
        current = self.active_version(environment)
        data = copy.deepcopy(self._data)
        data["environments"][environment]["versions"][str(current)]["status"] = "retired"
        return self._add_version(data, environment, current + 1)

    def destroy(self, environment: str) -> EnvironmentInfo:
        """Delete every salt of ``environment`` (crypto-shredding) and mark it destroyed."""
        env = self._env(environment)
        if env["status"] == "destroyed":
            raise EnvironmentDestroyedError(f"environment {environment!r} is already destroyed")
        when = _now()
        data = copy.deepcopy(self._data)
        target = data["environments"][environment]
        for record in target["versions"].values():
            record["salt"] = None
            record["status"] = "destroyed"
            record["destroyed"] = when
        target.update(status="destroyed", active_version=None, destroyed=when)
        self._data = data
        self._save()
        return self.environment(environment)

    # --- internals -------------------------------------------------------------------------

    def _add_version(self, data: dict[str, Any], environment: str, number: int) -> KeyVersion:
        master = self._require_master()
        salt = random_salt()
        key = derive_key(
            master, salt=salt, environment=environment, purpose=ENVIRONMENT_PURPOSE, version=number
        )
        env = data["environments"][environment]
        env["versions"][str(number)] = {
            "salt": base64.b64encode(salt).decode("ascii"),
            "key_id": key_id(key, number),
            "status": "active",
            "created": _now(),
            "destroyed": None,
        }
        env["active_version"] = number
        self._data = data
        self._save()
        return next(v for v in self.environment(environment).versions if v.version == number)

    def _env(self, name: str) -> dict[str, Any]:
        env = self._data["environments"].get(name)
        if env is None:
            raise EnvironmentNotFoundError(
                f"no environment {name!r} in keystore {self.path} (add it with 'pprl keys add-env')"
            )
        return dict(env)

    def _salt(self, environment: str, version: int) -> bytes:
        env = self._env(environment)
        if env["status"] == "destroyed":
            raise EnvironmentDestroyedError(
                f"environment {environment!r} was destroyed; its keys cannot be derived"
            )
        record = env["versions"].get(str(version))
        if record is None:
            raise KeyVersionError(f"environment {environment!r} has no key version {version}")
        if record.get("salt") is None:
            raise KeyVersionError(
                f"key version {version} of environment {environment!r} was destroyed"
            )
        return base64.b64decode(record["salt"])

    def _require_master(self) -> Secret:
        if self._master is None:
            raise MasterKeyError(
                "this operation needs the master key: set PPRL_MASTER_KEY or use the key file"
            )
        return self._master

    def _check_master(self, master: Secret) -> None:
        if not hmac.compare_digest(master_key_id(master), self.master_key_id):
            raise MasterKeyError(
                f"the master key given is not this keystore's master key ({self.master_key_id})"
            )

    def _save(self) -> None:
        text = json.dumps(self._data, indent=2, sort_keys=True) + "\n"
        write_private_atomic(self.path / KEYSTORE_FILE, text.encode("utf-8"))


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


def _default_prefix(name: str) -> str:
    letters = "".join(ch for ch in name if "a" <= ch <= "z")[:8]
    return letters or "p"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
