"""What an incoming record's identifier says when it is not its candidate's.

* A **slip**: the record's identifier is one keystroke from the candidate's (one character
  substituted, added or dropped, or two neighbours swapped). A mistyped company number of the
  very company is far more common than another company's number one keystroke away, but
  companies incorporated together can have neighbouring numbers, so a slip is no evidence
  either way: the identifier comparisons score it like a missing identifier
  (:class:`IdentifierSlipOrNullLevel`) and the CRN rule below does not apply.
* A **CRN the register lacks** (:func:`unknown_crns`): a valid company number that no register
  row holds is a company the register does not have (new, or held elsewhere), or a typo.
  Such a record is not linked by name to a company with another valid CRN unless the numbers
  are a slip (:func:`with_crn_conflicts` marks the pairs). When it ends unlinked it is
  reported as ``crn_not_in_register``: a status of its own rather than a review case, since a
  curator cannot tell from the register which company it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from linkage.comparisons import Comparison, ElseLevel, ExactMatchLevel, NullLevel
from linkage.levels import DamerauLevenshteinLevel
from linkage.sql import LEFT, RIGHT, Dialect, col
from pipeline.business.deterministic import REG_UID
from pipeline.business.prepare import UID, norm_column

CRN_NOT_IN_REGISTER = "crn_not_in_register"


@dataclass(frozen=True)
class IdentifierSlipOrNullLevel(NullLevel):
    """Either side is NULL, or the two values differ by one keystroke (Damerau-Levenshtein
    distance 1): no evidence either way (weight 0)."""

    def sql(self, dialect: Dialect) -> str:
        a, b = col(LEFT, self.column), col(RIGHT, self.column)
        # a CASE short-circuits (AND does not): most pairs are null or equal, or fail the
        # within-one-edit level's cheap tests before any distance is computed
        within_one = DamerauLevenshteinLevel(self.column, 1).sql(dialect)
        return (
            f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN TRUE WHEN {a} = {b} THEN FALSE "
            f"ELSE coalesce({within_one}, FALSE) END"
        )

    @property
    def label(self) -> str:
        return f"{self.column} is null or one keystroke apart"


def identifier_comparison(column: str, name: str) -> Comparison:
    """Levels: null or a slip (weight 0), exact, all other (a different identifier)."""
    return Comparison(
        name, [IdentifierSlipOrNullLevel(column), ExactMatchLevel(column), ElseLevel()]
    )


def is_slip(a: str | None, b: str | None) -> bool:
    """``a`` and ``b`` differ by one keystroke: Damerau-Levenshtein (optimal string alignment)
    distance exactly 1."""
    if a is None or b is None or a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) == 1:
            return True
        i = differ[0]
        return len(differ) == 2 and differ[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def slips(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """:func:`is_slip` of two string columns, row by row (False where either is null)."""
    pair = pl.struct(a.alias("a"), b.alias("b"))
    return pair.map_elements(
        lambda row: is_slip(row["a"], row["b"]), return_dtype=pl.Boolean
    ).fill_null(False)


def unknown_crns(incoming_ids: pl.DataFrame, register_ids: pl.DataFrame) -> pl.Series:
    """Per incoming record: it has a valid CRN and no register row holds it (False when
    either side has no CRN column)."""
    crn = norm_column("crn")
    if crn not in incoming_ids.columns or crn not in register_ids.columns:
        return pl.Series("crn_unknown", [False] * incoming_ids.height)
    held = register_ids[crn].drop_nulls().unique().implode()
    column = incoming_ids[crn]
    return (column.is_not_null() & ~column.is_in(held)).alias("crn_unknown")


def with_crn_conflicts(
    pairs: pl.DataFrame, incoming_ids: pl.DataFrame, register_ids: pl.DataFrame
) -> pl.DataFrame:
    """``pairs`` (``uid, reg_uid``) with ``crn_conflict``: the record's valid CRN is in no
    register row and the candidate has another valid CRN, not a slip of it."""
    crn = norm_column("crn")
    if crn not in incoming_ids.columns or crn not in register_ids.columns:
        return pairs.with_columns(pl.lit(False).alias("crn_conflict"))
    unknown = incoming_ids.select(
        UID,
        pl.when(unknown_crns(incoming_ids, register_ids)).then(pl.col(crn)).alias("__crn"),
    )
    theirs = register_ids.select(pl.col(UID).alias(REG_UID), pl.col(crn).alias("__reg_crn"))
    joined = pairs.join(unknown, on=UID, how="left").join(theirs, on=REG_UID, how="left")
    differ = (pl.col("__crn") != pl.col("__reg_crn")).fill_null(False)
    candidates = joined.filter(differ).select("__crn", "__reg_crn").unique()
    slipped = candidates.filter(slips(pl.col("__crn"), pl.col("__reg_crn")))
    return (
        joined.join(
            slipped.with_columns(pl.lit(True).alias("__slip")),
            on=["__crn", "__reg_crn"],
            how="left",
        )
        .with_columns((differ & pl.col("__slip").is_null()).alias("crn_conflict"))
        .drop("__crn", "__reg_crn", "__slip")
    )
