"""UK company names: legal forms, '&'/AND, THE, trading-as names, status flags, token rarity.

The goal is that "The Smith & Sons Ltd." and "SMITH AND SONS LIMITED" standardise to the same
string, while the words that tell companies apart survive.

Two standardisations:

* :func:`normalise_company_name` (the original): also strips HOLDINGS, HOLDING, (UK), CO and
  "& CO" at the end, so "X HOLDINGS LTD" and "X LTD" become the same string;
* :func:`standardise_company_name`: removes only what is legally equivalent (the legal form,
  '&'/AND, a leading THE, punctuation, status notes, common abbreviations written out) and keeps
  every word that can tell two companies apart: "X HOLDINGS LTD" -> "X HOLDINGS". The legal form
  comes out separately (:func:`company_legal_form`), and so do the words that mark a sister
  company or a place (:func:`company_distinguishing_tokens`) and the rest of the name
  (:func:`company_core_tokens`), so a model can weigh each.
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
# The marker with what may introduce it: "FOO LTD T/A BAR", "FOO LTD (T/A BAR)", "FOO LTD - T/A
# BAR", "FOO LTD, TRADING AS BAR".
_TRADING_AS_RE = r"\s*[(\[,-]?\s*(?:\bT\s*/\s*AS?\b|\bTRADING\s+AS\b|\bT\\A\b)\s*"
# Everything after the first word that is a run of legal forms; "$1" keeps the rest. Requiring a
# first word means a name made only of legal forms keeps its first one ("LIMITED", "CO LTD"
# -> "CO") rather than vanishing.
_FORMS_TAIL_RE = rf"^(.*?\S)(?:\s+(?:{words_pattern(list(LEGAL_FORMS))}))+$"
_SEPARATOR = "\x1f"


def split_trading_as(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split "LEGAL NAME T/A TRADING NAME" into (legal name, trading name), both raw text.

    Recognises T/A, T/AS, T\\A and TRADING AS in any case, also in brackets ("FOO LTD (T/A
    BAR)") or after a comma or dash. Without a marker the trading name is null and the legal
    name is the whole value. "X TRADING LTD" has no marker: TRADING alone is part of a name.
    """
    marked = expr.cast(pl.String).str.replace(
        "(?i)" + _TRADING_AS_RE, _SEPARATOR
    )  # first marker only
    parts = marked.str.splitn(_SEPARATOR, 2)
    legal = collapse_spaces(parts.struct.field("field_0"))
    # The bracket closing "(T/A BAR)" goes with the marker.
    trading = collapse_spaces(
        parts.struct.field("field_1").str.replace(r"^([^(\[]*)[)\]]\s*$", "$1")
    )
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


# ------------------------------------------------------- legal-equivalence standardisation

#: Legal forms (as written, including Welsh) and their code. Only these are removed by
#: :func:`standardise_company_name`; "CO", "HOLDINGS" and "(UK)" are not legal forms.
LEGAL_FORM_CODES: dict[str, str] = {
    "PUBLIC LIMITED COMPANY": "PLC",
    "CWMNI CYFYNGEDIG CYHOEDDUS": "PLC",
    "PLC": "PLC",
    "LIMITED LIABILITY PARTNERSHIP": "LLP",
    "PARTNERIAETH ATEBOLRWYDD CYFYNGEDIG": "LLP",
    "LLP": "LLP",
    "LIMITED PARTNERSHIP": "LP",
    "LP": "LP",
    "COMMUNITY INTEREST COMPANY": "CIC",
    "CWMNI BUDDIANT CYMUNEDOL": "CIC",
    "CIC": "CIC",
    "CBC": "CIC",
    "UNLIMITED": "UNLTD",
    "ANGYFYNGEDIG": "UNLTD",
    "LIMITED": "LTD",
    "CYFYNGEDIG": "LTD",
    "LTD": "LTD",
    "CYF": "LTD",
}

#: Abbreviations that mean the same word, written out (CO stays CO: it is the legal spelling).
COMPANY_ABBREVIATIONS: dict[str, str] = {
    "INTL": "INTERNATIONAL", "SVCS": "SERVICES", "SERVS": "SERVICES",
    "BROS": "BROTHERS", "COMPANY": "CO", "HLDGS": "HOLDINGS", "HOLDING": "HOLDINGS",
    "GRP": "GROUP", "MGMT": "MANAGEMENT", "MGT": "MANAGEMENT", "ASSOC": "ASSOCIATES",
    "ASSOCS": "ASSOCIATES", "DEVS": "DEVELOPMENTS", "PROPS": "PROPERTIES", "INVS": "INVESTMENTS",
    "ENTS": "ENTERPRISES", "CTR": "CENTRE", "CENTER": "CENTRE", "TRDG": "TRADING",
}  # fmt: skip

#: Words that tell a company from a sister or a namesake: the structure of a group (HOLDINGS,
#: GROUP, PROPERTIES...), and regions and countries. Kept as tokens, reported separately.
DISTINGUISHING_WORDS: frozenset[str] = frozenset(
    {
        "HOLDINGS", "GROUP", "UK", "GB", "TRADING", "SERVICES", "PROPERTIES", "PROPERTY",
        "INTERNATIONAL", "INVESTMENTS", "ESTATES", "DEVELOPMENTS", "MANAGEMENT", "ENTERPRISES",
        "VENTURES", "CAPITAL", "FINANCE", "LEASING", "CONTRACTS", "CONTRACTING", "NOMINEES",
        "TRUSTEES", "PENSIONS", "EUROPE", "EUROPEAN", "GLOBAL", "WORLDWIDE", "OVERSEAS",
        "NORTH", "SOUTH", "EAST", "WEST", "NORTHERN", "SOUTHERN", "EASTERN", "WESTERN",
        "MIDLANDS", "ENGLAND", "SCOTLAND", "WALES", "IRELAND", "BRITAIN",
    }
)  # fmt: skip

_FORMS = words_pattern(list(LEGAL_FORM_CODES))
# the name, then every trailing legal form ("X LTD LTD", "X LIMITED CYFYNGEDIG"), the last captured
_CODE_FORMS_RE = rf"^(.*?\S)(?:\s+(?:{_FORMS}))*\s+({_FORMS})$"
_BRACKETED_RE = r"\(([^()]*)\)"
#: A personal title before an initial ("MR J SMITH"): how tax and survey files often write a
#: sole trader the register holds as "J SMITH". Only before an initial, so "MR PLUMBER" keeps it.
_TITLES = "MR|MRS|MS|MISS|MESSRS"
_TITLE_RE = rf"^(?:{_TITLES})\s+([A-Z]\s)"
#: A person written surname first ("SMITH J"), as many lists of sole traders are: the initial
#: goes first, as the register writes the trader ("J SMITH").
_SURNAME_FIRST_RE = rf"^(?:(?:{_TITLES}) )?([A-Z][A-Z]+) ([A-Z])$"


def _legal_text(expr: pl.Expr) -> pl.Expr:
    """The registered part of the name, upper case, '&'/'+' as AND, status notes, THE,
    a personal title before an initial and punctuation gone, a surname before its initial
    turned round; the legal form still at the end."""
    legal, _ = split_trading_as(expr)
    text = fold_text(legal).str.replace_all(_STATUS_RE, " ")
    text = text.str.replace_all(r"[&+]", " AND ").str.replace_all(r"['’`.]", "")
    text = collapse_spaces(text.str.replace_all(r"[^A-Z0-9 ]+", " "))
    text = text.str.replace(r"^(?:THE\s+)+", "").str.replace(_TITLE_RE, "$1")
    title_only = text.str.contains(rf"^(?:{_TITLES}) [A-Z]$")  # "MR J" is no surname
    return pl.when(title_only).then(text).otherwise(text.str.replace(_SURNAME_FIRST_RE, "$2 $1"))


def _name_words(expr: pl.Expr) -> pl.Expr:
    """The standardised name (legal form removed, abbreviations written out) as a word list.
    Abbreviations come after the form is removed: "PUBLIC LIMITED COMPANY" must stay whole."""
    name, _ = _split_form(_legal_text(expr))
    return name.str.split(" ").list.eval(pl.element().replace(COMPANY_ABBREVIATIONS))


def _split_form(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(name without its trailing legal forms, code of the last form) from :func:`_legal_text`.
    A name made only of a legal form keeps it ("LIMITED"), with no form."""
    parts = text.str.extract_groups(_CODE_FORMS_RE)
    matched = parts.struct.field("1").is_not_null()
    spelled = parts.struct.field("2").str.replace_all(r"\s+", " ")
    code = spelled.replace_strict(LEGAL_FORM_CODES, default=None, return_dtype=pl.String)
    return pl.when(matched).then(parts.struct.field("1")).otherwise(text), code


def standardise_company_name(expr: pl.Expr) -> pl.Expr:
    """The name with only legally equivalent differences removed.

    "The Smith & Sons (UK) Holdings Limited" -> "SMITH AND SONS UK HOLDINGS": upper case
    without accents; '&' and '+' as AND; a leading THE, punctuation and status notes
    ("(IN LIQUIDATION)") removed; a trading-as part dropped (see :func:`split_trading_as`);
    :data:`COMPANY_ABBREVIATIONS` written out (INTL -> INTERNATIONAL, BROS -> BROTHERS,
    COMPANY -> CO); trailing legal forms (:data:`LEGAL_FORM_CODES`) removed. Words such as
    HOLDINGS, GROUP, UK, TRADING and PROPERTIES stay.
    """
    return per_distinct(expr, lambda e: _name_words(e).list.join(" "), pl.String())


def company_legal_form(expr: pl.Expr) -> pl.Expr:
    """The legal form at the end of the name as a code: LTD, PLC, LLP, LP, CIC or UNLTD
    (LIMITED, CYF, "PUBLIC LIMITED COMPANY"... as in :data:`LEGAL_FORM_CODES`); null without
    one (a sole trader, a partnership, or a form dropped by the source)."""
    return per_distinct(expr, lambda e: _split_form(_legal_text(e))[1], pl.String())


def _bracketed_words(expr: pl.Expr) -> pl.Expr:
    """Words written in brackets ("THOMPSON (LEEDS) LTD" -> ["LEEDS"]), standardised."""
    legal, _ = split_trading_as(expr)
    inside = fold_text(legal).str.replace_all(_STATUS_RE, " ").str.extract_all(_BRACKETED_RE)
    text = _legal_text(inside.list.join(" ").str.replace_all(r"[()]", " ")).fill_null("")
    words = text.str.split(" ").list.eval(pl.element().replace(COMPANY_ABBREVIATIONS))
    return words.list.filter((pl.element() != "") & ~pl.element().is_in(list(LEGAL_FORM_CODES)))


def company_distinguishing_tokens(expr: pl.Expr) -> pl.Expr:
    """The words of the standardised name that tell sisters and namesakes apart (a list):
    :data:`DISTINGUISHING_WORDS` and any word written in brackets, in order, each once.
    "Thompson Builders (Leeds) Holdings Ltd" -> ["LEEDS", "HOLDINGS"]; empty when none."""

    def tokens(e: pl.Expr) -> pl.Expr:
        words = _name_words(e)
        listed = words.list.filter(pl.element().is_in(list(DISTINGUISHING_WORDS)))
        # set_intersection keeps the order of its left side: the order of the name.
        marked = words.list.set_intersection(pl.concat_list(listed, _bracketed_words(e)))
        return marked.list.join(" ")

    return _word_list(per_distinct(expr, tokens, pl.String()))


def company_core_tokens(expr: pl.Expr) -> pl.Expr:
    """The rest of the standardised name as a list, each word once: no stop words, no
    distinguishing words. "The Thompson & Sons (Leeds) Holdings Ltd" -> ["THOMPSON", "SONS"]."""

    def tokens(e: pl.Expr) -> pl.Expr:
        words = _name_words(e)
        dropped = pl.element().is_in(list(DISTINGUISHING_WORDS | COMPANY_STOP_WORDS))
        core = words.list.filter(~dropped).list.set_difference(_bracketed_words(e))
        return core.list.join(" ")

    return _word_list(per_distinct(expr, tokens, pl.String()))


def _word_list(joined: pl.Expr) -> pl.Expr:
    """Space-joined words back to a list ("" -> []); computed per distinct name as text,
    because mapping list results back to rows is slow and fragile in polars."""
    return joined.str.split(" ").list.filter(pl.element() != "")


# ------------------------------------------------------------------- parts for the model

#: Column suffixes added by :func:`with_company_name_parts`.
NAME_PARTS: tuple[str, ...] = ("core", "words", "form")
_DISTINGUISHING_RE = rf"\b(?:{words_pattern(DISTINGUISHING_WORDS)})\b"


def with_company_name_parts(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    """``frame`` with the company names in ``column`` split the way the business model
    compares them, in three new columns:

    * ``{prefix}_core``: the standardised name without its distinguishing words (text),
    * ``{prefix}_words``: those distinguishing words, sorted, repeats kept (a list; [] if
      none): "X SERVICES SERVICES", a sister of "X SERVICES", has one more,
    * ``{prefix}_form``: the legal form code, as :func:`company_legal_form`.

    Unlike :func:`company_distinguishing_tokens`, a distinguishing word counts only after the
    first word ("NORTHERN RAIL" is a name, "X NORTHERN" a sister's), so the core is never
    empty, and words in brackets are ordinary words (sources drop the brackets: "THOMPSON
    BUILDERS (LEEDS)" and "THOMPSON BUILDERS LEEDS" have the same core). "X HOLDINGS LTD" ->
    ("X", ["HOLDINGS"], "LTD"); "The Smith & Sons (UK) Ltd" -> ("SMITH AND SONS", ["UK"],
    "LTD"). A null or empty name gives nulls. Computed once per distinct name, in stages (a
    single chained expression evaluates its shared parts again for every output).
    """
    names = frame[column].cast(pl.String).drop_nulls().unique()
    parts = _name_parts(names).rename(
        {"core": f"{prefix}_core", "words": f"{prefix}_words", "form": f"{prefix}_form"}
    )
    keyed = frame.with_columns(pl.col(column).cast(pl.String).alias("__name"))
    return keyed.join(parts, on="__name", how="left", maintain_order="left").drop("__name")


def _name_parts(names: pl.Series) -> pl.DataFrame:
    """``__name, core, words, form`` for distinct non-null ``names``."""
    spaced = "  " + pl.col("name").str.replace_all(" ", "  ", literal=True) + "  "
    abbreviations = COMPANY_ABBREVIATIONS  # written out word by word: padded, spaces doubled
    return (
        names.to_frame("__name")
        .with_columns(_legal_text(pl.col("__name")).alias("legal"))
        .with_columns(pl.col("legal").str.extract(rf"((?:\s+(?:{_FORMS}))+)$", 1).alias("tail"))
        .with_columns(
            pl.col("legal")
            .str.head(pl.col("legal").str.len_chars() - pl.col("tail").str.len_chars().fill_null(0))
            .alias("name"),
            pl.col("tail")
            .str.extract(rf"({_FORMS})$", 1)
            .str.replace_all(r"\s+", " ")
            .replace_strict(LEGAL_FORM_CODES, default=None, return_dtype=pl.String)
            .alias("form"),
        )
        .with_columns(
            collapse_spaces(
                spaced.str.replace_many(
                    [f" {k} " for k in abbreviations], [f" {v} " for v in abbreviations.values()]
                )
            ).alias("name")
        )
        .with_columns(
            pl.col("name").str.extract(r"^(\S+)", 1).alias("first"),
            pl.col("name").str.extract(r"^\S+\s+(.*)$", 1).fill_null("").alias("rest"),
        )
        .with_columns(
            pl.col("rest").str.extract_all(_DISTINGUISHING_RE).list.sort().alias("words"),
            collapse_spaces(pl.col("rest").str.replace_all(_DISTINGUISHING_RE, " ")).alias("rest"),
        )
        .select(
            "__name",
            pl.when(pl.col("first").is_not_null())
            .then(pl.concat_str("first", "rest", separator=" ", ignore_nulls=True))
            .alias("core"),
            pl.when(pl.col("first").is_not_null()).then(pl.col("words")).alias("words"),
            "form",
        )
    )
