"""A bytes wrapper for key material that never shows its value.

``repr``, ``str``, f-strings and ``%`` formatting all give ``Secret('***')``, so a secret passed
to a logger or an exception message by mistake leaks nothing. Pickling raises: secrets must not
cross process boundaries or land in caches by accident; send a key ID and re-derive instead.
"""

from __future__ import annotations

import hmac
from typing import NoReturn

_MASK = "Secret('***')"


class Secret:
    """Key material (bytes) that prints as ``Secret('***')`` and compares in constant time.

    >>> s = Secret(b"0123456789abcdef0123456789abcdef")
    >>> s
    Secret('***')
    >>> f"{s}"
    "Secret('***')"
    >>> len(s)
    32
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes | bytearray):
            raise TypeError("secret value must be bytes")
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The raw bytes. Call only where the key is used, never to log or store it."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        # Hashing a secret would put a value derived from it in dict internals; refuse.
        raise TypeError("Secret is not hashable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret cannot be pickled: pass a key ID and re-derive the key instead")

    def __bool__(self) -> bool:
        return bool(self._value)
