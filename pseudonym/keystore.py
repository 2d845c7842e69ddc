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

**Authenticated.** The document carries ``mac``: an HMAC-SHA256 tag over everything else, keyed
by a key derived from the master key (:mod:`pseudonym.macs`). Opening with the master key checks
the tag and then every stored key ID against the key derived from its salt, so an edit (a bit
flipped in a salt, a changed key ID, prefix or active version, a removed version) raises
:class:`KeystoreTampered` and no key is ever derived from it: a tampered keystore gives an error,
never different pseudonyms. Every write needs the master key, to tag the new document.
Without the master key the keystore opens read-only and unverified (``pprl keys list``).

**Older keystores** (written before the tag existed) are refused with
:class:`KeystoreUnauthenticated` until :meth:`Keystore.upgrade` (``pprl keys upgrade``) checks
their key IDs against the master key and adds the tag. The key-ID check catches edited salts
and key IDs; it cannot see a removed version or a changed prefix or active version, so compare
``pprl keys list`` with your records before upgrading. A keystore is never upgraded implicitly:
otherwise stripping the tag would be a way round it.

**Backup and restore.** Back up the keystore directory (``keystore.json`` and ``audit.jsonl``)
whenever it changes, and the master key file separately from both (its passphrase separately
again). To restore, copy the directory back and run ``pprl keys verify``: it checks the tag, the
master key, every key ID, the audit log, and that every key version the audit log recorded is
still in the keystore (an older backup missing a rotation is reported).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pseudonym.keys import (
    MasterKeyError,
    check_name,
    derive_key,
    key_id,
    master_key_id,
    random_salt,
)
from pseudonym.keystore_doc import (
    KEYSTORE_FILE,
    KEYSTORE_FORMAT,
    KEYSTORE_VERSION,
    KeystoreError,
    KeystoreTampered,
    KeystoreUnauthenticated,
    decode_salt,
    read_document,
    untagged,
    version_records,
    write_private_atomic,
)
from pseudonym.macs import ALGORITHM, AUDIT_LOG, KEYSTORE, AuthenticationError, RecordAuthenticator
from pseudonym.secret import Secret

# Purpose used for the per-version key ID shown by ``pprl keys list``; not an identifier type.
ENVIRONMENT_PURPOSE = "environment"
_PREFIX = re.compile(r"^[a-z]{1,8}$")

Status = Literal["active", "retired", "destroyed"]


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
            self._authenticate(master)

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
        keystore = cls(path, data, None)
        keystore._master = master
        keystore._save()
        return keystore

    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, master: Secret | None = None) -> Keystore:
        """Open an existing keystore. With ``master`` it is authenticated (see the module
        docstring) and can derive keys; without, it is a read-only, unverified view."""
        path = Path(directory)
        return cls(path, read_document(path), master)

    @classmethod
    def upgrade(cls, directory: str | os.PathLike[str], *, master: Secret) -> Keystore:
        """Tag a keystore written before tags existed, after checking its key IDs with ``master``.

        A keystore that already has a tag is only authenticated. Raises
        :class:`KeystoreTampered` naming the first key version whose key ID does not match.
        """
        path = Path(directory)
        keystore = cls(path, read_document(path), None)
        if keystore.tagged:
            return cls(path, keystore._data, master)
        keystore._check_master(master)
        keystore._master = master
        keystore.check_key_ids()
        keystore._save()
        return keystore

    def with_master(self, master: Secret) -> Keystore:
        """The same keystore, able to derive keys with ``master``."""
        return Keystore(self.path, self._data, master)

    @property
    def master_key_id(self) -> str:
        return str(self._data["master_key_id"])

    @property
    def tagged(self) -> bool:
        """Whether the document carries an authentication tag (older keystores do not)."""
        return "mac" in self._data

    @property
    def authenticated(self) -> bool:
        """Whether this object was opened with the master key (and so passed every check)."""
        return self._master is not None

    def audit_authenticator(self) -> RecordAuthenticator:
        """The recipe that tags and checks audit-log entries (a key derived from the master)."""
        return RecordAuthenticator(self._require_master(), AUDIT_LOG)

    def check_key_ids(self) -> int:
        """Check every stored key ID against the key derived from its salt; return how many.

        Destroyed versions have no salt and are covered by the tag only.
        """
        master = self._require_master()
        checked = 0
        for environment, number, record in version_records(self._data):
            salt = decode_salt(record.get("salt"))
            if salt is None:
                continue
            derived = derive_key(
                master,
                salt=salt,
                environment=environment,
                purpose=ENVIRONMENT_PURPOSE,
                version=number,
            )
            if not hmac.compare_digest(key_id(derived, number), str(record["key_id"])):
                raise KeystoreTampered(
                    f"{self.path / KEYSTORE_FILE}: environments.{environment}.versions.{number}"
                    ".key_id does not match the key derived from its salt (the keystore was"
                    " changed outside pprl; restore it from a backup)"
                )
            checked += 1
        return checked

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
        try:
            check_name("environment", name)
        except ValueError as exc:
            raise KeystoreError(str(exc)) from None
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
        salt = decode_salt(record.get("salt"))
        if salt is None:
            raise KeyVersionError(
                f"key version {version} of environment {environment!r} was destroyed"
            )
        return salt

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

    def _authenticate(self, master: Secret) -> None:
        file = self.path / KEYSTORE_FILE
        mac = self._data.get("mac")
        if mac is None:
            raise KeystoreUnauthenticated(
                f"{file}: the keystore has no authentication tag (written by an older pprl);"
                f" check it and add one with 'pprl keys upgrade --keystore {self.path}'"
            )
        auth = RecordAuthenticator(master, KEYSTORE)
        if mac.get("algorithm") != ALGORITHM or mac.get("key_id") != auth.key_id:
            raise KeystoreTampered(
                f"{file}: mac: not a tag this master key made (the keystore was changed"
                " outside pprl; restore it from a backup)"
            )
        try:
            auth.verify(untagged(self._data), mac.get("tag"))
        except AuthenticationError:
            raise KeystoreTampered(
                f"{file}: the keystore fails authentication: it was changed outside pprl"
                " (restore it from a backup, then run 'pprl keys verify')"
            ) from None
        self.check_key_ids()

    def _save(self) -> None:
        auth = RecordAuthenticator(self._require_master(), KEYSTORE)
        body = untagged(self._data)
        tag = {"algorithm": ALGORITHM, "key_id": auth.key_id, "tag": auth.tag(body)}
        self._data = {**body, "mac": tag}
        text = json.dumps(self._data, indent=2, sort_keys=True) + "\n"
        write_private_atomic(self.path / KEYSTORE_FILE, text.encode("utf-8"))


def _default_prefix(name: str) -> str:
    letters = "".join(ch for ch in name if "a" <= ch <= "z")[:8]
    return letters or "p"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
