"""Authentication of pprl's own records (audit-log entries, the keystore document) with HMAC.

The recipe is :class:`RecordAuthenticator`: HMAC-SHA256 (RFC 2104) over the canonical JSON of a
document, with a key derived from the master key for one purpose (``audit-log`` or
``keystore``; :func:`pseudonym.keys.derive_master_purpose_key`)::

    key = HKDF-SHA256(master, salt=<none>, info=b"pprl/v1/master|" + purpose)
    tag = hex(HMAC-SHA256(key, b"pprl-mac/1|" + purpose + b"|" + canonical_json(document)))

``canonical_json`` sorts keys, uses no whitespace and escapes non-ASCII characters, so equal
documents give equal bytes however they were written. The key ID (``<purpose>-`` plus 16 hex
characters, see :func:`pseudonym.keys.fingerprint`) is stored beside each tag: a tag made under
another master key is reported as such rather than as a bare mismatch.

Why HMAC and not Ed25519 signatures with the public key in the keystore:

* every writer of these records already holds the master key (runs, key administration), so a
  signature's one advantage, checking without the secret, would rest on a public key kept in a
  file the attacker can also rewrite; pinning it elsewhere needs the same trust anchor the
  master key already is;
* HMAC-SHA256 is the primitive the rest of ``pseudonym`` uses and tests against RFC 4231, and
  adds no key material to store, rotate or back up;
* the key depends on the master key only, not on an environment's salts, so logs stay
  verifiable after ``pprl keys destroy``. The cost: verifying needs the master key (an auditor
  without it can check only the unkeyed hash chain, which catches accidents, not tampering).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Final, Literal, NoReturn

from pseudonym.errors import PseudonymError
from pseudonym.keys import derive_master_purpose_key, fingerprint
from pseudonym.secret import Secret

ALGORITHM = "hmac-sha256"
AUDIT_LOG: Final = "audit-log"
KEYSTORE: Final = "keystore"
Purpose = Literal["audit-log", "keystore"]

_MESSAGE_PREFIX = b"pprl-mac/1|"
_TAG = re.compile(r"^[0-9a-f]{64}$")


class AuthenticationError(PseudonymError):
    """A record's tag does not match: it was changed, or made under another master key."""


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed and tagged: sorted keys, no whitespace, ASCII only."""
    if not isinstance(document, Mapping):
        raise TypeError("document must be a mapping")
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


class RecordAuthenticator:
    """Tags and checks documents for one purpose; holds a derived key it never shows.

    >>> from pseudonym.keys import generate_master_key
    >>> auth = RecordAuthenticator(generate_master_key(), "audit-log")
    >>> tag = auth.tag({"seq": 1, "action": "keys.init"})
    >>> auth.verify({"action": "keys.init", "seq": 1}, tag)  # key order does not matter
    >>> auth.verify({"action": "keys.init", "seq": 2}, tag)
    Traceback (most recent call last):
    ...
    pseudonym.macs.AuthenticationError: tag does not match (record changed, or another key)
    """

    __slots__ = ("_key", "key_id", "purpose")

    def __init__(self, master: Secret, purpose: Purpose) -> None:
        if not isinstance(master, Secret):
            raise TypeError("master must be a Secret")
        if purpose not in (AUDIT_LOG, KEYSTORE):
            raise ValueError(f"unknown purpose {purpose!r}")
        self.purpose: str = purpose
        self._key = derive_master_purpose_key(master, purpose)
        self.key_id = f"{purpose}-{fingerprint(self._key)}"

    def tag(self, document: Mapping[str, Any]) -> str:
        """Hex HMAC-SHA256 tag of ``document`` (64 lowercase hex characters)."""
        return hmac.digest(self._key.reveal(), self._message(document), "sha256").hex()

    def verify(self, document: Mapping[str, Any], tag: object) -> None:
        """Raise :class:`AuthenticationError` unless ``tag`` is this key's tag of ``document``.

        The comparison is constant-time; a malformed tag fails the same way as a wrong one.
        """
        expected = self.tag(document)
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise AuthenticationError("tag is missing or malformed")
        if not hmac.compare_digest(expected, tag):
            raise AuthenticationError("tag does not match (record changed, or another key)")

    def _message(self, document: Mapping[str, Any]) -> bytes:
        return _MESSAGE_PREFIX + self.purpose.encode("ascii") + b"|" + canonical_json(document)

    def __repr__(self) -> str:
        return f"RecordAuthenticator(purpose={self.purpose!r}, key_id={self.key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("RecordAuthenticator holds a key and cannot be pickled")
