"""UK company names: legal forms, '&'/AND, THE, trading-as names, status flags, token rarity.

The goal is that "The Smith & Sons Ltd." and "SMITH AND SONS LIMITED" standardise to the same
string, while the words that tell companies apart survive.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from linkage.standardise._text import collapse_spaces, fold_text, per_distinct, words_pattern

#: Legal-form words and their canonical abbreviation (used when ``legal_form="normalise"``).
LEGAL_FORMS: dict[str, str] = {
    "PUBLIC LIMITED COMPANY": "PLC",
    "LIMITED LIABILITY PARTNERSHIP": "LLP",
    "LIMITED PARTNERSHIP": "LP",
    "COMMUNITY INTEREST COMPANY": "CIC",
    "CWMNI BUDDIANT CYMUNEDOL": "CIC",
    "CWMNI CYFYNGEDIG CYHOEDDUS": "PLC",
    "CYFYNGEDIG": "LTD",
    "CYF": "LTD",
    "LIMITED": "LTD",
    "LTD": "LTD",
    "PLC": "PLC",
    "LLP": "LLP",
    "LP": "LP",
    "CIC": "CIC",
    "AND COMPANY": "CO",
    "AND CO": "CO",
    "COMPANY": "CO",
    "CO": "CO",
    "UK": "UK",
    "HOLDINGS": "HOLDINGS",
    "HOLDING": "HOLDINGS",
}

#: Words that carry no identifying information in a company name (dropped from token lists).
COMPANY_STOP_WORDS: frozenset[str] = frozenset({"THE", "AND", "OF", "A", "AN", "IN", "FOR", "AT"})

#: Insolvency and status notes that are not part of the name.
_STATUS_RE = (
    r"\(?\s*\b(?:IN\s+(?:LIQUIDATION|ADMINISTRATION|RECEIVERSHIP)|DISSOLVED|STRUCK\s+OFF)\b\s*\)?"
)
_TRADING_AS_RE = r"\s*(?:\bT\s*/\s*AS?\b|\bTRADING\s+AS\b|\bT\\A\b)\s*"
# Everything after the first word that is a run of legal forms; "$1" keeps the rest. Requiring a
# first word means a name made only of legal forms keeps its first one ("LIMITED", "CO LTD"
# -> "CO") rather than vanishing.
_FORMS_TAIL_RE = rf"^(.*?\S)(?:\s+(?:{words_pattern(list(LEGAL_FORMS))}))+$"
_SEPARATOR = "\x1f"


def split_trading_as(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split "LEGAL NAME T/A TRADING NAME" into (legal name, trading name), both raw text.

    Recognises T/A, T/AS, T\\A and TRADING AS in any case. Without a marker the trading name is
    null and the legal name is the whole value.
    """
    marked = expr.cast(pl.String).str.replace(
        "(?i)" + _TRADING_AS_RE, _SEPARATOR
    )  # first marker only
    parts = marked.str.splitn(_SEPARATOR, 2)
    legal = collapse_spaces(parts.struct.field("field_0"))
    trading = collapse_spaces(parts.struct.field("field_1"))
    return legal, trading


def normalise_company_name(
    expr: pl.Expr, *, legal_form: Literal["strip", "normalise"] = "strip"
) -> pl.Expr:
    """Standardise a company name for comparison.

    Upper case without accents; "&" and "+" become AND; dots and apostrophes vanish (so L.T.D.
    is LTD and SAINSBURY'S is SAINSBURYS); other punctuation becomes space; status notes such
    as "(IN LIQUIDATION)" are removed; a leading THE is removed; a trading-as part is dropped
    (use :func:`split_trading_as` to keep it). Legal forms at the end (LIMITED, LTD, PLC, LLP,
    LP, CIC, CO, & CO, (UK), HOLDINGS) are removed with ``legal_form="strip"`` or replaced by
    their abbreviation with ``"normalise"``. The first word is never stripped: "LIMITED" stays.
    """
    return per_distinct(expr, lambda e: _normalise_company_name(e, legal_form), pl.String())


def _normalise_company_name(expr: pl.Expr, legal_form: Literal["strip", "normalise"]) -> pl.Expr:
    legal, _ = split_trading_as(expr)
    text = fold_text(legal).str.replace_all(_STATUS_RE, " ")
    text = text.str.replace_all(r"[&+]", " AND ").str.replace_all(r"['’`.]", "")
    text = collapse_spaces(text.str.replace_all(r"[^A-Z0-9 ]+", " "))
    text = text.str.replace(r"^(?:THE\s+)+", "")
    if legal_form == "strip":
        return text.str.replace(_FORMS_TAIL_RE, "$1")
    for long_form, short in sorted(LEGAL_FORMS.items(), key=lambda kv: -len(kv[0])):
        pattern = long_form.replace(" ", r"\s+")
        # Only trailing words are legal forms: "COMPANY" mid-name ("COMPANY SHOP") is kept.
        text = text.str.replace(rf"\b{pattern}((?:\s+(?:{_form_words()}))*)$", f"{short}$1")
    return collapse_spaces(text)


def _form_words() -> str:
    return words_pattern(sorted(set(LEGAL_FORMS.values())))


def company_name_tokens(expr: pl.Expr) -> pl.Expr:
    """The standardised name (legal forms stripped) as a list of tokens without stop words."""
    tokens = normalise_company_name(expr).str.split(" ")
    return tokens.list.filter(~pl.element().is_in(list(COMPANY_STOP_WORDS)))


def token_rarity(frame: pl.DataFrame | pl.LazyFrame, column: str) -> pl.DataFrame:
    """Document frequency and inverse document frequency of every token in a list column.

    Returns columns ``token``, ``n_records`` (records containing the token at least once),
    ``frequency`` (n_records / records with any token) and ``idf`` (ln of the inverse of
    frequency), rarest first. Join it back to weight rare tokens ("ZYTRONIX") above common
    ones ("SERVICES") in comparisons.
    """
    lazy = frame.lazy().select(pl.col(column).alias("token")).with_row_index("_record")
    exploded = lazy.explode("token").drop_nulls("token").unique(["_record", "token"])
    n_records = exploded.select(pl.col("_record").n_unique()).collect().item()
    counts = exploded.group_by("token").agg(pl.len().cast(pl.Int64).alias("n_records"))
    result = counts.with_columns(
        frequency=pl.col("n_records") / max(n_records, 1),
    ).with_columns(idf=(1.0 / pl.col("frequency")).log())
    return result.sort(["n_records", "token"]).collect()
