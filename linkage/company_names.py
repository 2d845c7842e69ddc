"""Company-name comparison weighted by token rarity, with trading names ("best of legal/trading").

Names are first standardised (legal forms stripped, so "LIMITED" vs "LTD" or a dropped suffix
cannot break a match: :func:`linkage.standardise.normalise_company_name`, or the core of
:func:`linkage.standardise.companies.with_company_name_parts`, which keeps the distinguishing
words HOLDINGS, GROUP, UK... apart for :class:`CompanyWordsComparison`). Each name is then
split into tokens, and every token gets an inverse document frequency (idf = ln(N / n), n the
records containing it, N all records of every input): agreeing on "ZYTRONIX" says far more than
agreeing on "SERVICES". :func:`~linkage.company_tokens.add_company_token_columns` adds, for a
standardised column ``c``, its tokens (``c_tokens``), their idf (``c_idf``), the rarest token
(``c_top``) and, as a blocking key, the rarest token another record holds (``c_rarest``, null
when even it is common).

The token levels first check a cheap necessary condition on ``c_top`` (native string
comparisons), and run the list lambdas only for pairs that pass it: random pairs, almost all of
which fail, then cost about as much as an exact comparison.

The levels below read those columns and, when ``trading_column`` is set, compare every pairing
of legal and trading names and take the best. They build SQL only; the list functions and
lambdas they need come from the dialect (:class:`~linkage.sql.Dialect`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from linkage.company_held_names import (
    CompanyNameHeldOnceLevel,
    CompanyNameNearHeldOnceLevel,
    CompanyTradingHeldOnceLevel,
)
from linkage.company_pair_level import CompanyPairLevel
from linkage.company_tokens import (
    TOKEN_VARIANTS,
    add_company_token_columns,
    idf_column,
    rarest_column,
    tokens_column,
    top_column,
)
from linkage.company_word_order import CompanyWordOrderLevel
from linkage.comparisons import Comparison
from linkage.errors import SettingsError
from linkage.levels import ElseLevel, Level, NullLevel
from linkage.sql import LEFT, RIGHT, Dialect, col

__all__ = [
    "TOKEN_VARIANTS",
    "CompanyNameComparison",
    "CompanyNameExactLevel",
    "CompanyNameHeldOnceLevel",
    "CompanyNameJaroWinklerLevel",
    "CompanyNameNearHeldOnceLevel",
    "CompanyRareTokensLevel",
    "CompanyTokenOverlapLevel",
    "CompanyTradingHeldOnceLevel",
    "CompanyWordOrderLevel",
    "CompanyWordsComparison",
    "CompanyWordsLevel",
    "add_company_token_columns",
    "idf_column",
    "rarest_column",
    "tokens_column",
    "top_column",
]


@dataclass(frozen=True)
class CompanyNameExactLevel(CompanyPairLevel):
    """Standardised names are equal (any pairing of legal/trading names).

    With ``term_frequency`` (legal names only: no ``trading_column``) the weight is scaled by
    how rare the name is (the engine's term-frequency adjustment on ``column``). A match
    through a trading name is a level of its own: the legal name's frequency says nothing of
    it.
    """

    column: str
    trading_column: str | None = None
    term_frequency: bool = False

    def __post_init__(self) -> None:
        self._check()
        if self.term_frequency and self.trading_column is not None:
            raise SettingsError(
                "CompanyNameExactLevel: term_frequency applies to legal names only; use a "
                "second level for matches through a trading name"
            )

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        return f"{col(LEFT, left)} = {col(RIGHT, right)}"

    @property
    def label(self) -> str:
        return f"{self.column} exact{self._suffix()}"

    @property
    def tf_column(self) -> str | None:
        return self.column if self.term_frequency else None


@dataclass(frozen=True)
class CompanyRareTokensLevel(CompanyPairLevel):
    """Both names have at least one rare token (idf >= ``min_idf``) and the same set of them.

    Common words ("SERVICES", "UK") may differ or be dropped; the words that identify the
    company may not.
    """

    column: str
    min_idf: float = math.log(1000.0)
    trading_column: str | None = None

    def __post_init__(self) -> None:
        self._check()
        if not isinstance(self.min_idf, int | float) or self.min_idf < 0:
            raise SettingsError("CompanyRareTokensLevel min_idf must be a number >= 0")

    def _rare(self, alias: str, column: str, dialect: Dialect) -> str:
        tokens, idf = col(alias, tokens_column(column)), col(alias, idf_column(column))
        min_idf = float(self.min_idf)
        rare = dialect.filter_positions(
            tokens, lambda i: f"{dialect.element(idf, i)} >= {min_idf!r}"
        )
        return f"{dialect.fn('list_sort')}({rare})"

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        # Equal non-empty rare sets have the same rarest token, so unequal tops rule it out.
        rare_l, rare_r = self._rare(LEFT, left, dialect), self._rare(RIGHT, right, dialect)
        gate = f"{col(LEFT, top_column(left))} = {col(RIGHT, top_column(right))}"
        size = dialect.fn("list_length")
        return (
            f"CASE WHEN {gate} THEN ({size}({rare_l}) > 0 AND {rare_l} = {rare_r}) ELSE FALSE END"
        )

    def columns(self) -> tuple[str, ...]:
        return self._token_columns()

    @property
    def label(self) -> str:
        return f"{self.column} same rare tokens (idf >= {self.min_idf:.2f}){self._suffix()}"


def _overlap(l_tokens: str, l_idf: str, r_tokens: str, r_idf: str, dialect: Dialect) -> str:
    total_of, contains = dialect.fn("list_sum"), dialect.fn("list_contains")
    weights = dialect.filter_positions(
        l_idf, lambda i: f"{contains}({r_tokens}, {dialect.element(l_tokens, i)})"
    )
    shared = f"coalesce({total_of}({weights}), 0.0)"
    total = f"(coalesce({total_of}({l_idf}), 0.0) + coalesce({total_of}({r_idf}), 0.0) - {shared})"
    return f"CASE WHEN {total} > 0 THEN CAST({shared} AS DOUBLE) / {total} ELSE 0.0 END"


def _min_shared_tokens(threshold: float) -> int:
    """Fewest shared tokens for a weighted overlap >= ``threshold`` when neither name's rarest
    token (weights a, b) is shared: shared weight S >= t(S + a + b), each shared token weighs at
    most min(a, b), so at least 2t / (1 - t) tokens are shared."""
    if threshold >= 1.0:
        return 1 << 30
    return max(1, math.ceil(2 * threshold / (1 - threshold) - 1e-9))


@dataclass(frozen=True)
class CompanyTokenOverlapLevel(CompanyPairLevel):
    """Rarity-weighted token overlap >= ``threshold``: the idf of the tokens both names share
    divided by the idf of all their tokens (weighted Jaccard; 1.0 = same tokens)."""

    column: str
    threshold: float = 0.7
    trading_column: str | None = None

    def __post_init__(self) -> None:
        self._check()
        if not isinstance(self.threshold, int | float) or not 0.0 < self.threshold <= 1.0:
            raise SettingsError("CompanyTokenOverlapLevel threshold must be in (0, 1]")

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        l_tokens, r_tokens = col(LEFT, tokens_column(left)), col(RIGHT, tokens_column(right))
        l_top, r_top = col(LEFT, top_column(left)), col(RIGHT, top_column(right))
        score = _overlap(
            l_tokens, col(LEFT, idf_column(left)), r_tokens, col(RIGHT, idf_column(right)), dialect
        )
        # Gate (exact, see _min_shared_tokens): overlap >= t needs a shared rarest token unless
        # both names have at least k tokens.
        k = _min_shared_tokens(float(self.threshold))
        size, contains = dialect.fn("list_length"), dialect.fn("list_contains")
        gate = (
            f"least({size}({l_tokens}), {size}({r_tokens})) >= {k} OR {l_top} = {r_top} "
            f"OR {contains}({r_tokens}, {l_top}) OR {contains}({l_tokens}, {r_top})"
        )
        return f"CASE WHEN {gate} THEN ({score}) >= {float(self.threshold)!r} ELSE FALSE END"

    def columns(self) -> tuple[str, ...]:
        return self._token_columns()

    @property
    def label(self) -> str:
        return f"{self.column} weighted token overlap >= {self.threshold}{self._suffix()}"


@dataclass(frozen=True)
class CompanyNameJaroWinklerLevel(CompanyPairLevel):
    """Jaro-Winkler similarity of the standardised names >= ``threshold`` (best pairing)."""

    column: str
    threshold: float = 0.9
    trading_column: str | None = None

    def __post_init__(self) -> None:
        self._check()
        if not isinstance(self.threshold, int | float) or not 0.0 < self.threshold <= 1.0:
            raise SettingsError("CompanyNameJaroWinklerLevel threshold must be in (0, 1]")

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        similarity = dialect.string_metric("jaro_winkler", col(LEFT, left), col(RIGHT, right))
        return f"{similarity} >= {float(self.threshold)!r}"

    @property
    def label(self) -> str:
        return f"{self.column} jaro-winkler >= {self.threshold}{self._suffix()}"


class CompanyNameComparison(Comparison):
    """Company names compared by token rarity. Levels, in order:

    1. null (the legal name is missing on either side),
    2. exact standardised legal name (and ``words_column``) that no other right-side record
       holds (only with ``held_column``: :class:`CompanyNameHeldOnceLevel`),
    3. exact standardised legal name (weight scaled by the name's rarity if
       ``term_frequency``),
    4. exact to a trading name no other right-side record holds as a legal or trading name
       (only with ``trading_column`` and ``trading_held_column``, which counts them:
       :class:`CompanyTradingHeldOnceLevel`),
    5. exact through a trading name (only with ``trading_column``),
    6. one keystroke from a legal name no other right-side record holds, spaces ignored (only
       with ``held_column`` and ``compact_column``, the name without spaces:
       :class:`CompanyNameNearHeldOnceLevel`),
    7. the same words in another order (only with ``word_order``:
       :class:`~linkage.company_word_order.CompanyWordOrderLevel`),
    8. same rare tokens (every token with document frequency <= ``rare_frequency``),
    9. rarity-weighted token overlap >= each of ``overlap_thresholds`` (decreasing),
    10. Jaro-Winkler >= ``jaro_winkler_threshold`` on the standardised name,
    11. all other.

    With ``trading_column`` every level takes the best pairing of legal and trading names.
    With ``form_column`` (the legal form, null without one) level 2 holds the pairs whose
    left-side record names a legal form where the right-side record has one, and is followed
    by a level of its pairs where the record drops it (a name without its form may be another
    business's trading style).
    The input needs the columns added by :func:`add_company_token_columns`.
    """

    def __init__(
        self,
        column: str = "name_std",
        *,
        trading_column: str | None = "trading_name_std",
        rare_frequency: float = 0.001,
        overlap_thresholds: Sequence[float] = (0.7,),
        jaro_winkler_threshold: float = 0.9,
        term_frequency: bool = True,
        held_column: str | None = None,
        words_column: str | None = None,
        compact_column: str | None = None,
        trading_held_column: str | None = None,
        word_order: bool = False,
        form_column: str | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(rare_frequency, int | float) or not 0.0 < rare_frequency <= 1.0:
            raise SettingsError("rare_frequency must be in (0, 1]")
        thresholds = tuple(overlap_thresholds)
        if (
            not thresholds
            or tuple(sorted(thresholds, reverse=True)) != thresholds
            or len(set(thresholds)) != len(thresholds)
        ):
            raise SettingsError("overlap_thresholds must be non-empty and strictly decreasing")
        levels: list[Level] = [
            NullLevel(column),
            *(
                [CompanyNameHeldOnceLevel(column, held_column, words_column, form_column)]
                if held_column
                else []
            ),
            *(
                [CompanyNameHeldOnceLevel(column, held_column, words_column, form_column, True)]
                if held_column and form_column
                else []
            ),
            CompanyNameExactLevel(column, None, term_frequency),
            *(
                [CompanyTradingHeldOnceLevel(column, trading_column, trading_held_column)]
                if trading_column and trading_held_column
                else []
            ),
            *([CompanyNameExactLevel(column, trading_column)] if trading_column else []),
            *(
                [CompanyNameNearHeldOnceLevel(compact_column, held_column, words_column)]
                if held_column and compact_column
                else []
            ),
            *([CompanyWordOrderLevel(column, trading_column)] if word_order else []),
            CompanyRareTokensLevel(column, -math.log(rare_frequency), trading_column),
            *(CompanyTokenOverlapLevel(column, t, trading_column) for t in thresholds),
            CompanyNameJaroWinklerLevel(column, jaro_winkler_threshold, trading_column),
            ElseLevel(),
        ]
        super().__init__(name or column, levels)


WordsRelation = Literal["same", "none", "fewer"]
_RELATIONS: dict[str, str] = {
    "same": "same words",
    "none": "no words on either side",
    "fewer": "left's words are some of right's",
}


@dataclass(frozen=True)
class CompanyWordsLevel(CompanyPairLevel):
    """How the distinguishing words of two names (sorted lists, repeats kept: see
    :func:`linkage.standardise.companies.with_company_name_parts`) relate:

    * ``same``: the same words, at least one ("X HOLDINGS" and "X HOLDINGS LTD"); with
      ``term_frequency`` (legal names only) the weight is scaled by the words' rarity;
    * ``none``: neither name has any;
    * ``fewer``: the left name's words are some, not all, of the right name's (the left side
      dropped a word, or is the plain "X LTD" of a group whose "X HOLDINGS LTD" is on the
      right).

    Direction matters: in a link the left side is the incoming record, the right the register.
    A name with a word the other lacks ("X HOLDINGS" against a registered "X") fails all three:
    that is the sister company's pattern.
    """

    column: str
    relation: WordsRelation
    trading_column: str | None = None
    term_frequency: bool = False

    def __post_init__(self) -> None:
        self._check()
        if self.relation not in _RELATIONS:
            raise SettingsError("CompanyWordsLevel relation must be 'same', 'none' or 'fewer'")
        if self.term_frequency and (self.relation != "same" or self.trading_column is not None):
            raise SettingsError(
                "CompanyWordsLevel term_frequency applies to relation 'same' on legal names only"
            )

    def _pair_sql(self, left: str, right: str, dialect: Dialect) -> str:
        a, b, size = col(LEFT, left), col(RIGHT, right), dialect.fn("list_length")
        if self.relation == "same":
            return f"({a} = {b} AND {size}({a}) > 0)"
        if self.relation == "none":
            return f"({size}({a}) = 0 AND {size}({b}) = 0)"
        contains = dialect.fn("list_contains")
        shared = dialect.filter_positions(a, lambda i: f"{contains}({b}, {dialect.element(a, i)})")
        return f"({size}({a}) < {size}({b}) AND {size}({shared}) = {size}({a}))"

    @property
    def label(self) -> str:
        return f"{self.column} {_RELATIONS[self.relation]}{self._suffix()}"

    @property
    def tf_column(self) -> str | None:
        return self.column if self.term_frequency else None


class CompanyWordsComparison(Comparison):
    """The distinguishing words of company names (HOLDINGS, GROUP, UK, PROPERTIES...), whose
    agreement and disagreement both carry weight. Levels, in order:

    1. null (the word list is missing on either side: no name),
    2. the legal names have the same words, at least one (term-frequency adjusted if
       ``term_frequency``),
    3. the same words through a trading name (only with ``trading_column``),
    4. no words on either side,
    5. the left (incoming) name has some, not all, of the right (register) name's words,
    6. all other: the left name has a word the right lacks.

    With ``trading_column`` every level takes the best pairing of legal and trading names.
    """

    def __init__(
        self,
        column: str = "name_words",
        *,
        trading_column: str | None = "trading_name_words",
        term_frequency: bool = True,
        name: str | None = None,
    ) -> None:
        levels: list[Level] = [
            NullLevel(column),
            CompanyWordsLevel(column, "same", None, term_frequency),
            *([CompanyWordsLevel(column, "same", trading_column)] if trading_column else []),
            CompanyWordsLevel(column, "none", trading_column),
            CompanyWordsLevel(column, "fewer", trading_column),
            ElseLevel(),
        ]
        super().__init__(name or column, levels)
