"""Adapter from the pipeline's linkage spec to the ``linkage`` package's ``Linker`` facade.

The view handed over holds ``_uid``, ``_source``, person roles and identifiers only (see
:func:`pipeline.stages.link.linkage_view`). Names, postcodes and addresses are standardised with
``linkage.standardise`` first; a ``full_name`` fills ``first_name``/``surname`` where those are
missing. Comparisons are chosen by kind per role:

* ``exact``: null, exact, else
* ``name``: null, exact (term-frequency adjusted), Jaro-Winkler 0.92 / 0.88 / 0.7, else
* ``jaro_winkler``: null, exact, Jaro-Winkler 0.9 / 0.7, else
* ``levenshtein``: null, exact, edit distance 1 / 2, else
* ``date``: null, exact, one typo, within a month, a year, ten years, else
* ``postcode``: null, exact, same sector, district, area, else

Blocking rules are roles joined with ``&`` (exact equality on each).
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from pipeline.config import LinkageSpec, blocking_roles
from pipeline.entities import UID

logger = logging.getLogger(__name__)

DATE_FORMAT = "%Y-%m-%d"


def standardise_view(view: pl.DataFrame) -> pl.DataFrame:
    """Normalised person fields for comparison (text only; dates as ISO text)."""
    from linkage.standardise.addresses import normalise_address
    from linkage.standardise.names import normalise_name, split_full_name
    from linkage.standardise.postcodes import normalise_postcode

    cols = set(view.columns)
    exprs: list[pl.Expr] = []
    split = split_full_name(pl.col("full_name")) if "full_name" in cols else None
    for i, role in enumerate(("first_name", "surname")):
        own = normalise_name(pl.col(role)) if role in cols else None
        parts = [e for e in (own, split[i] if split else None) if e is not None]
        if parts:
            exprs.append(pl.coalesce(parts).alias(role))
    if "full_name" in cols:
        exprs.append(normalise_name(pl.col("full_name")).alias("full_name"))
    if "postcode" in cols:
        exprs.append(normalise_postcode(pl.col("postcode")).alias("postcode"))
    if "address" in cols:
        exprs.append(normalise_address(pl.col("address")).alias("address"))
    if "date_of_birth" in cols:
        exprs.append(pl.col("date_of_birth").cast(pl.Date).dt.strftime(DATE_FORMAT))
    if "sex" in cols:
        exprs.append(pl.col("sex").str.to_uppercase().str.slice(0, 1).alias("sex"))
    return view.with_columns(exprs)


def _comparison(role: str, kind: str) -> Any:
    from linkage import comparisons as cl

    if kind == "exact":
        return cl.ExactComparison(role)
    if kind == "name":
        return cl.NameComparison(role, term_frequency=True)
    if kind == "jaro_winkler":
        return cl.JaroWinklerAtThresholds(role)
    if kind == "levenshtein":
        return cl.LevenshteinAtThresholds(role)
    if kind == "date":
        return cl.DateOfBirthComparison(role, date_format=DATE_FORMAT)
    if kind == "postcode":
        return cl.PostcodeComparison(role)
    raise ValueError(f"unknown comparison kind {kind!r}")  # config validation prevents this


def facade_linker(
    view: pl.DataFrame, spec: LinkageSpec, decisions: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train on these records, score pairs down to the review threshold, apply curators'
    decisions (:func:`pipeline.review.apply_decisions`), cluster at ``match``. Returns the
    cluster labels and the scored pairs (``_uid_l``, ``_uid_r``, ``match_probability``, and
    for grey-band pairs each comparison's ``level_*`` and ``weight_*``)."""
    from linkage import LinkageSettings, Linker, block_on
    from pipeline.review import PAIR_L, PAIR_R, PROBABILITY, apply_decisions

    roles = list(
        dict.fromkeys([*spec.comparisons, *(r for b in spec.blocking for r in blocking_roles(b))])
    )
    frame = standardise_view(view)
    missing = [r for r in roles if r not in frame.columns]
    if missing:
        from pipeline.errors import ConfigError

        raise ConfigError(f"linkage: no source maps the role(s) {', '.join(missing)}")
    frame = frame.select(UID, "_source", *roles)
    settings = LinkageSettings(
        link_type="link_only" if spec.mode == "link" else "dedupe_only",
        comparisons=[_comparison(role, kind) for role, kind in spec.comparisons.items()],
        blocking_rules=[block_on(*blocking_roles(rule)) for rule in spec.blocking],
        unique_id_column=UID,
        em_max_iterations=spec.max_iterations,
    )
    left_uids = None
    if spec.mode == "link":
        first = frame["_source"].min()
        left = frame.filter(pl.col("_source") == first).drop("_source")
        right = frame.filter(pl.col("_source") != first).drop("_source")
        linker = Linker(settings, left, right)
        left_uids = left[UID]
    else:
        linker = Linker(settings, frame.drop("_source"))
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
