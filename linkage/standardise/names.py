"""Person-name standardisation: case, accents, punctuation, titles, and full-name splitting."""

from __future__ import annotations

import polars as pl

from linkage.standardise._text import collapse_spaces, fold_text, per_distinct, words_pattern

#: Honorifics removed from the start of a name (repeated titles such as "PROF DR" too).
TITLES: frozenset[str] = frozenset(
    {
        "MR", "MRS", "MS", "MISS", "MX", "MASTER", "DR", "DOCTOR", "PROF", "PROFESSOR",
        "SIR", "DAME", "LADY", "LORD", "REV", "REVD", "REVEREND", "FR", "FATHER", "SR", "SISTER",
        "CAPT", "CAPTAIN", "MAJ", "MAJOR", "COL", "COLONEL", "CLLR", "HON", "RT HON",
    }
)  # fmt: skip

#: Generational and post-nominal suffixes removed from the end of a name.
SUFFIXES: frozenset[str] = frozenset({"JR", "JNR", "JUNIOR", "SNR", "SENIOR", "II", "III", "IV"})

_TITLE_RE = rf"^(?:(?:{words_pattern(TITLES)})\s+)+"
_SUFFIX_RE = rf"(?:\s+(?:{words_pattern(SUFFIXES)}))+$"


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """Standardise a name: upper case, no accents, no titles or suffixes, single spaces.

    Apostrophes are dropped so O'BRIEN and OBRIEN agree; hyphens and other punctuation become
    spaces so SMITH-JONES and SMITH JONES agree. A lone title is kept: MISS may be a surname.
    """
    return per_distinct(expr, lambda e: _clean(e, keep_hyphens=False), pl.String())


def _clean(expr: pl.Expr, *, keep_hyphens: bool) -> pl.Expr:
    # \p{L}: letters of other scripts (ИВАН, 王) survive; Latin accents are already folded.
    other = r"[^\p{L}0-9 \-]+" if keep_hyphens else r"[^\p{L}0-9 ]+"
    text = fold_text(expr).str.replace_all(r"['’`]", "").str.replace_all(other, " ")
    if keep_hyphens:
        text = text.str.replace_all(r"\s*-\s*", "-").str.strip_chars("-")
    text = collapse_spaces(text)
    # Titles are only stripped when something follows them: a lone "MISS" may be a surname.
    text = text.str.replace(_TITLE_RE, "")
    return collapse_spaces(text.str.replace(_SUFFIX_RE, ""))


def split_full_name(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split a full name into (first name, surname) expressions, both standardised.

    "Dr John Paul Smith" gives ("JOHN", "SMITH"); "SMITH, John" (surname first, comma) gives
    ("JOHN", "SMITH"). A single word is treated as a surname with no first name. Hyphenated
    surnames stay whole: "Ann Smith-Jones" gives ("ANN", "SMITH JONES"), as normalise_name would.
    """
    has_comma = expr.str.contains(",", literal=True)
    parts = expr.str.splitn(",", 2)
    comma_surname = normalise_name(parts.struct.field("field_0"))
    comma_first = normalise_name(parts.struct.field("field_1")).str.split(" ").list.first()

    tokens = _clean(expr, keep_hyphens=True).str.split(" ")
    plain_first = pl.when(tokens.list.len() > 1).then(tokens.list.first()).otherwise(None)
    plain_surname = tokens.list.last().str.replace_all("-", " ")

    first = pl.when(has_comma).then(comma_first).otherwise(plain_first)
    surname = pl.when(has_comma).then(comma_surname).otherwise(plain_surname)
    return first, surname
