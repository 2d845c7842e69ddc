"""Probabilistic and deterministic record linkage (Fellegi-Sunter with EM, on DuckDB).

>>> from linkage import Linker, LinkageSettings, comparisons as cl, blocking
"""

from linkage import blocking, comparisons
from linkage.blocking import BlockingRule, block_across, block_on
from linkage.errors import LinkageError
from linkage.linker import Linker
from linkage.settings import LinkageSettings

__all__ = [
    "BlockingRule",
    "LinkageError",
    "LinkageSettings",
    "Linker",
    "block_across",
    "block_on",
    "blocking",
    "comparisons",
]
