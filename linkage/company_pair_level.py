"""The base of the company-name levels that compare every pairing of legal and trading names
(:class:`CompanyPairLevel`; the levels are in :mod:`linkage.company_names` and
:mod:`linkage.company_word_order`). It builds SQL only."""

from __future__ import annotations

from abc import abstractmethod

from linkage.company_held_names import check_name
from linkage.company_tokens import idf_column, tokens_column, top_column
from linkage.levels import Level
from linkage.sql import Dialect


class CompanyPairLevel(Level):
    """Shared plumbing: a condition on one (left variant, right variant) pair, OR-ed over all
    pairings of legal and trading names. Subclasses declare the dataclass fields."""

    column: str
    trading_column: str | None

    def _check(self) -> None:
        check_name("company level column", self.column)
        if self.trading_column is not None:
            check_name("company level trading_column", self.trading_column)

    def _variants(self) -> tuple[str, ...]:
        return (self.column,) if self.trading_column is None else (self.column, self.trading_column)

    @abstractmethod
    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        """The condition for one pairing of a left and a right name variant."""

    def sql(self, dialect: Dialect) -> str:
        parts = [
            f"coalesce(({self._pair_sql(a, b, dialect)}), FALSE)"
            for a in self._variants()
            for b in self._variants()
        ]
        return "(" + " OR ".join(parts) + ")"

    def columns(self) -> tuple[str, ...]:
        return self._variants()

    def _token_columns(self) -> tuple[str, ...]:
        return tuple(
            c for v in self._variants() for c in (v, tokens_column(v), idf_column(v), top_column(v))
        )

    def _suffix(self) -> str:
        return "" if self.trading_column is None else f" (best of legal/{self.trading_column})"
