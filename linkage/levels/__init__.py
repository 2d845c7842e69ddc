"""Comparison levels: small SQL predicates over a left (``l``) and right (``r``) record.

Each level is a frozen dataclass validated in ``__post_init__``; ``sql(dialect)`` returns a
boolean SQL expression. Levels serialise to plain dicts (``to_dict``/``level_from_dict``) so a
trained model can be saved with the exact comparisons it was trained on.

* :mod:`~linkage.levels.base`: the :class:`Level` base class and the registry;
* :mod:`~linkage.levels.basic`: null, exact, swapped columns, numeric difference, else;
* :mod:`~linkage.levels.strings`: Jaro-Winkler, Jaccard, Levenshtein, Damerau-Levenshtein;
* :mod:`~linkage.levels.derived`: date distance and postcode parts (per-record columns);
* :mod:`~linkage.levels.combinators`: ``And``, ``Or``, ``Not``.
"""

from linkage.levels.base import Level, level_from_dict
from linkage.levels.basic import (
    ColumnsReversedLevel,
    ElseLevel,
    ExactMatchLevel,
    NullLevel,
    NumericAbsDiffLevel,
)
from linkage.levels.combinators import And, Not, Or
from linkage.levels.derived import DateDistanceLevel, DateUnit, PostcodePart, PostcodePartialLevel
from linkage.levels.strings import (
    DamerauLevenshteinLevel,
    JaccardLevel,
    JaroWinklerLevel,
    LevenshteinLevel,
)

__all__ = [
    "And",
    "ColumnsReversedLevel",
    "DamerauLevenshteinLevel",
    "DateDistanceLevel",
    "DateUnit",
    "ElseLevel",
    "ExactMatchLevel",
    "JaccardLevel",
    "JaroWinklerLevel",
    "Level",
    "LevenshteinLevel",
    "Not",
    "NullLevel",
    "NumericAbsDiffLevel",
    "Or",
    "PostcodePart",
    "PostcodePartialLevel",
    "level_from_dict",
]
