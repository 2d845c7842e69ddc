"""Probabilistic and deterministic record linkage (Fellegi-Sunter with EM, on DuckDB)."""

from linkage.errors import LinkageError

__all__ = ["LinkageError"]
