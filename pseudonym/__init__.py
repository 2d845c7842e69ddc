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
    KeyVersionError,
)
from pseudonym.secret import Secret
from pseudonym.tokens import Pseudonymiser, TokenError

__all__ = [
    "DecryptionError",
    "EnvironmentDestroyedError",
    "EnvironmentNotFoundError",
    "KeyFileError",
    "KeyVersionError",
    "Keystore",
    "KeystoreError",
    "MasterKeyError",
    "PseudonymError",
    "Pseudonymiser",
    "Secret",
    "TokenError",
]
