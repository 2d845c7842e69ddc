"""Token columns for company-name comparison: tokens, their rarity (idf) and the rarest token.

:func:`add_company_token_columns` adds, for a standardised name column ``c`` (see
:mod:`linkage.company_names` for the levels that read them):

* ``c_tokens``: distinct tokens without stop words, abbreviations written out
  (:data:`TOKEN_VARIANTS`: INTL -> INTERNATIONAL, BROS -> BROTHERS...) (VARCHAR[]),
* ``c_idf``: the idf of each token (ln(N / n), n the records containing it, N all records of
  every input), aligned with ``c_tokens`` (DOUBLE[]),
* ``c_top``: the rarest token (ties broken alphabetically),
* ``c_rarest``: the rarest token that another record also holds, null when even it is common
  (a blocking key).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from linkage.errors import SettingsError
from linkage.standardise.companies import COMPANY_STOP_WORDS


def tokens_column(column: str) -> str:
    """Name of the token-list column derived from standardised name column ``column``."""
    return f"{column}_tokens"


def idf_column(column: str) -> str:
    """Name of the idf-list column aligned with :func:`tokens_column`."""
    return f"{column}_idf"


def top_column(column: str) -> str:
    """Name of the column holding the rarest token, always set (ties: alphabetical first)."""
    return f"{column}_top"


def rarest_column(column: str) -> str:
    """Name of the rarest-token column (a blocking key)."""
    return f"{column}_rarest"


#: Common abbreviations in UK business names, mapped to the written-out word so that "LEWIS
#: INTL" and "LEWIS INTERNATIONAL" share their tokens (and their rarity).
TOKEN_VARIANTS: dict[str, str] = {
    "SVCS": "SERVICES", "SERVS": "SERVICES", "INTL": "INTERNATIONAL",
    "MGMT": "MANAGEMENT", "MGT": "MANAGEMENT", "ENG": "ENGINEERING", "ENGG": "ENGINEERING",
    "BROS": "BROTHERS", "ASSOCS": "ASSOCIATES", "ASSOC": "ASSOCIATES", "SOLNS": "SOLUTIONS",
    "TECH": "TECHNOLOGY", "TECHNOLOGIES": "TECHNOLOGY", "DEVS": "DEVELOPMENTS",
    "DEVT": "DEVELOPMENT", "CONSTR": "CONSTRUCTION", "PROPS": "PROPERTIES",
    "CONTRS": "CONTRACTORS", "TPT": "TRANSPORT", "MFG": "MANUFACTURING", "DIST": "DISTRIBUTION",
    "INVS": "INVESTMENTS", "CTR": "CENTRE", "CENTER": "CENTRE", "ENTS": "ENTERPRISES",
    "CONST": "CONSTRUCTION", "ELEC": "ELECTRICAL", "ELECS": "ELECTRICAL",
}  # fmt: skip


def written_out(column: pl.Expr) -> pl.Expr:
    """Space-separated words with :data:`TOKEN_VARIANTS` written out ("TERRAON TECH" and
    "TERRAON TECHNOLOGIES" -> "TERRAON TECHNOLOGY"), so that exact name comparison and the
    name blocking keys treat them as the same name, as the token levels already do."""
    padded = " " + column.cast(pl.String).str.replace_all(" ", "  ", literal=True) + " "
    spelled = padded.str.replace_many(
        [f" {k} " for k in TOKEN_VARIANTS], [f" {v} " for v in TOKEN_VARIANTS.values()]
    )
    return spelled.str.replace_all(r"\s+", " ").str.strip_chars()


def _tokens_expr(column: str) -> pl.Expr:
    """Distinct tokens in order of first appearance, stop words dropped, variants written out."""
    tokens = (
        pl.col(column)
        .cast(pl.String)
        .str.split(" ")
        .list.eval(pl.element().replace(TOKEN_VARIANTS))
    )
    return tokens.list.filter(~pl.element().is_in(list(COMPANY_STOP_WORDS))).list.unique(
        maintain_order=True
    )


def _lookup(column: str, keys: pl.Series, values: pl.Series) -> pl.Expr:
    """Map each token of a list column through ``keys -> values``; null lists stay null.

    The lists are filled before ``list.eval``: polars 2.1 evaluates a ``replace_strict`` over a
    mostly-null list column several hundred times slower than over empty lists.
    """
    lists = pl.col(column)
    mapped = lists.fill_null([]).list.eval(pl.element().replace_strict(keys, values, default=None))
    return pl.when(lists.is_not_null()).then(mapped)


def add_company_token_columns(
    frames: Sequence[pl.DataFrame],
    columns: Sequence[str] = ("name_std", "trading_name_std"),
    *,
    max_block_frequency: float = 0.001,
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Add ``c_tokens``, ``c_idf``, ``c_top`` and ``c_rarest`` for each standardised name
    column ``c``.

    Rarity is counted over every frame together (a record counts a token once even if it is in
    both its legal and trading name). ``c_rarest`` is null when the rarest token is in more than
    ``max_block_frequency`` of records, so blocking on it cannot create huge blocks. Returns the
    frames and the rarity table (``token, n_records, idf``).
    """
    if not frames:
        raise SettingsError("add_company_token_columns needs at least one frame")
    missing = [
        f"frame {i} has no column {c!r}"
        for i, frame in enumerate(frames)
        for c in columns
        if c not in frame.columns
    ]
    if missing:
        raise SettingsError(missing)
    # Tokens once per frame; rarity from every frame together.
    tokenised = [
        frame.with_columns(_tokens_expr(c).alias(tokens_column(c)) for c in columns)
        for frame in frames
    ]
    rarity = _rarity(tokenised, columns, sum(frame.height for frame in frames))
    min_block_idf = -math.log(max_block_frequency)
    out = [_add_rarity_columns(frame, columns, rarity, min_block_idf) for frame in tokenised]
    return out, rarity.drop("rank")


def _rarity(
    tokenised: Sequence[pl.DataFrame], columns: Sequence[str], n_records: int
) -> pl.DataFrame:
    """``token, rank, n_records, idf``: records holding each token (in any of ``columns``),
    rank 0 the rarest, equally rare tokens in alphabetical order (the ``c_top`` tie-break)."""
    per_record = [
        frame.lazy().select(
            pl.concat_list([pl.col(tokens_column(c)).fill_null([]) for c in columns])
            .list.unique()
            .alias("token")
        )
        for frame in tokenised
    ]
    return (
        pl.concat(per_record)
        .explode("token")
        .drop_nulls("token")
        .group_by("token")
        .agg(pl.len().cast(pl.Int64).alias("n_records"))
        .with_columns(idf=(pl.lit(float(max(n_records, 1))) / pl.col("n_records")).log())
        .sort(["n_records", "token"])
        .with_row_index("rank")
        .collect()
    )


def _add_rarity_columns(
    frame: pl.DataFrame, columns: Sequence[str], rarity: pl.DataFrame, min_block_idf: float
) -> pl.DataFrame:
    ranks = "__ranks"
    added = frame.with_columns(
        _lookup(tokens_column(c), rarity["token"], rarity["idf"]).alias(idf_column(c))
        for c in columns
    )
    for c in columns:
        added = (
            added.with_columns(
                _lookup(tokens_column(c), rarity["token"], rarity["rank"]).alias(ranks)
            )
            .with_columns(
                pl.col(tokens_column(c))
                .list.get(pl.col(ranks).list.arg_min(), null_on_oob=True)
                .alias(top_column(c))
            )
            .with_columns(_shared_rarest(c, rarity, min_block_idf).alias(rarest_column(c)))
            .drop(ranks)
        )
    return added


def _shared_rarest(column: str, rarity: pl.DataFrame, min_block_idf: float) -> pl.Expr:
    """The rarest token of ``column`` that at least one other record holds, null when even it
    is common. A token no other record holds (often a typo: "ONYXVIEW EENGINEERING") can pair
    the record with nothing, so it is passed over for the next rarest ("ONYXVIEW")."""
    shared = rarity.filter(pl.col("n_records") >= 2)
    ranks = _lookup(tokens_column(column), shared["token"], shared["rank"])
    idfs = _lookup(tokens_column(column), shared["token"], shared["idf"])
    at = ranks.list.arg_min()
    token = pl.col(tokens_column(column)).list.get(at, null_on_oob=True)
    return pl.when(idfs.list.get(at, null_on_oob=True) >= min_block_idf).then(token)
