"""Stage 4: strip direct identifiers, keep approved attributes, generalise, k-anonymise, check.

The extract holds ``_source``, ``person_id`` and ``linked`` (when linkage ran), the ``pid_*``
pseudonyms, ``record_key``, the approved attributes and any derived generalised attributes
(``geography``, ``age_band``, ``year_of_birth``), sorted by source file and row so that reruns
give byte-identical Parquet. ``pipeline.disclosure`` does the work: :func:`minimise` selects
columns, generalisation ladders and :func:`anonymise` make each source's extract k-anonymous on
the configured quasi-identifiers, and :func:`leak_check` proves no identifier value survived.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipeline.config import DERIVED_FROM, PERSON_ROLES, DisclosureSettings, PipelineConfig

# Short categorical roles are not searched for: "F" would match any "F" in an attribute.
_LEAK_ROLES = ("first_name", "surname", "full_name", "address", "postcode", "date_of_birth")


def extract_columns(frame: pl.DataFrame, config: PipelineConfig) -> list[str]:
    """Columns that may be delivered, in delivery order."""
    base = ["_source"]
    if config.linkage.mode != "none":
        base += ["person_id", "linked"]
    pseudonyms = sorted(c for c in frame.columns if c.startswith("pid_"))
    attributes = [a for a in config.approved_attributes if a in frame.columns]
    return [*base, *pseudonyms, "record_key", *attributes, *config.disclosure.derive]


def identifying_values(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """Direct-identifier columns of a pre-pseudonymisation frame, for the leak check."""
    return {
        c: frame[c].cast(pl.String)
        for c in frame.columns
        if c in _LEAK_ROLES or c.startswith("id_")
    }


def ladders(settings: DisclosureSettings) -> dict[str, Any]:
    """Generalisation ladder per derived attribute (level 0 is the finest allowed)."""
    from pipeline.disclosure import dob_ladder, postcode_ladder

    out: dict[str, Any] = {}
    for name in settings.derive:
        if name == "geography":
            out[name] = postcode_ladder(name, floor=settings.geography_floor)
        else:
            out[name] = dob_ladder(
                name,
                # year_of_birth never reads the date; age_band requires one (config checks)
                settings.reference_date or dt.date(2000, 1, 1),
                bands=settings.age_bands,
                start="band" if name == "age_band" else "year",
            )
    return out


def deidentify(
    frame: pl.DataFrame, config: PipelineConfig, identifying: dict[str, pl.Series]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The de-identified extract for ``frame`` (all sources) and a k-anonymity summary."""
    from pipeline.disclosure import KAnonymitySettings, anonymise, leak_check, minimise

    settings = config.disclosure
    ordered = frame.sort("_source", "_file", "_row")
    for name in settings.derive:
        role = DERIVED_FROM[name]
        dtype = pl.Date if role == "date_of_birth" else pl.String
        raw = pl.col(role) if role in ordered.columns else pl.lit(None, dtype=dtype)
        ordered = ordered.with_columns(raw.alias(name))
    direct = [c for c in ordered.columns if c in PERSON_ROLES or c.startswith("id_")]
    extract = minimise(ordered, extract_columns(frame, config), [*direct, "_file", "_row"])
    steps = ladders(settings)
    parts, reports = [], {}
    for source in config.sources:
        part = extract.filter(pl.col("_source") == source.name)
        qis = [q for q in settings.quasi_identifiers if q in part.columns]
        if qis and part.height:
            k_settings = KAnonymitySettings(
                k=settings.k, quasi_identifiers=qis, suppression_budget=settings.suppression_budget
            )
            part, report = anonymise(part, k_settings, {q: steps[q] for q in qis if q in steps})
            reports[source.name] = report.to_dict()
        fixed = [steps[n].apply(0) for n in steps if n not in qis]
        parts.append(
            part.with_columns(fixed).with_columns(pl.col(n).cast(pl.String) for n in steps)
        )
    extract = pl.concat(parts, how="vertical_relaxed") if parts else extract
    leak_check(extract, identifying)
    return extract, {"k_anonymity": reports}
