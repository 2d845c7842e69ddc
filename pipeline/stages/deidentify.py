"""Stage 4: strip direct identifiers, keep approved attributes, generalise, k-anonymise, check.

The extract holds ``_source``, ``person_id`` and ``linked`` (when linkage ran), the ``pid_*``
pseudonyms, ``record_key``, the approved attributes (with their declared types; categories as
Categorical) and any derived generalised attributes (``geography``, ``age_band``,
``year_of_birth``), sorted by source file and row so that reruns give byte-identical Parquet.
``pipeline.disclosure`` does the work: :func:`minimise` selects columns, generalisation ladders
and :func:`anonymise` make each source's extract k-anonymous (and l-diverse) on the configured
quasi-identifiers record by record; :func:`protect_delivery` then makes every join of the
delivered files (``person_id`` and the ``pid_*`` pseudonyms are the keys), and of the earlier
extracts this recipient holds (:func:`earlier_extracts`), k-anonymous per person and within the
risk limits; :func:`leak_check` proves no identifier value survived. The disclosure summary
has ``k_anonymity`` (per source), ``linked_k_anonymity``, ``linked_risk`` (per view) and
``linked_earlier`` (the earlier extracts joined), counts and risks only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from pipeline.config import DERIVED_FROM, PERSON_ROLES, DisclosureSettings, PipelineConfig
from pipeline.disclosure.settings import KAnonymitySettings
from pipeline.stages.earlier import earlier_extracts, is_key_column

__all__ = [
    "deidentify",
    "earlier_extracts",
    "extract_columns",
    "identifying_values",
    "ladders",
    "protect_delivery",
]

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
    frame: pl.DataFrame,
    config: PipelineConfig,
    identifying: dict[str, pl.Series],
    *,
    earlier: Mapping[str, pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The de-identified extract for ``frame`` (all sources) and a disclosure summary.

    ``earlier`` holds the extracts the recipient already has (:func:`earlier_extracts`): joins
    with them are assessed too, and they are never changed."""
    from pipeline.disclosure import leak_check, minimise

    settings = config.disclosure
    ordered = frame.sort("_source", "_file", "_row")
    for name in settings.derive:
        role = DERIVED_FROM[name]
        dtype = pl.Date if role == "date_of_birth" else pl.String
        raw = pl.col(role) if role in ordered.columns else pl.lit(None, dtype=dtype)
        ordered = ordered.with_columns(raw.alias(name))
    direct = [c for c in ordered.columns if c in PERSON_ROLES or c.startswith("id_")]
    extract = minimise(ordered, extract_columns(frame, config), [*direct, "_file", "_row"])
    files, reports = _anonymise_sources(extract, config)
    files, linked = protect_delivery(files, config, earlier or {})
    if files:
        extract = pl.concat(files.values(), how="diagonal_relaxed").select(extract.columns)
    extract = extract.with_columns(
        pl.col(a).cast(pl.Categorical)
        for a, kind in config.attribute_types().items()
        if kind == "category" and a in extract.columns
    )
    leak_check(extract, identifying)
    return extract, {"k_anonymity": reports, **linked}


def _anonymise_sources(
    extract: pl.DataFrame, config: PipelineConfig
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Each source's extract as delivered (its own attributes only), generalised and made
    k-anonymous (and l-diverse) on its own, record by record."""
    from pipeline.disclosure import anonymise

    settings = config.disclosure
    steps = ladders(settings)
    files, reports = {}, {}
    for source in config.sources:
        foreign = set(config.approved_attributes) - set(source.attribute_columns())
        part = extract.filter(pl.col("_source") == source.name).drop(foreign, strict=False)
        if not part.height:
            continue
        qis = [q for q in settings.quasi_identifiers if q in part.columns]
        if qis:
            part, report = anonymise(part, _source_settings(settings, qis, part.columns), {
                q: steps[q] for q in qis if q in steps
            })  # fmt: skip
            reports[source.name] = report.to_dict()
        fixed = [steps[n].apply(0) for n in steps if n not in qis]
        files[source.name] = part.with_columns(fixed).with_columns(
            pl.col(n).cast(pl.String) for n in steps
        )
    return files, reports


def _source_settings(
    settings: DisclosureSettings, qis: list[str], columns: Sequence[str]
) -> KAnonymitySettings:
    """The k-anonymity settings for one source: its quasi-identifiers, and l-diversity over
    the sensitive attributes it holds."""
    sensitive = [a for a in settings.sensitive if a in columns]
    order = [q for q in settings.suppression_order or [] if q in qis] or None
    return KAnonymitySettings(
        k=settings.k,
        quasi_identifiers=qis,
        suppression_budget=settings.suppression_budget,
        suppression_order=order,
        l_diversity=settings.l_diversity if sensitive else None,
        sensitive=sensitive,
    )


def protect_delivery(
    files: Mapping[str, pl.DataFrame],
    config: PipelineConfig,
    earlier: Mapping[str, pl.DataFrame],
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Every join of the delivery's files (and of the ``earlier`` ones) on a shared key made
    k-anonymous per person, and its re-identification risk held within the limits
    (:func:`pipeline.disclosure.protect_linked`). Rows whose key was removed (unlinked) have
    ``linked`` withheld too. Without quasi-identifiers there is nothing to assess; without any
    key, each file's risk is assessed record by record."""
    from pipeline.disclosure import check_risk, protect_linked

    settings = config.disclosure
    summary: dict[str, Any] = {"linked_k_anonymity": None, "linked_risk": {}, "linked_earlier": []}
    if not settings.quasi_identifiers or not files:
        return dict(files), summary
    keys = sorted({c for f in files.values() for c in f.columns if is_key_column(c)})
    keys = sorted(keys, key=lambda c: c != "person_id")  # person_id first, then pid_* by name
    if not keys:
        for name, frame in files.items():
            qis = [q for q in settings.quasi_identifiers if q in frame.columns]
            if qis:
                risk = check_risk(frame, qis, settings.risk)
                summary["linked_risk"][f"file:{name}"] = risk.to_dict()
        return dict(files), summary
    joinable = {n: f for n, f in earlier.items() if set(keys) & set(f.columns)}
    treated, linked = protect_linked(files, settings, keys=keys, earlier=joinable)
    summary.update(linked, linked_earlier=sorted(joinable))
    if "person_id" in keys:
        for name, frame in treated.items():
            if "linked" in frame.columns:
                treated[name] = frame.with_columns(
                    pl.when(pl.col("person_id").is_null()).then(None).otherwise(pl.col("linked"))
                    .alias("linked")
                )  # fmt: skip
    return treated, summary
