"""Shared text folding for every standardiser: upper case, no accents, spaces collapsed."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl


def fold_text(expr: pl.Expr) -> pl.Expr:
    """Upper-case, strip accents (Unicode NFKD then drop combining marks), collapse whitespace.

    Letters without a decomposition are transliterated (Ø -> O, Æ -> AE; ß upper-cases to
    SS). Empty results become null so that "missing" has a single representation downstream.
    """
    folded = (
        expr.cast(pl.String)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.to_uppercase()
        .str.replace_many(_NO_DECOMPOSITION)
    )
    return collapse_spaces(folded)


# Letters that NFKD leaves alone, spelled as English-language registers usually write them.
_NO_DECOMPOSITION = {
    "Ø": "O", "Æ": "AE", "Œ": "OE", "ẞ": "SS", "Ł": "L", "Đ": "D", "Ð": "D", "Þ": "TH",
}  # fmt: skip


def collapse_spaces(expr: pl.Expr) -> pl.Expr:
    """Collapse runs of whitespace to one space, trim, and turn empty strings into null."""
    # ``replace`` rather than when/then: a when/then would evaluate the whole upstream chain
    # twice, and these helpers nest, so the cost would double at every level.
    return expr.str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)


def words_pattern(words: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    """A regex alternation of whole words, longest first so multi-word forms win."""
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return "|".join(w.replace(" ", r"\s+") for w in ordered)


def per_distinct(
    expr: pl.Expr, transform: Callable[[pl.Expr], pl.Expr], return_dtype: pl.DataType
) -> pl.Expr:
    """Apply ``transform`` once per distinct value of ``expr`` and map the results back.

    Identifying columns repeat a lot (a million people share ~30k dates of birth and a few
    thousand first names), so this is usually far cheaper than running every regex on every
    row; when values are nearly all distinct it costs two hash passes extra. Still vectorised:
    ``transform`` is a polars expression run over the batch's distinct values.
    """

    def apply(series: pl.Series) -> pl.Series:
        distinct = series.drop_nulls().unique()
        results = distinct.to_frame("value").select(transform(pl.col("value"))).to_series()
        return series.replace_strict(distinct, results, default=None, return_dtype=return_dtype)

    return expr.cast(pl.String).map_batches(apply, return_dtype=return_dtype, is_elementwise=True)
