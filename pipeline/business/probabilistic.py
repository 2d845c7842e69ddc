"""Probabilistic matching of incoming records to the register on name, postcode, address and
identifiers.

A Fellegi-Sunter model (``linkage.Linker``) with these comparisons (:func:`comparisons`):

* ``company_name``: the core of the name, rarity-weighted (best of legal and trading names);
  a legal name the register holds once has a level of its own (see the training module), and
  so has a name one keystroke from it (spaces ignored: a slip or a split word), and a
  trading name the register holds once (:mod:`pipeline.business.trading_held`); a record
  that drops the legal form of a company's name held once ("X" for "X LTD") has a held-once
  level of its own, since the law keeps company names unique, not trading styles;
* ``company_words``: the distinguishing words (HOLDINGS, GROUP, UK...), whose agreement and
  disagreement both count, so a sister "X HOLDINGS LTD" scores well below "X LTD"; where the
  core and the postcode agree and the words differ, the pair is scored by its words against
  the register's families instead (:mod:`pipeline.business.families`);
* ``legal_form``: LTD, PLC, LLP... (weak evidence; null when a side has none);
* ``location``: postcode and address as one comparison, with levels of their own for a
  record far from a register row at an office (a postcode where at least
  ``MatchSettings.office_size`` or ``large_office_size`` register rows are: an accountant's
  or a formation agent's office), which is common and weak evidence against;
* ``crn``, ``vat``, ``paye`` (the identifier types both sides have): a valid identifier that
  differs from the candidate's is strong evidence against; a missing or invalid one, or one a
  keystroke from the candidate's (a slip: :mod:`pipeline.business.crn_rule`), is neutral.

With the register's previous names mapped, each is a row of its company beside the register's
rows, blocked and scored like a current name, and the company's best row counts
(:mod:`pipeline.business.previous_names`); the model is trained without them.

Blocking (:mod:`pipeline.business.blocking`): same core name without spaces (if not shared by
many records; else same core and postcode district), same postcode, the same rarest name token
another record holds (legal or trading), a legal name that is the other side's trading name,
the same first letters of a long name, the same address, or the register name a keystroke or
two from the record's (the last five only where few records share the key).

Training (:mod:`pipeline.business.training`): u from random pairs; m from pairs already
confirmed by a shared valid identifier when there are at least ``min_labelled_pairs`` of them
(the identifier is independent evidence of a true match, so the comparison levels of those
pairs are a sample of m; post-stratified on trading names, since companies carry identifiers
and sole traders rarely do), otherwise from pairs that agree on the other half of the record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from linkage import LinkageSettings, Linker
from linkage.company_names import (
    CompanyNameComparison,
    CompanyWordsComparison,
    add_company_token_columns,
)
from linkage.comparisons import (
    Comparison,
    ExactComparison,
)
from pipeline.business.blocking import COMPACT, NAME, TRADING, add_block_keys, blocking_rules
from pipeline.business.crn_rule import identifier_comparison
from pipeline.business.deterministic import REG_UID
from pipeline.business.families import family_weights
from pipeline.business.location import AT_POSTCODE, location_comparison, postcode_counts
from pipeline.business.prepare import UID, norm_column
from pipeline.business.previous_names import (
    VIA_PREVIOUS_NAME,
    add_register_counts,
    with_own_uids,
)
from pipeline.business.settings import MatchSettings
from pipeline.business.trading_held import (
    TRADING_HELD,
    set_trading_held_once,
    trading_held_counts,
    trading_held_once_lift,
)
from pipeline.business.training import FORM, HELD, NameCounts, held_once_lifts, train

logger = logging.getLogger(__name__)

WORDS, TRADING_WORDS = "name_words", "trading_words"
SCORED_SCHEMA = {
    UID: pl.Int64,
    REG_UID: pl.Int64,
    "match_probability": pl.Float64,
    "match_weight": pl.Float64,
    VIA_PREVIOUS_NAME: pl.Boolean,
}


@dataclass
class ScoredCandidates:
    """Candidate pairs ``uid, reg_uid, match_probability, match_weight`` and training facts."""

    pairs: pl.DataFrame
    training: dict[str, object] = field(default_factory=dict)


def comparisons(
    rare_frequency: float, id_types: list[str], office_sizes: tuple[int, int] | None = None
) -> list[Comparison]:
    """Core name, distinguishing words, legal form, location (office-aware when
    ``office_sizes`` (office, large office) is given, on :data:`AT_POSTCODE`), and one
    comparison per identifier type in ``id_types`` (named after it, on ``<type>_norm``)."""
    return [
        CompanyNameComparison(
            NAME,
            trading_column=TRADING,
            rare_frequency=rare_frequency,
            held_column=HELD,
            words_column=WORDS,
            compact_column=COMPACT,
            trading_held_column=TRADING_HELD,
            word_order=True,
            form_column=FORM,
            name="company_name",
        ),
        CompanyWordsComparison(WORDS, trading_column=TRADING_WORDS, name="company_words"),
        ExactComparison(FORM, name="legal_form"),
        location_comparison(
            office_column=AT_POSTCODE if office_sizes else None,
            office_sizes=office_sizes or (10, 100),
        ),
        *(identifier_comparison(norm_column(t), t) for t in id_types),
    ]


def score_candidates(
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    *,
    labelled: pl.DataFrame,
    id_types: list[str],
    settings: MatchSettings,
    previous: pl.DataFrame | None = None,
) -> ScoredCandidates:
    """Score candidate register entries for every incoming record that has a name.

    ``incoming`` and ``register`` are :func:`pipeline.business.prepare.linkage_frame` outputs
    with the ``<type>_norm`` column of each of ``id_types``; ``labelled`` has ``uid, reg_uid,
    method`` for pairs confirmed by a shared identifier (``method``: the types that agreed,
    e.g. ``crn+vat``); ``previous``: rows of the register's previous names, like ``register``
    (:func:`~pipeline.business.previous_names.previous_name_rows`). Returns pairs with
    probability >= ``settings.review_threshold / 10`` (lower ones never matter), each marked
    :data:`~pipeline.business.previous_names.VIA_PREVIOUS_NAME` when it was scored on a
    previous name.
    """
    incoming = incoming.filter(pl.col(NAME).is_not_null())
    register = register.filter(pl.col(NAME).is_not_null())
    if incoming.height == 0 or register.height == 0:
        empty = pl.DataFrame(schema=SCORED_SCHEMA)
        return ScoredCandidates(empty, {"method": "none", "reason": "no names to compare"})
    previous = register.head(0) if previous is None else previous
    first = register.select(pl.col(UID).max()).item() + 1
    previous, owners = with_own_uids(previous, first)
    register = pl.concat([register, previous])  # tokens and blocking keys of every name
    n = incoming.height + register.height
    rare = max(settings.rare_frequency * n, settings.rare_min_records) / n
    block = max(settings.block_frequency * n, settings.block_min_records) / n
    (incoming, register), _ = add_company_token_columns(
        [incoming, register], (NAME, TRADING), max_block_frequency=min(block, 1.0)
    )
    incoming, register = add_block_keys(incoming, register, cap=max(block * n, 1.0))
    is_previous = pl.col(UID) >= first
    register, previous = register.filter(~is_previous), register.filter(is_previous)
    incoming, register, held = _held_counts(incoming, register)
    incoming, register, trading_held = trading_held_counts(
        incoming, register, name=NAME, trading=TRADING
    )
    incoming, register = postcode_counts(incoming, register)
    previous = add_register_counts(previous, register, owners)
    # identifier-confirmed pairs of incoming records that have a name
    confirmed = labelled.drop_nulls([UID, REG_UID]).join(incoming.select(UID), on=UID, how="semi")
    link_settings = LinkageSettings(
        link_type="link_only",
        comparisons=comparisons(
            min(rare, 1.0), id_types, (settings.office_size, settings.large_office_size)
        ),
        blocking_rules=blocking_rules(),
        unique_id_column=UID,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
    )
    linker = Linker(link_settings, incoming, register)
    floor = settings.review_threshold / 10  # lower probabilities never matter
    try:
        training = train(linker, confirmed, (incoming, register), id_types, settings, held)
        training["trading_name_held_once"] = set_trading_held_once(linker, trading_held)
        training["lambda"] = linker.estimate_lambda()  # with the trading level's u set
        lifts = [*held_once_lifts(linker), trading_held_once_lift(linker)]
        cut = _lowered(floor, max(bits for _, bits in lifts))
        every_name = (incoming, register, previous)
        if previous.height:  # trained on the register's rows, scored on every name
            linker.count_term_frequencies(every_name)
        pairs = linker.predict(threshold=cut)
    finally:
        linker.close()  # its parameters live on; one engine's memory at a time
    if previous.height:
        pairs = pl.concat([pairs, _previous_pairs(link_settings, linker, every_name, cut)])
    family = family_weights(
        pairs,
        register,
        list(linker.comparisons),
        linker.parameters,
        min_pairs=settings.min_labelled_pairs,
    )
    training["blocking_rules"] = [r.name for r in link_settings.blocking_rules]
    training["name_held_once_lift_bits"] = round(lifts[0][1], 6)
    training["trading_name_held_once_lift_bits"] = round(lifts[-1][1], 6)
    training["families"] = None if family is None else family.facts()
    weight = _lifted(lifts)
    if family is not None:
        weight = pl.when(family.in_family()).then(family.weight()).otherwise(weight)
    owner = pl.coalesce(REG_UID, "id_r").alias(REG_UID)  # a previous name's register row
    pairs = (
        pairs.select("id_l", "id_r", weight.alias("match_weight"))
        .join(owners, on="id_r", how="left", maintain_order="left")
        .select(
            pl.col("id_l").alias(UID),
            owner,
            "match_weight",
            pl.col(REG_UID).is_not_null().alias(VIA_PREVIOUS_NAME),
        )
        .with_columns((1.0 / (1.0 + 2.0 ** -pl.col("match_weight"))).alias("match_probability"))
        .filter(pl.col("match_probability") >= floor)
        .select(list(SCORED_SCHEMA))
    )
    logger.info("scored %d candidate pairs for %d incoming records", pairs.height, incoming.height)
    return ScoredCandidates(pairs, training)


def _previous_pairs(
    link_settings: LinkageSettings,
    trained: Linker,
    every_name: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    threshold: float,
) -> pl.DataFrame:
    """The pairs of the incoming records and the previous-name rows (``every_name``:
    incoming, register, previous) scored by the ``trained`` model with probability >=
    ``threshold``, as one linker over the register and previous names would score them: a
    pair's comparisons see its two records only, and the term frequencies are counted over
    every name."""
    incoming, _, previous = every_name
    scorer = Linker(link_settings, incoming, previous, parameters=trained.parameters)
    try:
        scorer.count_term_frequencies(every_name)
        return scorer.predict(threshold=threshold)
    finally:
        scorer.close()


def _lifted(lifts: list[tuple[int | None, float]]) -> pl.Expr:
    """``match_weight`` with the bits of each (gamma of ``company_name``, bits) added to the
    pairs at that level: what the probability floor cut from a held-once level's weight."""
    gained = pl.lit(0.0)
    for gamma, bits in lifts:
        if gamma is not None and bits:
            gained = pl.when(pl.col("gamma_company_name") == gamma).then(bits).otherwise(gained)
    return (pl.col("match_weight") + gained).alias("match_weight")


def _lowered(probability: float, bits: float) -> float:
    """The probability whose odds are ``probability``'s divided by 2^``bits``."""
    odds = probability / (1.0 - probability) / 2.0**bits
    return odds / (1.0 + odds)


def _held_counts(
    incoming: pl.DataFrame, register: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, NameCounts]:
    """Add :data:`HELD` (register rows holding the name, core and distinguishing words; 0 when
    none) to both frames, and count the register's names held by one and by two rows."""
    counts = register.group_by(NAME, WORDS).agg(pl.len().cast(pl.Int64).alias(HELD))
    sizes = counts[HELD]
    held = NameCounts(register.height, int((sizes == 1).sum()), int((sizes == 2).sum()))

    def add(frame: pl.DataFrame) -> pl.DataFrame:
        joined = frame.join(counts, on=[NAME, WORDS], how="left", maintain_order="left")
        return joined.with_columns(pl.col(HELD).fill_null(0))

    return add(incoming), add(register), held
