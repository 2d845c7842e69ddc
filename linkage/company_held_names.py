"""Company-name levels for a name the register holds once: the same name
(:class:`CompanyNameHeldOnceLevel`) or one a keystroke away (:class:`CompanyNameNearHeldOnceLevel`).

Companies House names are unique by law, so a name one register row holds is rarer among other
businesses than its share of the records says; these levels let its weight be set apart from
the term-frequency and similar-name levels of :class:`~linkage.company_names.CompanyNameComparison`
(which uses them, and re-exports them). They build SQL only.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkage.errors import SettingsError
from linkage.levels import Level
from linkage.sql import LEFT, RIGHT, Dialect, col


def check_name(name: str, value: object) -> None:
    """Raise :class:`SettingsError` unless ``value`` is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{name} must be a non-empty string")


@dataclass(frozen=True)
class CompanyNameHeldOnceLevel(Level):
    """Standardised legal names are equal, with the same distinguishing words (``words_column``,
    when given), and the right-side record is the only one on its side holding that name
    (``held_column`` on the right counts the right-side records with it). In a link the right
    side is the register: Companies House names are unique, so a name the register holds once
    is much rarer among other businesses than its share of the records says, and the level's
    weight can be set apart from the term-frequency level's. The words must agree because an
    unregistered sister ("X HOLDINGS LTD") shares the core of the one registered name ("X
    LTD") without being that company.

    With ``form_column`` (the name's legal form, null without one), the level holds the
    pairs whose left-side record names a legal form where the right-side record has one, and
    with ``form_dropped`` the others: the record drops the form of a company's name ("X" for
    "X LTD"). The law keeps a *company* name unique, so "X LTD" met elsewhere is that company,
    but "X" alone may be a sole trader or partnership trading under the same words, which no
    register forbids; the two levels let that be weighed apart (the training of the business
    model splits their m and u by how often known matches and known non-matches drop it)."""

    column: str
    held_column: str
    words_column: str | None = None
    form_column: str | None = None
    form_dropped: bool = False

    def __post_init__(self) -> None:
        check_name("company level column", self.column)
        check_name("company level held_column", self.held_column)
        _check_optional(self.words_column, self.form_column)
        if not isinstance(self.form_dropped, bool):
            raise SettingsError("CompanyNameHeldOnceLevel form_dropped must be True or False")
        if self.form_dropped and self.form_column is None:
            raise SettingsError("CompanyNameHeldOnceLevel form_dropped needs a form_column")

    def sql(self, dialect: Dialect) -> str:
        conditions = [
            f"{col(LEFT, self.column)} = {col(RIGHT, self.column)}",
            f"{col(RIGHT, self.held_column)} = 1",
            *_same_kind(self.words_column, self.form_column, dropped=self.form_dropped),
        ]
        return f"coalesce(({' AND '.join(conditions)}), FALSE)"

    def columns(self) -> tuple[str, ...]:
        return (self.column, self.held_column, *_optional(self.words_column, self.form_column))

    @property
    def label(self) -> str:
        note = _form_note(self.form_column, dropped=self.form_dropped)
        return f"{self.column} exact, held by one right-side record{note}"


@dataclass(frozen=True)
class CompanyNameNearHeldOnceLevel(Level):
    """The names are at most one keystroke apart (a letter substituted, added or dropped, or
    two neighbours swapped: Damerau-Levenshtein <= 1) once their spaces are removed
    (``column`` holds the name without spaces, so "RAPID FIELD" meets "RAPIDFIELD"), with the
    same distinguishing words (``words_column``, when given), and the right-side record is the
    only one on its side holding its name (``held_column``, as :class:`CompanyNameHeldOnceLevel`).

    A one-keystroke slip in a long name the register holds once points at that company almost
    as surely as the name itself, while a Jaro-Winkler level treats it like any similar pair
    of names. Names shorter than ``min_length`` (on the right) are left out: a short name has
    many real names one keystroke away ("AE" and "AGE CONSULTING")."""

    column: str
    held_column: str
    words_column: str | None = None
    min_length: int = 8

    def __post_init__(self) -> None:
        check_name("company level column", self.column)
        check_name("company level held_column", self.held_column)
        _check_optional(self.words_column, None)
        if isinstance(self.min_length, bool) or not isinstance(self.min_length, int):
            raise SettingsError("CompanyNameNearHeldOnceLevel min_length must be an integer")
        if self.min_length < 2:
            raise SettingsError("CompanyNameNearHeldOnceLevel min_length must be >= 2")

    def sql(self, dialect: Dialect) -> str:
        left, right = col(LEFT, self.column), col(RIGHT, self.column)
        length = dialect.fn("string_length")
        # cheap conditions first: the distance is computed only for pairs that pass them
        gate = [
            f"{col(RIGHT, self.held_column)} = 1",
            f"{length}({right}) >= {int(self.min_length)}",
            f"abs({length}({left}) - {length}({right})) <= 1",
        ]
        gate.extend(_same_kind(self.words_column, None))
        distance = dialect.string_metric("damerau_levenshtein", left, right)
        return f"coalesce((CASE WHEN {' AND '.join(gate)} THEN {distance} <= 1 END), FALSE)"

    def columns(self) -> tuple[str, ...]:
        return (self.column, self.held_column, *_optional(self.words_column))

    @property
    def label(self) -> str:
        return f"{self.column} one keystroke apart, held by one right-side record"


@dataclass(frozen=True)
class CompanyTradingHeldOnceLevel(Level):
    """The left-side record's legal or trading name (``column``, ``trading_column``) equals the
    right-side record's trading name, and the right-side record is the only one on its side
    holding that name (``held_column`` on the right counts the right-side records with it as a
    legal or a trading name).

    Trading names are not unique by law ("THE ROYAL OAK" is on thousands of pubs), so a match
    through one is weak evidence in general; but most are as particular to their business as a
    company name ("ECHOPATH CONSULTING"), and one that the register holds once says about as
    much as a legal name held once, wherever the record now is. This level lets that weight be
    set apart from the level of any match through a trading name."""

    column: str
    trading_column: str
    held_column: str

    def __post_init__(self) -> None:
        check_name("company level column", self.column)
        check_name("company level trading_column", self.trading_column)
        check_name("company level held_column", self.held_column)

    def sql(self, dialect: Dialect) -> str:
        trading = col(RIGHT, self.trading_column)
        names = (col(LEFT, self.column), col(LEFT, self.trading_column))
        same = " OR ".join(f"coalesce({name} = {trading}, FALSE)" for name in names)
        return f"coalesce((({same}) AND {col(RIGHT, self.held_column)} = 1), FALSE)"

    def columns(self) -> tuple[str, ...]:
        return (self.column, self.trading_column, self.held_column)

    @property
    def label(self) -> str:
        names = f"{self.column} or {self.trading_column}"
        return f"{names} exact to a trading name held by one right-side record"


def _check_optional(words_column: str | None, form_column: str | None) -> None:
    if words_column is not None:
        check_name("company level words_column", words_column)
    if form_column is not None:
        check_name("company level form_column", form_column)


def _optional(*columns: str | None) -> tuple[str, ...]:
    return tuple(c for c in columns if c is not None)


def _form_note(form_column: str | None, *, dropped: bool = False) -> str:
    if form_column is None:
        return ""
    if dropped:
        return f", {form_column} on the right only"
    return f", {form_column} named on the left if on the right"


def _same_kind(
    words_column: str | None, form_column: str | None, *, dropped: bool = False
) -> list[str]:
    """Conditions of the held-once levels beyond the name: the same distinguishing words, and
    a legal form on the left whenever the right-side record has one (``dropped``: the right
    has one, the left none)."""
    conditions = []
    if words_column is not None:
        conditions.append(f"{col(LEFT, words_column)} = {col(RIGHT, words_column)}")
    if form_column is not None:
        left, right = col(LEFT, form_column), col(RIGHT, form_column)
        if dropped:
            conditions.append(f"({left} IS NULL AND {right} IS NOT NULL)")
        else:
            conditions.append(f"({left} IS NOT NULL OR {right} IS NULL)")
    return conditions
