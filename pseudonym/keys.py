"""Master keys and key derivation.

Key hierarchy::

    master key (>= 32 random bytes; env PPRL_MASTER_KEY or a passphrase-encrypted key file)
      -> working key = HKDF-SHA256(master, salt=<environment version salt>,
                                   info=b"pprl/v1|" + env + b"|" + purpose + b"|" + version)

The salt is random per (environment, key version) and lives only in the keystore, so deleting it
destroys every key of that environment version even for someone holding the master key.

Keys bound to the master key alone (no environment, no salt to destroy) serve pprl's own
records, one per purpose: ``HKDF-SHA256(master, salt=<none>, info=b"pprl/v1/master|" + purpose)``
(see :func:`derive_master_purpose_key`). Environment names cannot contain ``/``, so this info
string never equals an environment key's.

Key IDs are public fingerprints: ``k<version>-`` + the first 16 hex characters of
``HMAC-SHA256(key, b"pprl key id")``. They leak nothing useful: HMAC-SHA256 is a pseudo-random
function, so its output says nothing about the key to anyone who does not already hold it, and
the keys are 256-bit random values that cannot be searched by brute force. The message
``b"pprl key id"`` has no ``:`` so it can never equal a pseudonym input (``<type>:<value>``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pseudonym.errors import PseudonymError
from pseudonym.secret import Secret

MASTER_KEY_ENV = "PPRL_MASTER_KEY"
PASSPHRASE_ENV = "PPRL_KEY_PASSPHRASE"
MIN_MASTER_KEY_BYTES = 32
KEY_BYTES = 32
KEY_FILE_FORMAT = "pprl-master-key"
KEY_FILE_VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

_INFO_PREFIX = b"pprl/v1|"
_MASTER_INFO_PREFIX = b"pprl/v1/master|"
_KEY_ID_MESSAGE = b"pprl key id"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class MasterKeyError(PseudonymError, ValueError):
    """No usable master key: missing, malformed, too short, or not the keystore's master key."""


class KeyFileError(PseudonymError, ValueError):
    """A master key file is unreadable or not in the expected format."""


class DecryptionError(KeyFileError):
    """A key file cannot be decrypted: wrong passphrase or a corrupted file (deliberately vague)."""


# --- derivation ----------------------------------------------------------------------------


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 section 2.2): the pseudo-random key; empty salt means 32 zeros."""
    if not isinstance(salt, bytes) or not isinstance(ikm, bytes):
        raise TypeError("salt and ikm must be bytes")
    return hmac.digest(salt or bytes(32), ikm, "sha256")


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 section 2.3): ``length`` bytes of output keying material."""
    if not isinstance(prk, bytes) or not isinstance(info, bytes):
        raise TypeError("prk and info must be bytes")
    if not 0 < length <= 255 * 32:
        raise ValueError("length must be between 1 and 8160 bytes")
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        okm += block
    return okm[:length]


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand with ``info`` to ``length`` bytes."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def check_name(kind: str, name: str) -> str:
    """Validate an environment or purpose name: lowercase letters, digits, ``_ . -``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{kind} name must be 1-64 characters of a-z, 0-9, '_', '.', '-' starting with a"
            " letter or digit"
        )
    return name


def derive_key(
    master: Secret, *, salt: bytes, environment: str, purpose: str, version: int
) -> Secret:
    """Working key for (environment, purpose, version); ``purpose`` is usually an ID type."""
    check_name("environment", environment)
    check_name("purpose", purpose)
    if version < 1:
        raise ValueError("key version must be >= 1")
    info = b"|".join([_INFO_PREFIX + environment.encode(), purpose.encode(), str(version).encode()])
    return Secret(hkdf_sha256(master.reveal(), salt=salt, info=info))


def derive_master_purpose_key(master: Secret, purpose: str) -> Secret:
    """A key for one of pprl's own purposes (audit-log MACs, the keystore MAC), from the master
    key alone: it survives the destruction of every environment, and a new master key changes it.
    """
    check_name("purpose", purpose)
    return Secret(
        hkdf_sha256(master.reveal(), salt=b"", info=_MASTER_INFO_PREFIX + purpose.encode())
    )


def fingerprint(key: Secret) -> str:
    """16 hex characters identifying ``key`` without revealing it (see the module docstring)."""
    return hmac.digest(key.reveal(), _KEY_ID_MESSAGE, "sha256").hex()[:16]


def key_id(key: Secret, version: int) -> str:
    """Public key ID such as ``k2-3f9a0c...``: version plus fingerprint."""
    return f"k{version}-{fingerprint(key)}"


def master_key_id(master: Secret) -> str:
    """Public ID of a master key, ``m-`` plus its fingerprint."""
    return f"m-{fingerprint(master)}"


def generate_master_key() -> Secret:
    """A new random 32-byte master key."""
    return Secret(secrets.token_bytes(KEY_BYTES))


def random_salt() -> bytes:
    """A new random 32-byte environment-version salt."""
    return secrets.token_bytes(KEY_BYTES)


# --- master key sources --------------------------------------------------------------------


def master_key_from_env(environ: dict[str, str] | None = None) -> Secret | None:
    """The master key from ``PPRL_MASTER_KEY`` (base64 of >= 32 bytes), or None when unset."""
    env = os.environ if environ is None else environ
    text = env.get(MASTER_KEY_ENV)
    if text is None or not text.strip():
        return None
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{MASTER_KEY_ENV} is not valid base64") from None
    if len(raw) < MIN_MASTER_KEY_BYTES:
        raise MasterKeyError(
            f"{MASTER_KEY_ENV} decodes to {len(raw)} bytes; at least {MIN_MASTER_KEY_BYTES}"
            " random bytes are required"
        )
    return Secret(raw)


def encode_master_key(master: Secret) -> str:
    """Base64 text of a master key, the form ``PPRL_MASTER_KEY`` expects."""
    return base64.b64encode(master.reveal()).decode("ascii")


def write_key_file(path: str | os.PathLike[str], master: Secret, passphrase: Secret) -> str:
    """Encrypt ``master`` with ``passphrase`` (scrypt + AES-256-GCM) into a new file.

    Refuses to overwrite an existing file. Returns the master key ID recorded in the file.
    """
    if not passphrase:
        raise KeyFileError("the passphrase must not be empty")
    path = Path(path)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = {
        "format": KEY_FILE_FORMAT,
        "format_version": KEY_FILE_VERSION,
        "key_id": master_key_id(master),
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
    }
    wrapping = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    # The header is authenticated data: editing the key ID or KDF parameters breaks decryption.
    ciphertext = AESGCM(wrapping.reveal()).encrypt(nonce, master.reveal(), _aad(header))
    document = {**header, "ciphertext": _b64(ciphertext)}
    text = json.dumps(document, indent=2) + "\n"
    if path.exists():
        raise KeyFileError(f"{path.name}: key file already exists; refusing to overwrite")
    # Write a 0600 temporary file, then hard-link it into place: the link fails if the target
    # appeared meanwhile, and a killed run never leaves a half-written key file.
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create key file ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp_name, path)
    except FileExistsError:
        raise KeyFileError(f"{path.name}: key file already exists; refusing to overwrite") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create key file ({exc.strerror})") from None
    finally:
        os.unlink(tmp_name)
    return str(header["key_id"])


def read_key_file(path: str | os.PathLike[str], passphrase: Secret) -> Secret:
    """Decrypt a key file written by :func:`write_key_file`.

    Raises :class:`DecryptionError` ("cannot decrypt") for a wrong passphrase or tampered file,
    and :class:`KeyFileError` for a missing or malformed file.
    """
    path = Path(path)
    document = read_key_file_header(path)
    try:
        kdf, cipher = document["kdf"], document["cipher"]
        salt, nonce = _unb64(kdf["salt"]), _unb64(cipher["nonce"])
        ciphertext = _unb64(document["ciphertext"])
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise KeyFileError(f"{path.name}: malformed key file") from None
    if kdf.get("name") != "scrypt" or cipher.get("name") != "aes-256-gcm":
        raise KeyFileError(f"{path.name}: unsupported key file algorithms")
    if n > 2**20 or r > 32 or p > 16:
        raise KeyFileError(f"{path.name}: scrypt parameters out of the accepted range")
    header = {k: v for k, v in document.items() if k != "ciphertext"}
    wrapping = _scrypt(passphrase, salt, n, r, p)
    try:
        raw = AESGCM(wrapping.reveal()).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        raise DecryptionError(
            f"{path.name}: cannot decrypt key file (wrong passphrase or corrupted file)"
        ) from None
    master = Secret(raw)
    if not hmac.compare_digest(master_key_id(master), str(document.get("key_id"))):
        raise DecryptionError(f"{path.name}: cannot decrypt key file (key ID mismatch)")
    return master


def read_key_file_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The unencrypted part of a key file (format, key ID, KDF parameters)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{path.name}: unreadable key file (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(f"{path.name}: not a pprl master key file")
    if document.get("format_version") != KEY_FILE_VERSION:
        raise KeyFileError(
            f"{path.name}: key file format version {document.get('format_version')!r} is not"
            f" supported (expected {KEY_FILE_VERSION})"
        )
    return document


def _scrypt(passphrase: Secret, salt: bytes, n: int, r: int, p: int) -> Secret:
    return Secret(Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.reveal()))


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text, validate=True)
