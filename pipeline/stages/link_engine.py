"""Adapter from the pipeline's linkage spec to the ``linkage`` package's ``Linker`` facade.

The view handed over holds ``_uid``, ``_source``, person roles and identifiers only (see
:func:`pipeline.stages.link.linkage_view`). Each role is standardised as
:data:`ROLE_STANDARDISATION` says, with ``linkage.standardise.standardise_columns``; a
``full_name`` fills ``first_name``/``surname`` where those are missing. Comparisons are chosen
by kind per role from linkage's registry (:mod:`linkage.kinds`, which lists each kind's levels).
Blocking rules are roles joined with ``&`` (exact equality on each).
"""

from __future__ import annotations

import logging

import polars as pl

from linkage import LinkageSettings, Linker, block_on
from linkage.kinds import build_comparison
from linkage.standardise import Standardisation, split_full_name, standardise_columns
from pipeline.config import LinkageSpec, blocking_roles
from pipeline.entities import UID
from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

#: How each person role is standardised before linkage (dates become ISO text).
ROLE_STANDARDISATION: dict[str, Standardisation] = {
    "first_name": "name",
    "surname": "name",
    "full_name": "name",
    "postcode": "postcode",
    "address": "address",
    "date_of_birth": "date",
    "sex": "sex",
}
_SPLIT = {"first_name": "__first_name_from_full", "surname": "__surname_from_full"}


def standardise_view(view: pl.DataFrame) -> pl.DataFrame:
    """Normalised person fields for comparison (text only; dates as ISO text)."""
    roles = {r: kind for r, kind in ROLE_STANDARDISATION.items() if r in view.columns}
    if "full_name" not in view.columns:
        return standardise_columns(view, roles)
    # split the full name as given (a comma marks "SURNAME, First") before it is standardised
    first, surname = split_full_name(pl.col("full_name"))
    view = view.with_columns(first.alias(_SPLIT["first_name"]), surname.alias(_SPLIT["surname"]))
    frame = standardise_columns(view, roles)
    return frame.with_columns(
        pl.coalesce([*([pl.col(role)] if role in roles else []), pl.col(split)]).alias(role)
        for role, split in _SPLIT.items()
    ).drop(_SPLIT.values())


def _settings(spec: LinkageSpec) -> LinkageSettings:
    return LinkageSettings(
        link_type="link_only" if spec.mode == "link" else "dedupe_only",
        comparisons=[
            build_comparison(kind, role, standardised_as=ROLE_STANDARDISATION.get(role))
            for role, kind in spec.comparisons.items()
        ],
        blocking_rules=[block_on(*blocking_roles(rule)) for rule in spec.blocking],
        unique_id_column=UID,
        em_max_iterations=spec.max_iterations,
    )


def _bind(view: pl.DataFrame, spec: LinkageSpec) -> tuple[pl.DataFrame, Linker, pl.Series | None]:
    """The standardised records, a linker over them (the first source on the left in link
    mode) and, in link mode, the left side's ids."""
    roles = list(
        dict.fromkeys([*spec.comparisons, *(r for b in spec.blocking for r in blocking_roles(b))])
    )
    frame = standardise_view(view)
    missing = [r for r in roles if r not in frame.columns]
    if missing:
        raise ConfigError(f"linkage: no source maps the role(s) {', '.join(missing)}")
    frame = frame.select(UID, "_source", *roles)
    if spec.mode != "link":
        return frame, Linker(_settings(spec), frame.drop("_source")), None
    first = frame["_source"].min()
    left = frame.filter(pl.col("_source") == first).drop("_source")
    right = frame.filter(pl.col("_source") != first).drop("_source")
    return frame, Linker(_settings(spec), left, right), left[UID]


def facade_linker(
    view: pl.DataFrame, spec: LinkageSpec, decisions: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train on these records, score pairs down to the review threshold, apply curators'
    decisions (:func:`pipeline.review.apply_decisions`), cluster at ``match``. Returns the
    cluster labels and the scored pairs (``_uid_l``, ``_uid_r``, ``match_probability``, and
    for grey-band pairs each comparison's ``level_*`` and ``weight_*``)."""
    from pipeline.review import PAIR_L, PAIR_R, PROBABILITY, apply_decisions

    frame, linker, left_uids = _bind(view, spec)
    try:
        linker.train()
        scored = linker.predict(threshold=spec.thresholds.review)
        pairs = apply_decisions(
            scored.select("id_l", "id_r", PROBABILITY), decisions, frame[UID], left_uids
        )
        clusters = linker.cluster(pairs, threshold=spec.thresholds.match)
        # why each grey-band pair scored as it did, for the clerical-review file
        p = pl.col(PROBABILITY)
        band = scored.filter((p >= spec.thresholds.review) & (p < spec.thresholds.match))
        pairs = pairs.join(linker.explain_wide(band), on=["id_l", "id_r"], how="left")
    finally:
        linker.close()
    labelled = clusters.select(
        pl.col("id").cast(pl.String).alias(UID),
        pl.col("cluster_id").cast(pl.String).alias("cluster"),
    )
    logger.info("linkage scored %d pairs at or above the review threshold", scored.height)
    return labelled, pairs.select(
        pl.col("id_l").cast(pl.String).alias(PAIR_L),
        pl.col("id_r").cast(pl.String).alias(PAIR_R),
        pl.col(PROBABILITY).cast(pl.Float64),
        pl.exclude("id_l", "id_r", PROBABILITY),
    )
