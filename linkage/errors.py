"""Exceptions raised by :mod:`linkage`. Messages name columns and settings, never record values."""

from __future__ import annotations


class LinkageError(Exception):
    """Base class for every error raised by the linkage package."""
