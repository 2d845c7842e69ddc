"""Probabilistic matching of incoming records to the register on name, postcode and address.

A Fellegi-Sunter model (``linkage.Linker``) with the rarity-weighted company-name comparison
(best of legal and trading names), a postcode comparison and an address comparison. Blocking:
same standardised name (if not shared by many records; else same name and postcode district),
same postcode, or the same rarest name token (legal or trading; only tokens that few records
share).

Training: u from random pairs. m from pairs already confirmed by a shared valid identifier when
there are at least ``min_labelled_pairs`` of them (the identifier is independent evidence of a
true match, so the comparison levels of those pairs are a sample of m), otherwise by EM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from linkage import BlockingRule, LinkageSettings, Linker, block_across, block_on
from linkage.company_names import CompanyNameComparison, add_company_token_columns, rarest_column
from linkage.comparisons import Comparison, JaroWinklerAtThresholds, PostcodeComparison
from pipeline.business.prepare import UID
from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

NAME, TRADING = "name_std", "trading_name_std"
NAME_BLOCK = "name_std_block"  # the name, where it is rare enough to block on alone
DISTRICT = "postcode_district"
SCORED_SCHEMA = {
    UID: pl.Int64,
    "reg_uid": pl.Int64,
    "match_probability": pl.Float64,
    "match_weight": pl.Float64,
}


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds and model options (probabilities in [0, 1]).

    A best candidate with probability >= ``match_threshold`` is a match; between
    ``review_threshold`` and it, clerical review. A name token is *rare* when it is in at most
    ``max(rare_frequency * N, rare_min_records)`` of the N records; only tokens in at most
    ``max(block_frequency * N, block_min_records)`` records are used as blocking keys.
    """

    match_threshold: float = 0.9
    review_threshold: float = 0.5
    rare_frequency: float = 0.001
    rare_min_records: int = 10
    block_frequency: float = 0.0002
    block_min_records: int = 20
    min_labelled_pairs: int = 30
    max_training_pairs: int = 300_000
    memory_limit: str = "4GB"
    threads: int = 2
    seed: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.review_threshold <= self.match_threshold <= 1.0:
            problems.append("thresholds must satisfy 0 <= review <= match <= 1")
        for name in ("rare_frequency", "block_frequency"):
            if not 0.0 < getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in (0, 1]")
        for name in (
            "rare_min_records",
            "block_min_records",
            "min_labelled_pairs",
            "max_training_pairs",
            "threads",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if problems:
            raise ConfigError(problems, source="match settings")


@dataclass
class ScoredCandidates:
    """Candidate pairs ``uid, reg_uid, match_probability, match_weight`` and training facts."""

    pairs: pl.DataFrame
    training: dict[str, object] = field(default_factory=dict)


def comparisons(rare_frequency: float) -> list[Comparison]:
    """Name (rarity-weighted, best of legal/trading), postcode, address."""
    return [
        CompanyNameComparison(
            NAME, trading_column=TRADING, rare_frequency=rare_frequency, name="company_name"
        ),
        PostcodeComparison("postcode_std", name="postcode"),
        JaroWinklerAtThresholds("address_std", (0.9, 0.75), name="address"),
    ]


def blocking_rules() -> list[BlockingRule]:
    name_r, trading_r = rarest_column(NAME), rarest_column(TRADING)
    return [
        block_on(NAME_BLOCK),
        block_on(NAME, DISTRICT),
        block_on("postcode_std"),
        block_on(name_r),
        block_across(name_r, trading_r, name="legal-trading rarest token"),
        block_across(trading_r, name_r, name="trading-legal rarest token"),
    ]


def score_candidates(
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    *,
    labelled: pl.DataFrame,
    settings: MatchSettings,
) -> ScoredCandidates:
    """Score candidate register entries for every incoming record that has a name.

    ``incoming`` and ``register`` are :func:`pipeline.business.prepare.linkage_frame` outputs;
    ``labelled`` has ``uid, reg_uid`` pairs confirmed by a shared identifier. Returns pairs with
    probability >= ``settings.review_threshold / 10`` (lower ones never matter).
    """
    incoming = incoming.filter(pl.col(NAME).is_not_null())
    register = register.filter(pl.col(NAME).is_not_null())
    if incoming.height == 0 or register.height == 0:
        empty = pl.DataFrame(schema=SCORED_SCHEMA)
        return ScoredCandidates(empty, {"method": "none", "reason": "no names to compare"})
    n = incoming.height + register.height
    rare = max(settings.rare_frequency * n, settings.rare_min_records) / n
    block = max(settings.block_frequency * n, settings.block_min_records) / n
    (incoming, register), _ = add_company_token_columns(
        [incoming, register], (NAME, TRADING), max_block_frequency=min(block, 1.0)
    )
    incoming, register = _block_keys(incoming, register, cap=max(block * n, 1.0))
    # identifier-confirmed pairs of incoming records that have a name
    confirmed = labelled.select(pl.col(UID).alias("id_l"), pl.col("reg_uid").alias("id_r"))
    confirmed = confirmed.drop_nulls().join(
        incoming.select(pl.col(UID).alias("id_l")), on="id_l", how="semi"
    )
    link_settings = LinkageSettings(
        link_type="link_only",
        comparisons=comparisons(min(rare, 1.0)),
        blocking_rules=blocking_rules(),
        unique_id_column=UID,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
    )
    linker = Linker(link_settings, incoming, register)
    try:
        training = _train(linker, confirmed, settings)
        pairs = linker.predict(threshold=settings.review_threshold / 10)
    finally:
        linker.close()
    training["blocking_rules"] = [r.name for r in link_settings.blocking_rules]
    pairs = pairs.select(
        pl.col("id_l").alias(UID),
        pl.col("id_r").alias("reg_uid"),
        "match_probability",
        "match_weight",
    )
    logger.info("scored %d candidate pairs for %d incoming records", pairs.height, incoming.height)
    return ScoredCandidates(pairs, training)


def _train(linker: Linker, confirmed: pl.DataFrame, settings: MatchSettings) -> dict[str, object]:
    """u from random pairs; m from the identifier-confirmed pairs (``id_l, id_r``) when there
    are enough of them, else by EM; lambda. Returns what was done, for the run's facts."""
    linker.estimate_u(settings.max_training_pairs, seed=settings.seed)
    training: dict[str, object] = {"labelled_pairs": confirmed.height}
    if confirmed.height >= settings.min_labelled_pairs:
        linker.estimate_m_from_labelled_pairs(confirmed)
        training["m_from"] = "pairs confirmed by a shared identifier"
    else:
        linker.estimate_m()
        training["m_from"] = "expectation maximisation"
    training["lambda"] = linker.estimate_lambda()
    return training


def _block_keys(
    incoming: pl.DataFrame, register: pl.DataFrame, *, cap: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``name_std_block`` (the name where at most ``cap`` records share it: "SMITH & SONS"
    alone would make millions of pairs) and ``postcode_district`` (common names block with it)."""
    counts = pl.concat([incoming.select(NAME), register.select(NAME)]).group_by(NAME).len()
    rare = counts.filter(pl.col("len") <= cap).select(NAME, pl.col(NAME).alias(NAME_BLOCK))

    def add(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(rare, on=NAME, how="left", maintain_order="left").with_columns(
            pl.col("postcode_std").str.split(" ").list.first().alias(DISTRICT)
        )

    return add(incoming), add(register)
