"""Source slips in company names undone before standardisation (:func:`repaired_company_name`).

Each repair turns a slip that would otherwise change the name's core into what the source
meant, so the name still equals its register entry:

* a mistyped LIMITED at the end ("LIMITTED", "LIMTED", "LKMITED") becomes LIMITED, which
  standardisation strips as the legal form, and so does a mistyped LTD without a vowel ("LD",
  "LTDD", "KTD": with a vowel it may be a word, "LID");
* a word one keystroke from a distinguishing word (HOLDINGS, DEVELOPMENTS, GROUP...: see
  :data:`~linkage.standardise.companies.DISTINGUISHING_WORDS`) becomes that word
  ("DEVELKPMENTS", "INVSTMENTS", "SERVICE"), unless it is a real word of its own
  (:data:`REAL_WORDS`); words shorter than :data:`MIN_WORD_LENGTH` are left alone (too many
  real words are one keystroke from NORTH or WALES);
* an abbreviation of a distinguishing word (:data:`ABBREVIATED_WORDS`: "INT", "HLDGS",
  "PROPS"...) becomes the word: abbreviations are written out after the name's parts are
  split (:func:`~linkage.company_tokens.written_out`), which would put PROPERTIES in the core
  of "X PROPS LTD" and leave its distinguishing words empty, unlike "X PROPERTIES LTD";
* "TA" between two words, a "T/A" whose slash was lost, becomes the trading-as marker;
* what follows the legal form (LIMITED, LTD, PLC, LLP, CIC, or a slip of LIMITED or LTD) is
  dropped: a registered name ends with its legal form, so "X LTD - PLANT HIRE", "X LIMITED
  (LEEDS)" or "X LTD SOFTWARE" is a directory's description or place after the name, not
  part of it. A trading-as part, a longer legal form (LIMITED PARTNERSHIP, LIMITED LIABILITY
  PARTNERSHIP, PUBLIC LIMITED COMPANY) and a status note are kept.

"One keystroke": a letter substituted, added or dropped, or two neighbours swapped.
"""

from __future__ import annotations

import polars as pl

from linkage.company_tokens import TOKEN_VARIANTS
from linkage.standardise.companies import DISTINGUISHING_WORDS

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MIN_WORD_LENGTH = 6
#: Real words one keystroke from LIMITED or a distinguishing word: not slips.
REAL_WORDS: frozenset[str] = frozenset({"LIMITER", "GROUT", "GRADING", "ICELAND", "CAPITOL"})


def one_keystroke_variants(word: str) -> set[str]:
    """Every word one keystroke from ``word``, ``word`` itself excluded."""
    variants: set[str] = set()
    for i in range(len(word) + 1):
        variants.update(word[:i] + c + word[i:] for c in LETTERS)  # added
    for i in range(len(word)):
        variants.add(word[:i] + word[i + 1 :])  # dropped
        variants.update(word[:i] + c + word[i + 1 :] for c in LETTERS)  # substituted
    for i in range(len(word) - 1):
        variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])  # swapped
    return variants - {word}


def _mistyped_words() -> dict[str, str]:
    """Slip -> distinguishing word, for slips that only one word explains and that are not
    words themselves. GROUP is in although short: "GROUP" is among the commonest words."""
    words = sorted(w for w in DISTINGUISHING_WORDS if len(w) >= MIN_WORD_LENGTH or w == "GROUP")
    found: dict[str, set[str]] = {}
    for word in words:
        for variant in one_keystroke_variants(word):
            found.setdefault(variant, set()).add(word)
    taken = DISTINGUISHING_WORDS | REAL_WORDS
    return {v: next(iter(w)) for v, w in found.items() if len(w) == 1 and v not in taken}


MISTYPED_WORDS: dict[str, str] = _mistyped_words()
#: Abbreviation -> distinguishing word: those of the token variants, and the common "INT",
#: "HLDG(S)" and "GRP" (a word written with a full stop, "INT.", counts too).
ABBREVIATED_WORDS: dict[str, str] = {
    short: word for short, word in TOKEN_VARIANTS.items() if word in DISTINGUISHING_WORDS
} | {"INT": "INTERNATIONAL", "HLDGS": "HOLDINGS", "HLDG": "HOLDINGS", "GRP": "GROUP"}
_REPAIRED_WORDS = MISTYPED_WORDS | ABBREVIATED_WORDS
_LIMITED_SLIPS = "|".join(sorted(one_keystroke_variants("LIMITED") - REAL_WORDS))
_LTD_SLIPS = "|".join(
    sorted(v for v in one_keystroke_variants("LTD") if not set(v) & set("AEIOUY"))
)
_MISTYPED_LIMITED = rf"\s(?:{_LIMITED_SLIPS}|{_LTD_SLIPS})[.,]*\s*$"
_FORM_WORDS = rf"LIMITED|LTD|PLC|LLP|CIC|{_LIMITED_SLIPS}|{_LTD_SLIPS}"
# What may follow a legal form: a trading name, the rest of a longer form, a status note.
_KEPT_TAILS = (
    r"\(?\s*(?:T\s*/\s*AS?|T\\A|TRADING\s+AS|PARTNERSHIP|LIABILITY|COMPANY|CO|IN\s+LIQUIDATION|"
    r"IN\s+ADMINISTRATION|IN\s+RECEIVERSHIP|DISSOLVED|STRUCK\s+OFF)\b"
)
_TAIL_AFTER_FORM = rf"^(\S.*?\s(?:{_FORM_WORDS})\.?)[\s,]+[-(]?\s*[A-Z0-9].*$"
_BEFORE_KEPT_TAIL = rf"(\s(?:{_FORM_WORDS})\.?)([\s,-]*{_KEPT_TAILS})"
_FENCE = "\x1e"
_BARE_TA = r"(\S)\s+TA\s+(\S)"


def repaired_company_name(name: pl.Expr) -> pl.Expr:
    """The raw names in ``name``, upper case, with the slips of the module docstring undone
    (a name does not start with TA, nor is a first word taken for LIMITED)."""
    text = name.cast(pl.String).str.strip_chars().str.to_uppercase()
    bare = pl.element().str.strip_chars_end(".,")
    repaired = bare.replace_strict(_REPAIRED_WORDS, default=pl.element())
    words = text.str.split(" ").list.eval(repaired).list.join(" ")
    text = pl.when(text.is_not_null()).then(words)
    text = text.str.replace(_BARE_TA, "$1 T/A $2")  # before the tail: a trading name stays
    return _without_tail(text).str.replace(_MISTYPED_LIMITED, " LIMITED")


def _without_tail(text: pl.Expr) -> pl.Expr:
    """``text`` without what follows its first legal form (see the module docstring). A kept
    tail is fenced off from its form by a marker first: ``text`` is read once (the regex
    engine has no look-ahead, and an expression used twice is computed twice)."""
    fenced = text.str.replace(_BEFORE_KEPT_TAIL, f"$1{_FENCE}$2")
    cut = fenced.str.replace(_TAIL_AFTER_FORM, "$1")
    return cut.str.replace_all(_FENCE, "", literal=True)
