"""The linkage task every tool is given: which fields to compare and which blocks to score.

Blocking is written once here as a union of equality rules and translated by each runner
(Splink ``block_on``, recordlinkage ``Index.block``, pprl's own settings), so all tools score
the same candidate pairs. ``nhs_number`` is deliberately absent: this is the probabilistic
benchmark, where no shared identifier exists.
"""

from __future__ import annotations

from dataclasses import dataclass

ID_COLUMN = "record_id"

#: Fields each tool compares, in the order they are listed in results.
LINK_FIELDS: tuple[str, ...] = (
    "first_name",
    "surname",
    "dob",
    "postcode",
    "house_number",
    "street",
    "town",
)

#: Columns the shared preparation step derives from ``LINK_FIELDS`` for blocking.
DERIVED_FIELDS: tuple[str, ...] = ("dob_year",)


@dataclass(frozen=True)
class BlockingRule:
    """Records are a candidate pair when every column in ``columns`` is equal and non-null."""

    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [c for c in self.columns if c not in LINK_FIELDS + DERIVED_FIELDS]
        if not self.columns or unknown:
            raise ValueError(f"blocking rule needs known columns; unknown: {unknown}")

    @property
    def name(self) -> str:
        return "+".join(self.columns)

    def sql_condition(self, left: str = "l", right: str = "r") -> str:
        """SQL join condition, e.g. ``l."surname" = r."surname" AND ...`` (nulls never match)."""
        return " AND ".join(f'{left}."{c}" = {right}."{c}"' for c in self.columns)


#: Union of these rules defines the candidate pairs for every tool. A person keeps a match
#: reachable through a move (same names and dob), a surname change (first name + dob) or a
#: typo in a name (postcode), which is what the generator's corruptions do.
BLOCKING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule(("postcode",)),
    BlockingRule(("surname", "dob_year")),
    BlockingRule(("first_name", "dob")),
)

#: Threshold used for the headline precision/recall/F1 of tools without an automatic one.
DEFAULT_THRESHOLD = 0.5

#: Runners write pairs at or above this probability, to keep pairs files small. The best-F1
#: sweep cannot go below it; results flag a best threshold that sits at this floor.
MIN_WRITTEN_PROBABILITY = 1e-4
