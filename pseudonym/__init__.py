"""Identifier rules, key management and keyed pseudonyms (HMAC-SHA256).

Hashing and key handling live in this package only; pipeline code calls its recipes.
"""

from pseudonym.errors import PseudonymError
from pseudonym.keys import DecryptionError, KeyFileError, MasterKeyError
from pseudonym.keystore import (
    EnvironmentDestroyedError,
    EnvironmentNotFoundError,
    Keystore,
    KeystoreError,
    KeystoreTampered,
    KeystoreUnauthenticated,
    KeyVersionError,
)
from pseudonym.macs import AuthenticationError, RecordAuthenticator
from pseudonym.secret import Secret
from pseudonym.tokens import Pseudonymiser, TokenError

__all__ = [
    "AuthenticationError",
    "DecryptionError",
    "EnvironmentDestroyedError",
    "EnvironmentNotFoundError",
    "KeyFileError",
    "KeyVersionError",
    "Keystore",
    "KeystoreError",
    "KeystoreTampered",
    "KeystoreUnauthenticated",
    "MasterKeyError",
    "PseudonymError",
    "Pseudonymiser",
    "RecordAuthenticator",
    "Secret",
    "TokenError",
]
