"""Company-name level for the same words in another order (:class:`CompanyWordOrderLevel`).

Administrative files swap a name's words ("SON & WEBSTER" for "WEBSTER & SON", "JONES C" for
"C JONES"): the name is then not equal to the register's, and only the token levels of
:class:`~linkage.company_names.CompanyNameComparison`, which also take names that differ in a
common word, would score it. This level sets such pairs apart so that their weight is learnt
on its own. It builds SQL only; it reads the token columns of
:func:`~linkage.company_tokens.add_company_token_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkage.company_pair_level import CompanyPairLevel
from linkage.company_tokens import tokens_column, top_column
from linkage.sql import LEFT, RIGHT, Dialect, col


@dataclass(frozen=True)
class CompanyWordOrderLevel(CompanyPairLevel):
    """The two names have the same tokens (stop words dropped, abbreviations written out: see
    :func:`~linkage.company_tokens.add_company_token_columns`), at least two of them, in
    another order; any pairing of legal and trading names. Placed after the exact levels, it
    takes the names whose words were swapped."""

    column: str
    trading_column: str | None = None

    def __post_init__(self) -> None:
        self._check()

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        a, b = col(LEFT, tokens_column(left)), col(RIGHT, tokens_column(right))
        size, sort = dialect.fn("list_length"), dialect.fn("list_sort")
        # the same token sets have the same rarest token: a cheap gate before sorting
        gate = f"{col(LEFT, top_column(left))} = {col(RIGHT, top_column(right))}"
        same = f"{size}({a}) >= 2 AND {size}({a}) = {size}({b}) AND {sort}({a}) = {sort}({b})"
        return f"CASE WHEN {gate} THEN ({same}) ELSE FALSE END"

    def columns(self) -> tuple[str, ...]:
        return tuple(c for v in self._variants() for c in (tokens_column(v), top_column(v)))

    @property
    def label(self) -> str:
        return f"{self.column} same words in another order{self._suffix()}"
