"""Sister companies at one postcode: what a record's distinguishing words are worth when its
name core and postcode agree with a register row's.

Fellegi-Sunter adds the evidence of the name core and of the postcode as if they were
independent. For the companies of one group they are not: "X LTD" and "X HOLDINGS LTD" share
both the core and the registered office, so an unregistered "X HOLDINGS LTD" agrees with the
registered "X LTD" on both, and its extra word (about -11 bits) is set against some 28 bits
of core and postcode counted as if a company elsewhere had had to agree on them by chance. On
the seen business data none of some 20,000 candidate pairs with such an extra word was the
record's company (2-3% of those lacking one of the row's words were), yet the former scored
around 0.6, and a cut at 0.5 linked them.

So a pair whose legal name core agrees exactly (not a name the register holds once, which is
scored by its own level), whose postcode agrees (the location comparison's two same-postcode
levels) and whose distinguishing words differ (the record has a word the row lacks, or lacks
one of the row's) is scored by its words against the pairs in that situation
(:class:`FamilyWeights`):

* the share of matches among the candidate pairs agreeing on core and postcode, ``lambda``,
  fitted by EM over their words levels (one parameter: m and u below are fixed);
* m of each words level: the model's (identifier-confirmed pairs, or agreement without them);
* u of each words level: its share among the register's own pairs of rows with the same core
  at the same postcode, which are different companies: the register's families show how the
  words of companies sharing a core and an office differ.

The pair's weight becomes log2(lambda / (1 - lambda)) + log2(m / u) of its words level + the
weights of the other comparisons (legal form, identifiers); the prior, core and location
weights (and their term-frequency adjustments) are not added again. Pairs whose words agree
keep the model's weight: the same reasoning would lower them too (on the seen data 70-92% of
them are right where the model says 90-99%), but they are not what the automatic threshold
links wrongly, and the register's families, whose names are all different by law, say
nothing of how often a source drops a word. Too few pairs or family pairs (fewer than
``min_pairs``): nothing changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from linkage.company_names import CompanyNameExactLevel, CompanyWordsLevel
from linkage.comparisons import Comparison
from linkage.levels import And, ExactMatchLevel, Level
from linkage.model import ModelParameters
from pipeline.business.training import gamma_where

NAME, WORDS, LOCATION = "company_name", "company_words", "location"
POSTCODE = "postcode_std"
#: EM iterations for the one-parameter fit (it converges in a few dozen).
EM_ITERATIONS = 200
#: Pseudo-count added to each words level among the register's family pairs.
SMOOTHING = 0.5


@dataclass(frozen=True)
class FamilyWeights:
    """Scoring of the pairs that agree on the legal name core and the postcode.

    ``name_gamma``: the exact-core level of ``company_name``; ``location_gammas``: the
    same-postcode levels; ``lambda_``: the share of matches among those pairs; ``words_m`` and
    ``words_u``: per words gamma; ``other``: per other comparison, its weight per gamma.
    """

    name_gamma: int
    location_gammas: tuple[int, ...]
    differing_gammas: tuple[int, ...]
    lambda_: float
    words_m: dict[int, float]
    words_u: dict[int, float]
    other: dict[str, list[float]]
    pairs: int
    family_pairs: int

    def words_bits(self) -> dict[int, float]:
        """log2(lambda / (1 - lambda)) + log2(m / u) per words gamma."""
        prior = math.log2(self.lambda_ / (1.0 - self.lambda_))
        return {g: prior + math.log2(m / self.words_u[g]) for g, m in self.words_m.items()}

    def in_family(self) -> pl.Expr:
        """True for the pairs scored here."""
        return (
            (pl.col(f"gamma_{NAME}") == self.name_gamma)
            & pl.col(f"gamma_{LOCATION}").is_in(list(self.location_gammas))
            & pl.col(f"gamma_{WORDS}").is_in(list(self.differing_gammas))
        )

    def weight(self) -> pl.Expr:
        """The weight of a pair scored here (see the module docstring)."""
        bits = self.words_bits()
        total = pl.col(f"gamma_{WORDS}").replace_strict(
            bits, default=min(bits.values()), return_dtype=pl.Float64
        )
        for name, weights in self.other.items():
            lookup = dict(enumerate(weights))
            total = total + pl.col(f"gamma_{name}").replace_strict(
                lookup, default=0.0, return_dtype=pl.Float64
            )
        return total

    def facts(self) -> dict[str, object]:
        return {
            "pairs": self.pairs,
            "register_family_pairs": self.family_pairs,
            "match_share": round(self.lambda_, 6),
            "words_bits": {
                str(g): round(b, 3)
                for g, b in sorted(self.words_bits().items())
                if g in self.differing_gammas
            },
        }


def family_weights(
    pairs: pl.DataFrame,
    register: pl.DataFrame,
    comparisons: list[Comparison],
    parameters: ModelParameters,
    *,
    min_pairs: int,
) -> FamilyWeights | None:
    """The family scoring for ``pairs`` (predict's output, with ``gamma_*`` columns) against
    ``register`` (``name_core``, ``name_words``, ``postcode_std``), or None when the pairs or
    the register's family pairs are fewer than ``min_pairs``."""
    by_name = {c.name: c for c in comparisons}
    name_gamma = gamma_where(by_name[NAME], _is_plain_exact)
    assert name_gamma is not None, "company_name has a level of an exact legal name"
    location_gammas = _same_postcode_gammas(by_name[LOCATION])
    relations = _relation_gammas(by_name[WORDS])
    differing = tuple(
        g
        for g in range(len(parameters.comparisons[WORDS].m))
        if relations.get(g, "other") in ("fewer", "other")
    )
    m = {g: max(p or 0.0, 1e-12) for g, p in enumerate(parameters.comparisons[WORDS].m)}
    scored = pairs.filter(
        (pl.col(f"gamma_{NAME}") == name_gamma)
        & pl.col(f"gamma_{LOCATION}").is_in(list(location_gammas))
    )
    families = register_family_relations(register)
    if scored.height < min_pairs or families.height < min_pairs:
        return None
    u = _family_shares(families, relations, list(m))
    counts = dict(scored.group_by(f"gamma_{WORDS}").len().rows())
    share = fit_match_share({g: n for g, n in counts.items() if g in m}, m, u)
    other = {
        c.name: parameters.weights(c.name)
        for c in comparisons
        if c.name not in (NAME, WORDS, LOCATION)
    }
    return FamilyWeights(
        name_gamma,
        location_gammas,
        differing,
        share,
        m,
        u,
        other,
        scored.height,
        families.height,
    )


def fit_match_share(counts: dict[int, int], m: dict[int, float], u: dict[int, float]) -> float:
    """The share of matches among pairs with ``counts`` per level, m and u fixed (EM on the
    mixing weight alone), kept within (1e-6, 1 - 1e-6)."""
    total = sum(counts.values())
    share = 0.5
    for _ in range(EM_ITERATIONS):
        expected = sum(
            n * share * m[g] / (share * m[g] + (1.0 - share) * u[g]) for g, n in counts.items()
        )
        share = min(max(expected / total, 1e-6), 1.0 - 1e-6) if total else share
    return share


def register_family_relations(register: pl.DataFrame) -> pl.DataFrame:
    """``relation`` (same, none, fewer, other: see :class:`~linkage.company_names.
    CompanyWordsLevel`) of every ordered pair of register rows with the same name core at the
    same postcode."""
    rows = register.select("name_core", "name_words", POSTCODE).drop_nulls(["name_core", POSTCODE])
    rows = rows.with_row_index("__row").filter(pl.len().over("name_core", POSTCODE) >= 2)
    pairs = rows.join(rows, on=["name_core", POSTCODE], suffix="_r").filter(
        pl.col("__row") != pl.col("__row_r")
    )
    left, right = pl.col("name_words").fill_null([]), pl.col("name_words_r").fill_null([])
    subset = left.list.set_difference(right).list.len() == 0
    relation = (
        pl.when((left == right) & (left.list.len() > 0))
        .then(pl.lit("same"))
        .when((left.list.len() == 0) & (right.list.len() == 0))
        .then(pl.lit("none"))
        .when((left.list.len() < right.list.len()) & subset)
        .then(pl.lit("fewer"))
        .otherwise(pl.lit("other"))
    )
    return pairs.sort("__row", "__row_r").select(relation.alias("relation"))


def _family_shares(
    families: pl.DataFrame, relations: dict[int, str], gammas: list[int]
) -> dict[int, float]:
    """u per words gamma: the relation's share among the family pairs (a pseudo-count each);
    the same words through a trading name counts as the same words."""
    counts = dict(families.group_by("relation").len().rows())
    total = families.height + SMOOTHING * len(gammas)
    return {g: (counts.get(relations.get(g, "other"), 0) + SMOOTHING) / total for g in gammas}


def _relation_gammas(words: Comparison) -> dict[int, str]:
    infos = zip(words.levels, words.level_info(), strict=True)
    return {
        info.gamma: level.relation for level, info in infos if isinstance(level, CompanyWordsLevel)
    }


def _same_postcode_gammas(location: Comparison) -> tuple[int, ...]:
    """The location levels that need the postcodes equal: alone or with the address."""
    infos = zip(location.levels, location.level_info(), strict=True)
    return tuple(
        info.gamma
        for level, info in infos
        if _postcode_equal(level)
        or (isinstance(level, And) and any(_postcode_equal(part) for part in level.levels))
    )


def _postcode_equal(level: Level) -> bool:
    return isinstance(level, ExactMatchLevel) and level.column == POSTCODE


def _is_plain_exact(level: Level) -> bool:
    return isinstance(level, CompanyNameExactLevel) and level.trading_column is None
