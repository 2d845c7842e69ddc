"""Training the business model: u from random pairs, m from pairs whose match is known from
evidence the comparison does not see, lambda.

With identifiers (at least ``min_labelled_pairs`` pairs a shared valid CRN, VAT or PAYE
confirmed), m of every comparison is its level shares among those pairs; an identifier's own
m comes from the pairs *another* identifier confirmed (:func:`identifier_disagreement`: pairs
a CRN confirmed always agree on the CRN).

Without them, m comes from agreement on the other half of the record
(:func:`m_from_agreement`): the name comparisons from pairs that are each other's only
candidate at a postcode (one registered company there, one record), the location comparison
from pairs that are each other's only holder of a name. EM is the fallback when those are too
few. Neither can tell an unregistered "X HOLDINGS LTD" from a registered "X LTD" at the same
address (they agree on core name and address), so without identifiers the m of a record
naming a distinguishing word its register entry lacks is capped at :data:`WORDS_ADDED_M`:
sources drop words now and then, they do not add HOLDINGS.

Legal form is weak evidence whatever the training says: m of a differing form is at least
:data:`MIN_FORM_DISAGREEMENT` (companies re-register LTD to PLC; sources write forms loosely).

Identifier-confirmed pairs are a sample of the records that carry an identifier: companies,
rarely the sole traders and partnerships that trade under a trading name and have no CRN. So
their m is post-stratified (:func:`m_from_labelled`): m is estimated apart on the pairs whose
register row has a trading name and on the others, and the two are mixed in the proportions
of the records the model scores (those no identifier confirmed, measured on their pairs alone
at their postcode).

A legal name the register holds once, distinguishing words and all (:func:`set_held_once`), is
an exact match scored like the term-frequency level, m of an exact legal name over the name's
frequency, but with the Good-Turing frequency of a name seen once, 2 n2 / (n1 N) (n1, n2 the
register's names held by one and by two rows, N its rows), instead of its share of the
records, which counts the match itself: company names are unique by law, so a name seen once
is far rarer among other businesses than one in N, and the register says by how much. When
records carry identifiers, the pairs whose valid identifiers differ (not by a slip) are known
non-matches, billions of them: how many of those agree on a held-once name is that u measured
rather than inferred (:func:`held_once_among_unlike`), and replaces the Good-Turing frequency
once they are enough for it to expect :data:`MIN_UNLIKE_EXPECTED` agreements. The register's
held-twice names include common unincorporated names and reused ones, so Good-Turing
overstates how often another business shares a name held once: 4x on the hard data, where a
company met away from its registered office then stayed in review.

A record that drops the legal form its register row has ("X" for "X LTD") has a held-once level
of its own (:class:`~linkage.company_held_names.CompanyNameHeldOnceLevel`): the law keeps
company names unique, not trading styles. The pooled m of an exact name is split between the
two levels as the labelled pairs split, and u as the known non-matches agreeing on a held-once
name split (without them, as the records name a form or not). On the unseen business data a
held-once name without its form, met away from the company, was that company in 16% of records
(with it, 93%); identifier-confirmed matches drop the form 4% of the time there, 12% on the
blind data, which the split follows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from linkage import Linker
from linkage.company_names import (
    CompanyNameHeldOnceLevel,
    CompanyNameJaroWinklerLevel,
    CompanyNameNearHeldOnceLevel,
)
from linkage.comparisons import Comparison
from linkage.levels import Level
from linkage.model import PROBABILITY_FLOOR
from pipeline.business.blocking import em_rules
from pipeline.business.crn_rule import slips
from pipeline.business.deterministic import REG_UID
from pipeline.business.prepare import UID, norm_column
from pipeline.business.settings import MatchSettings

logger = logging.getLogger(__name__)

#: Share of true matches assumed to carry a valid but different identifier when no labelled
#: pairs can tell (a mistyped CRN is usually still well-formed).
DEFAULT_ID_DISAGREEMENT = 0.02
MIN_DISAGREEMENT_PAIRS = 30
MIN_FORM_DISAGREEMENT = 0.02
HELD = "name_held"  # how many register rows hold the record's name (core and words)
FORM = "legal_form"  # the name's legal form (LTD, PLC...), null without one
#: Known non-matching pairs (valid identifiers that differ) must be enough for the Good-Turing
#: frequency to expect this many held-once name agreements among them before their count
#: replaces it.
MIN_UNLIKE_EXPECTED = 10.0
#: m of "the record names a distinguishing word its register entry lacks" without identifiers.
WORDS_ADDED_M = 0.0001
NAME_COMPARISONS = ("company_name", "legal_form", "company_words")
#: The register frame's trading-name column, which sets the strata of labelled pairs.
TRADING_CORE = "trading_core"


@dataclass(frozen=True)
class NameCounts:
    """The register's rows with a name, and its names (core and distinguishing words) held by
    one and by two rows."""

    rows: int
    held_once: int
    held_twice: int

    def once_frequency(self) -> float:
        """Good-Turing frequency of a name the register holds once: 2 n2 / (n1 N), at most 1 / N
        (no smoothing when either count is zero)."""
        if self.rows == 0:
            return 1.0
        seen_once = 1.0
        if self.held_once and self.held_twice:
            seen_once = min(2.0 * self.held_twice / self.held_once, 1.0)
        return seen_once / self.rows


def train(
    linker: Linker,
    confirmed: pl.DataFrame,
    frames: tuple[pl.DataFrame, pl.DataFrame],
    id_types: list[str],
    settings: MatchSettings,
    held: NameCounts,
) -> dict[str, object]:
    """Estimate every parameter of ``linker`` (see the module docstring); returns what was
    done, for the run's facts. ``confirmed``: identifier-confirmed ``uid, reg_uid, method``;
    ``frames``: the incoming and register frames the linker compares; ``held``: the
    register's name counts."""
    linker.estimate_u(settings.max_training_pairs, seed=settings.seed)
    training: dict[str, object] = {"labelled_pairs": confirmed.height}
    if confirmed.height >= settings.min_labelled_pairs:
        training |= m_from_labelled(
            linker, confirmed, *frames, min_pairs=settings.min_labelled_pairs
        )
    else:
        training |= m_from_agreement(linker, *frames, min_pairs=settings.min_labelled_pairs)
        words = linker.parameters.comparisons["company_words"]
        words.m = _capped(words.m, 0, WORDS_ADDED_M)  # gamma 0: a word the register lacks
    form = linker.parameters.comparisons["legal_form"]
    form.m = _floored(form.m, 0, MIN_FORM_DISAGREEMENT)  # gamma 0: forms differ
    unlike = held_once_among_unlike(*frames, id_types)
    without_form = share_without_form(frames[0])
    training["name_held_once"] = set_held_once(linker, held, unlike, without_form)
    disagreement = identifier_disagreement(confirmed, *frames, id_types)
    training["identifiers"] = _set_identifier_m(linker, disagreement)
    training["lambda"] = linker.estimate_lambda()
    return training


def m_from_labelled(
    linker: Linker,
    confirmed: pl.DataFrame,
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    *,
    min_pairs: int,
) -> dict[str, object]:
    """m from the identifier-confirmed pairs, post-stratified on whether the register row has
    a trading name. The weights are the strata's shares among the records the model scores:
    those no identifier confirmed, measured on their pairs alone at their postcode (agreeing
    on the place says nothing of the kind of business). Unstratified when a stratum or that
    sample has fewer than ``min_pairs`` pairs."""
    pairs = _id_pairs(confirmed)
    traders = register.filter(pl.col(TRADING_CORE).is_not_null())[UID].implode()
    scored = incoming.join(confirmed.select(UID), on=UID, how="anti")
    sample = _only_each_other(scored, register, ["postcode_std"])
    share = float(sample.select(pl.col("id_r").is_in(traders).mean()).item() or 0.0)
    strata = [(pairs.filter(pl.col("id_r").is_in(traders)), share)]
    strata.append((pairs.filter(~pl.col("id_r").is_in(traders)), 1.0 - share))
    facts: dict[str, object] = {
        "m_from": "pairs confirmed by a shared identifier",
        "labelled_with_trading_name": strata[0][0].height,
        "scored_pairs_alone_at_postcode": sample.height,
        "scored_share_with_trading_name": round(share, 6),
    }
    if min(sample.height, *(stratum.height for stratum, _ in strata)) < min_pairs:
        linker.estimate_m_from_labelled_pairs(pairs)
        return facts
    mixed: dict[str, list[float]] = {}
    for stratum, weight in strata:
        linker.estimate_m_from_labelled_pairs(stratum)
        for name, parameters in linker.parameters.comparisons.items():
            previous = mixed.get(name, [0.0] * len(parameters.m))
            weighted = zip(previous, parameters.m, strict=True)
            mixed[name] = [p + weight * (m or 0.0) for p, m in weighted]
    for name, m in mixed.items():
        linker.parameters.comparisons[name].m = list[float | None](m)
    return facts | {"m_from": "pairs confirmed by a shared identifier, post-stratified"}


def set_held_once(
    linker: Linker,
    held: NameCounts,
    unlike: tuple[int, int, int] = (0, 0, 0),
    dropped_share: float = 0.0,
) -> dict[str, float | int]:
    """Score the held-once levels of ``company_name`` as an exact legal name of the Good-Turing
    frequency (see the module docstring): m of an exact legal name, pooled over the exact
    levels, goes to the term-frequency level and is split between the held-once levels with
    the record naming the register's legal form and dropping it, in the proportions of the
    labelled pairs at those two levels; u, the frequency, is split in the proportions the
    known non-matches agreeing on a held-once name show (``unlike``: pairs, agreeing with the
    form named, agreeing with it dropped: :func:`held_once_among_unlike`), or, when they are
    too few, those of the records: ``dropped_share`` of them name no form. The level of a name
    one keystroke from a held-once name, when there is one, shares m with the similar-names
    (Jaro-Winkler) level the same way: it is that level's part where the name is rare, and
    rarity changes u, not m (its u is the engine's floor: such a pair is never met among
    random pairs)."""
    comparison = next(c for c in linker.comparisons if c.name == "company_name")
    once, dropped = held_once_gammas(comparison)
    exact = comparison.tf_gamma
    assert exact is not None, "company_name has a term-frequency level"
    parameters = linker.parameters.comparisons["company_name"]
    m = list(parameters.m)
    named_m = m[once] or 0.0
    dropped_m = (m[dropped] or 0.0) if dropped is not None else 0.0
    share = dropped_m / (named_m + dropped_m) if named_m + dropped_m > 0 else 0.0
    pooled = named_m + dropped_m + (m[exact] or 0.0)
    m[exact], m[once] = pooled, pooled * (1.0 - share)
    if dropped is not None:
        m[dropped] = pooled * share
    near = gamma_of(comparison, CompanyNameNearHeldOnceLevel)
    if near is not None:  # the near level is the similar-names level's rarest part
        similar = gamma_of(comparison, CompanyNameJaroWinklerLevel)
        assert similar is not None, "company_name has a Jaro-Winkler level"
        m[near] = m[similar] = (m[near] or 0.0) + (m[similar] or 0.0)
    parameters.m = m
    pairs, agreeing, agreeing_dropped = unlike
    if dropped is None:  # one held-once level holds every agreement
        agreeing, agreeing_dropped, dropped_share = agreeing + agreeing_dropped, 0, 0.0
    frequency = held.once_frequency()
    u = list(parameters.u)
    if pairs * frequency >= MIN_UNLIKE_EXPECTED:
        u[once] = (agreeing + 0.5) / (pairs + 1.0)
        frequency_dropped = (agreeing_dropped + 0.5) / (pairs + 1.0)
    else:
        u[once] = frequency * (1.0 - dropped_share)
        frequency_dropped = frequency * dropped_share
    if dropped is not None:
        u[dropped] = frequency_dropped
    parameters.u = u
    return {
        "register_names_held_once": held.held_once,
        "held_twice": held.held_twice,
        "good_turing_frequency": held.once_frequency(),
        "unlike_identifier_pairs": pairs,
        "unlike_identifier_pairs_agreeing": agreeing,
        "frequency": u[once] or 0.0,
        "form_dropped_m_share": round(share, 6),
        "unlike_identifier_pairs_agreeing_form_dropped": agreeing_dropped,
        "frequency_form_dropped": frequency_dropped if dropped is not None else 0.0,
    }


def held_once_gammas(comparison: Comparison) -> tuple[int, int | None]:
    """The gammas of ``comparison``'s held-once level with the record naming the register's
    legal form, and of the one where it drops it (None without a form column)."""
    once = gamma_where(
        comparison,
        lambda level: isinstance(level, CompanyNameHeldOnceLevel) and not level.form_dropped,
    )
    dropped = gamma_where(
        comparison, lambda level: isinstance(level, CompanyNameHeldOnceLevel) and level.form_dropped
    )
    assert once is not None, "company_name has a held-once level"
    return once, dropped


def share_without_form(incoming: pl.DataFrame) -> float:
    """Share of the records with a name that name no legal form."""
    named = incoming.filter(pl.col("name_core").is_not_null())
    return float(named.select(pl.col(FORM).is_null().mean()).item() or 0.0) if named.height else 0.0


def held_once_among_unlike(
    incoming: pl.DataFrame, register: pl.DataFrame, id_types: list[str]
) -> tuple[int, int, int]:
    """(pairs whose valid identifiers of a type differ, not by a slip: known non-matches; how
    many of them agree on a name, core and distinguishing words, that the register holds
    once, the record naming the register's legal form; how many agree so but drop it),
    summed over ``id_types``."""
    words = pl.col("name_words").list.join(" ").alias("__words")
    pairs = agreeing = dropping = 0
    for id_type in id_types:
        column = norm_column(id_type)
        left = incoming.drop_nulls([column, "name_core"]).select(
            "name_core", words, pl.col(column).alias("a"), pl.col(FORM).alias("form_a")
        )
        right = register.drop_nulls([column, "name_core"])
        pairs += left.height * right.height
        once = right.filter(pl.col(HELD) == 1).select(
            "name_core", words, pl.col(column).alias("b"), pl.col(FORM).alias("form_b")
        )
        same = left.join(once, on=["name_core", "__words"])
        differ = (pl.col("a") != pl.col("b")) & ~slips(pl.col("a"), pl.col("b"))
        unlike = same.filter(differ)
        dropped = pl.col("form_a").is_null() & pl.col("form_b").is_not_null()
        dropping += unlike.filter(dropped).height
        agreeing += unlike.filter(~dropped).height
    return pairs, agreeing, dropping


def gamma_of(comparison: Comparison, kind: type[Level]) -> int | None:
    """The gamma of ``comparison``'s level of type ``kind`` (None without one)."""
    return gamma_where(comparison, lambda level: isinstance(level, kind))


def gamma_where(comparison: Comparison, wanted: Callable[[Level], bool]) -> int | None:
    """The gamma of ``comparison``'s first level that is ``wanted`` (None without one)."""
    infos = zip(comparison.levels, comparison.level_info(), strict=True)
    return next((i.gamma for level, i in infos if wanted(level)), None)


def held_once_lifts(linker: Linker) -> list[tuple[int | None, float]]:
    """(gamma of each held-once level of ``company_name``, the bits its weight lacks): the
    engine floors every m and u at :data:`~linkage.model.PROBABILITY_FLOOR` so that a level
    never seen in training cannot get an infinite weight, but the held-once u is a frequency
    set on purpose (:func:`set_held_once`, 3e-7 at 300k register rows), which the floor would
    cap. The lift is log2(floor / u), 0 when u is at or above the floor. The level with the
    record naming the register's legal form comes first."""
    comparison = next(c for c in linker.comparisons if c.name == "company_name")
    return [_lift(linker, gamma) for gamma in held_once_gammas(comparison) if gamma is not None]


def floor_lift(linker: Linker, kind: type[Level]) -> tuple[int | None, float]:
    """(gamma of ``company_name``'s level of type ``kind``, log2(floor / u) of its u, 0 when
    u is at or above :data:`~linkage.model.PROBABILITY_FLOOR`); (None, 0.0) without one."""
    comparison = next(c for c in linker.comparisons if c.name == "company_name")
    gamma = gamma_of(comparison, kind)
    return (None, 0.0) if gamma is None else _lift(linker, gamma)


def _lift(linker: Linker, gamma: int) -> tuple[int, float]:
    u = linker.parameters.comparisons["company_name"].u[gamma] or 0.0
    if u <= 0.0 or u >= PROBABILITY_FLOOR:
        return gamma, 0.0
    return gamma, math.log2(PROBABILITY_FLOOR / u)


def m_from_agreement(
    linker: Linker, incoming: pl.DataFrame, register: pl.DataFrame, *, min_pairs: int
) -> dict[str, object]:
    """m of the name comparisons from pairs alone at their postcode, m of the location from
    pairs alone with their name (core and words); EM when either set has fewer than
    ``min_pairs`` pairs."""
    by_place = _only_each_other(incoming, register, ["postcode_std"])
    by_name = _only_each_other(incoming, register, ["name_core", "__words"])
    facts: dict[str, object] = {"pairs_alone_at_postcode": by_place.height}
    facts["pairs_alone_with_name"] = by_name.height
    if min(by_place.height, by_name.height) < min_pairs:
        linker.estimate_m(em_rules())
        return facts | {"m_from": "expectation maximisation"}
    parameters = linker.parameters.comparisons
    linker.estimate_m_from_labelled_pairs(by_name)
    location = list(parameters["location"].m)
    linker.estimate_m_from_labelled_pairs(by_place)
    parameters["location"].m = location
    return facts | {"m_from": "pairs alone at their postcode (names), with their name (location)"}


def _only_each_other(
    incoming: pl.DataFrame, register: pl.DataFrame, keys: list[str]
) -> pl.DataFrame:
    """``id_l, id_r``: an incoming record and a register row with equal non-null ``keys``,
    each the only one on its side with those values."""

    def alone(frame: pl.DataFrame, uid: str) -> pl.DataFrame:
        keyed = frame.with_columns(pl.col("name_words").list.join(" ").alias("__words"))
        return (
            keyed.select(pl.col(UID).alias(uid), *keys)
            .drop_nulls(keys)
            .filter(pl.len().over(keys) == 1)
        )

    return alone(incoming, "id_l").join(alone(register, "id_r"), on=keys).select("id_l", "id_r")


def _id_pairs(confirmed: pl.DataFrame) -> pl.DataFrame:
    return confirmed.select(pl.col(UID).alias("id_l"), pl.col(REG_UID).alias("id_r"))


def _capped(m: list[float | None], gamma: int, cap: float) -> list[float | None]:
    """``m`` with level ``gamma`` at most ``cap``, the others scaled to sum to one."""
    return _with_level(m, gamma, min(m[gamma] or 0.0, cap))


def _floored(m: list[float | None], gamma: int, floor: float) -> list[float | None]:
    """``m`` with level ``gamma`` at least ``floor``, the others scaled to sum to one."""
    return _with_level(m, gamma, max(m[gamma] or 0.0, floor))


def _with_level(m: list[float | None], gamma: int, value: float) -> list[float | None]:
    rest = sum(v or 0.0 for g, v in enumerate(m) if g != gamma)
    scale = (1.0 - value) / rest if rest > 0 else 0.0
    return [value if g == gamma else (v or 0.0) * scale for g, v in enumerate(m)]


def identifier_disagreement(
    confirmed: pl.DataFrame,
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    id_types: list[str],
) -> dict[str, tuple[int, int]]:
    """For each identifier type: (pairs that another identifier confirmed, whether or not this
    one agreed too, and where both sides have a valid one of this type that is not a slip of
    the other's; how many of those disagree on it). Slips are scored like a missing
    identifier, so they are left out of its m."""
    out: dict[str, tuple[int, int]] = {}
    for id_type in id_types:
        column = norm_column(id_type)
        both = (
            confirmed.filter(
                pl.col("method").str.split("+").list.set_difference([id_type]).list.len() > 0
            )
            .join(incoming.select(UID, a=column), on=UID)
            .join(register.select(pl.col(UID).alias(REG_UID), b=column), on=REG_UID)
            .drop_nulls(["a", "b"])
            .filter(~slips(pl.col("a"), pl.col("b")))
        )
        out[id_type] = (both.height, int((both["a"] != both["b"]).sum()))
    return out


def _set_identifier_m(
    linker: Linker, disagreement: dict[str, tuple[int, int]]
) -> dict[str, dict[str, float | int]]:
    """Set m of each identifier comparison: the share of disagreeing pairs among the pairs
    another identifier confirmed (half a count added to each level), or
    :data:`DEFAULT_ID_DISAGREEMENT` when fewer than :data:`MIN_DISAGREEMENT_PAIRS` exist."""
    facts: dict[str, dict[str, float | int]] = {}
    for id_type, (pairs, differ) in disagreement.items():
        estimated = (differ + 0.5) / (pairs + 1.0)
        m_differ = estimated if pairs >= MIN_DISAGREEMENT_PAIRS else DEFAULT_ID_DISAGREEMENT
        linker.parameters.comparisons[id_type].m = [m_differ, 1.0 - m_differ]  # else, exact
        facts[id_type] = {"pairs": pairs, "disagree": differ, "m_disagree": round(m_differ, 6)}
    return facts
