"""Comparison kinds: the one translator from a configured kind name to a ready-made comparison.

Configs name a comparison by kind (``surname: name`` in a pipeline config, ``{type: name,
column: surname}`` in a ``pprl link`` job); :func:`build_comparison` turns the kind, the column
and the options the kind takes into a :class:`~linkage.comparisons.Comparison`, and each kind
says how its column is standardised first (:func:`~linkage.standardise.standardise_columns`).

The kinds, their options and their standardisation are the entries of :data:`KINDS` below;
each comparison's docstring lists its levels. ``dob`` is another spelling of ``date``, and the
``name`` kind weighs rare names more (term frequencies) unless told not to. The ``identifier``
kind (:class:`IdentifierComparison`) compares identifiers that were validated beforehand.

>>> build_comparison("dob", "birth_date", standardised_as="date").levels[3].date_format
'%Y-%m-%d'

Adding a kind is one entry in :data:`KINDS` (see "Adding a comparison kind" in
``linkage/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import linkage.comparisons as cl
from linkage.errors import SettingsError
from linkage.standardise.columns import ISO_DATE, Standardisation

Option = Literal["thresholds", "term_frequency", "reversed_with", "date_format"]


@dataclass(frozen=True)
class KindOptions:
    """What a config may say about one comparison beyond its kind and column. ``None``
    leaves the kind's default; ``standardised`` is true when the column was standardised as
    the kind expects."""

    name: str | None = None
    thresholds: tuple[float, ...] | None = None
    term_frequency: bool | None = None
    reversed_with: str | None = None
    date_format: str | None = None
    standardised: bool = False

    def given(self) -> list[Option]:
        """Options set (``term_frequency=False`` counts as not set: it is every kind's
        choice when it takes no term frequencies)."""
        given: dict[Option, bool] = {
            "thresholds": self.thresholds is not None,
            "term_frequency": bool(self.term_frequency),
            "reversed_with": self.reversed_with is not None,
            "date_format": self.date_format is not None,
        }
        return [option for option, is_set in given.items() if is_set]


@dataclass(frozen=True)
class ComparisonKind:
    """A named, ready-made comparison: how to build it, which options it takes, and how its
    column is standardised (None: used as it is)."""

    name: str
    build: Callable[[str, KindOptions], cl.Comparison]
    options: frozenset[Option] = field(default_factory=frozenset)
    standardise: Standardisation | None = None
    aliases: tuple[str, ...] = ()


def _distances(kind: str, thresholds: Sequence[float] | None) -> list[int]:
    distances = [int(d) for d in thresholds or (1, 2)]
    if thresholds and distances != list(thresholds):
        raise SettingsError(f"{kind}: edit-distance thresholds must be whole numbers")
    return distances


def _exact(column: str, o: KindOptions) -> cl.Comparison:
    return cl.ExactComparison(column, term_frequency=bool(o.term_frequency), name=o.name)


def _name(column: str, o: KindOptions) -> cl.Comparison:
    return cl.NameComparison(
        column,
        term_frequency=True if o.term_frequency is None else o.term_frequency,
        reversed_with=o.reversed_with,
        name=o.name,
        **({"thresholds": o.thresholds} if o.thresholds else {}),
    )


def _jaro_winkler(column: str, o: KindOptions) -> cl.Comparison:
    thresholds = o.thresholds or (0.9, 0.7)
    return cl.JaroWinklerAtThresholds(
        column, thresholds, term_frequency=bool(o.term_frequency), name=o.name
    )


def _levenshtein(column: str, o: KindOptions) -> cl.Comparison:
    distances = _distances("levenshtein", o.thresholds)
    return cl.LevenshteinAtThresholds(column, distances, name=o.name)


def _damerau_levenshtein(column: str, o: KindOptions) -> cl.Comparison:
    distances = _distances("damerau_levenshtein", o.thresholds)
    return cl.DamerauLevenshteinAtThresholds(column, distances, name=o.name)


def _date(column: str, o: KindOptions) -> cl.Comparison:
    date_format = o.date_format or (ISO_DATE if o.standardised else None)
    return cl.DateOfBirthComparison(column, date_format=date_format, name=o.name)


def _postcode(column: str, o: KindOptions) -> cl.Comparison:
    return cl.PostcodeComparison(column, term_frequency=bool(o.term_frequency), name=o.name)


class IdentifierComparison(cl.Comparison):
    """Levels: null (missing or invalid: neutral), the same identifier, all other (two valid
    identifiers that differ).

    For identifiers already validated and normalised (e.g. by check digit): the exact level
    is near-certain evidence of a match and, unlike a name or a date, the other level is
    strong evidence against one, since a valid identifier is rarely mistyped into another
    valid one. Its m and u are estimated like any comparison's (or set on the parameters).
    """

    def __init__(self, column: str, *, name: str | None = None) -> None:
        super().__init__(
            name or column,
            [cl.NullLevel(column), cl.ExactMatchLevel(column), cl.ElseLevel()],
            description="validated identifier",
        )


def _identifier(column: str, o: KindOptions) -> cl.Comparison:
    return IdentifierComparison(column, name=o.name)


#: Every comparison kind a config can name, by name.
KINDS: dict[str, ComparisonKind] = {
    kind.name: kind
    for kind in (
        ComparisonKind("exact", _exact, frozenset({"term_frequency"})),
        ComparisonKind(
            "name",
            _name,
            frozenset({"thresholds", "term_frequency", "reversed_with"}),
            standardise="name",
        ),
        ComparisonKind("jaro_winkler", _jaro_winkler, frozenset({"thresholds", "term_frequency"})),
        ComparisonKind("levenshtein", _levenshtein, frozenset({"thresholds"})),
        ComparisonKind("damerau_levenshtein", _damerau_levenshtein, frozenset({"thresholds"})),
        ComparisonKind(
            "date", _date, frozenset({"date_format"}), standardise="date", aliases=("dob",)
        ),
        ComparisonKind(
            "postcode", _postcode, frozenset({"term_frequency"}), standardise="postcode"
        ),
        ComparisonKind("identifier", _identifier),
    )
}
_BY_ALIAS = {alias: kind for kind in KINDS.values() for alias in kind.aliases}


def kind_names() -> tuple[str, ...]:
    """Every spelling a config may use: the kinds' names, then their aliases."""
    return (*KINDS, *_BY_ALIAS)


def comparison_kind(name: str) -> ComparisonKind:
    """The kind called ``name`` (or an alias of it); raises :class:`SettingsError`."""
    kind = KINDS.get(name) or _BY_ALIAS.get(name)
    if kind is None:
        raise SettingsError(f"unknown comparison {name!r}; choose from {', '.join(kind_names())}")
    return kind


def build_comparison(
    kind: str,
    column: str,
    *,
    name: str | None = None,
    thresholds: Sequence[float] | None = None,
    term_frequency: bool | None = None,
    reversed_with: str | None = None,
    date_format: str | None = None,
    standardised_as: Standardisation | None = None,
) -> cl.Comparison:
    """The comparison of kind ``kind`` on ``column``.

    ``standardised_as``: how the column was standardised, if it was (a standardised date is
    ISO text, so the date kind parses it as such). Options the kind does not take raise one
    :class:`SettingsError` listing each (``term_frequency=False`` counts as not given).
    """
    entry = comparison_kind(kind)
    options = KindOptions(
        name=name,
        thresholds=tuple(thresholds) if thresholds is not None else None,
        term_frequency=term_frequency,
        reversed_with=reversed_with,
        date_format=date_format,
        standardised=standardised_as is not None and standardised_as == entry.standardise,
    )
    problems = [
        f"{option} does not apply to type {kind!r}"
        for option in options.given()
        if option not in entry.options
    ]
    if problems:
        raise SettingsError(problems)
    return entry.build(column, options)
