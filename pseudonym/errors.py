"""Exceptions raised by :mod:`pseudonym`.

Every exception derives from :class:`PseudonymError`. Messages never quote identifier values or
key material: they name the field, the row or the key ID instead.
"""

from __future__ import annotations


class PseudonymError(Exception):
    """Base class for every error raised by the pseudonym package."""
