"""Identifier rules, key management and keyed pseudonyms (HMAC-SHA256).

Hashing and key handling live in this package only; pipeline code calls its recipes.
"""

from pseudonym.errors import PseudonymError

__all__ = ["PseudonymError"]
