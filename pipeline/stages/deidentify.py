"""Stage 4: strip direct identifiers, keep approved attributes, generalise, k-anonymise, check.

Each source's delivered rows hold ``_source``, ``person_id`` and ``linked`` (when linkage ran),
the ``pid_*`` pseudonyms (of every identifier type in the batch), ``record_key``, the approved
attributes of that source (with their declared types; categories as Categorical) and any derived
generalised attributes (``geography``, ``age_band``, ``year_of_birth``), in file and row order
so that reruns give byte-identical Parquet. ``pipeline.disclosure`` does the work:
:func:`minimise` selects columns, generalisation ladders and :func:`anonymise` make each
source's extract k-anonymous (and l-diverse) on the configured quasi-identifiers record by
record; :func:`protect_delivery` then makes every join of the delivered files (``person_id``
and the ``pid_*`` pseudonyms are the keys), and of the earlier extracts this recipient holds
(:func:`recipient_holdings`, a summary of them; :func:`earlier_extracts` reads them whole),
k-anonymous per person and within the risk limits; a
:class:`LeakCheck` proves no identifier value survived. The disclosure summary has
``k_anonymity`` (per source), ``linked_k_anonymity``, ``linked_risk`` (per view) and
``linked_earlier`` (the earlier extracts joined), counts and risks only.

The stage streams (:mod:`pipeline.stages.parts`): a first pass over the pseudonymised parts
keeps, for every delivered row, only what the disclosure decisions read (the keys, hashed to
63 bits; ``linked``; the quasi-identifiers and sensitive attributes); a second pass builds
each part's delivered rows again, puts the treated values in, checks them for leaks and
writes them. Hashing the keys keeps equal keys equal; two keys sharing a hash (about one
chance in 10^9 among ten million persons) would only be treated as one person, which
suppresses more, never less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from pipeline.config import (
    DERIVED_FROM,
    PERSON_ROLES,
    DisclosureSettings,
    PipelineConfig,
    SourceConfig,
)
from pipeline.disclosure.settings import KAnonymitySettings
from pipeline.quarantine import without_leading_underscores
from pipeline.stages.earlier import (
    Holdings,
    WholeExtracts,
    earlier_extracts,
    hashed_key,
    is_key_column,
)
from pipeline.stages.earlier_summary import recipient_holdings
from pipeline.stages.parts import Part, PartSet

__all__ = [
    "deidentify",
    "earlier_extracts",
    "extract_columns",
    "identifying_values",
    "ladders",
    "protect_delivery",
    "recipient_holdings",
]

# Short categorical roles are not searched for: "F" would match any "F" in an attribute.
_LEAK_ROLES = ("first_name", "surname", "full_name", "address", "postcode", "date_of_birth")


def extract_columns(columns: Sequence[str], config: PipelineConfig) -> list[str]:
    """Columns that may be delivered (of a batch with ``columns``), in delivery order."""
    base = ["_source"]
    if config.linkage.mode != "none":
        base += ["person_id", "linked"]
    pseudonyms = sorted(c for c in columns if c.startswith("pid_"))
    attributes = [a for a in config.approved_attributes if a in columns]
    return [*base, *pseudonyms, "record_key", *attributes, *config.disclosure.derive]


def identifying_values(prepared: PartSet) -> dict[str, pl.LazyFrame]:
    """Direct-identifier columns of the prepared (pre-pseudonymisation) parts, for the leak
    check: one lazy column per name, over every source that has it."""
    columns: dict[str, list[pl.LazyFrame]] = {}
    for source in dict.fromkeys(p.source for p in prepared.parts()):
        parts = prepared.parts(source)
        for c in prepared.schema(source):
            if c in _LEAK_ROLES or c.startswith("id_"):
                scan = prepared.scan(parts).select(pl.col(c).cast(pl.String))
                columns.setdefault(c, []).append(scan)
    return {c: pl.concat(scans) for c, scans in columns.items()}


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
    parts: PartSet,
    config: PipelineConfig,
    identifying: Mapping[str, pl.Series | pl.LazyFrame],
    out: PartSet,
    *,
    earlier: Mapping[str, pl.DataFrame] | Holdings | None = None,
) -> dict[str, Any]:
    """Write the de-identified rows of the pseudonymised ``parts`` into ``out`` (one part each,
    columns as delivered) and return the disclosure summary.

    ``identifying`` holds the batch's direct-identifier values (:func:`identifying_values`);
    ``earlier`` the extracts the recipient already has (:func:`earlier_extracts`, or the
    summary of :func:`pipeline.stages.earlier_summary.recipient_holdings`): joins with them
    are assessed too, and they are never changed."""
    from pipeline.disclosure import LeakCheck

    out.start()
    layout = _Layout(parts, config)
    protected = {name: layout.protected(name) for name in layout.sources}
    anonymised, reports = _anonymise_sources(protected, config)
    held = earlier if isinstance(earlier, Holdings) else WholeExtracts(earlier or {})
    treated, linked = protect_delivery(anonymised, config, held)
    check = LeakCheck(identifying, pseudonyms=True)
    written = []
    for name in layout.sources:
        offset, values = 0, treated.get(name, protected[name])  # an empty file is not treated
        for part in parts.parts(name):
            chunk = layout.chunk(part, values.slice(offset, part.rows))
            check.add(chunk)
            out.write(part.name, without_leading_underscores(chunk))
            written.append(part)
            offset += part.rows
    check.finish()
    out.finish(written)
    return {"k_anonymity": reports, **linked}


class _Layout:
    """The delivered columns of a batch, and each part's rows as delivered (module docstring)."""

    def __init__(self, parts: PartSet, config: PipelineConfig) -> None:
        from pipeline.disclosure import minimise

        self.parts, self.config = parts, config
        self.sources = [s.name for s in config.sources if parts.parts(s.name)]
        schemas = {n: parts.schema(n) for n in self.sources}
        union = {c: t for schema in schemas.values() for c, t in schema.items()}
        self.pseudonyms = [c for c in union if c.startswith("pid_")]
        derived: dict[str, pl.DataType] = {n: pl.String() for n in config.disclosure.derive}
        columns = pl.DataFrame(schema={**union, **derived})  # derived: as delivered
        direct = [c for c in columns.columns if c in PERSON_ROLES or c.startswith("id_")]
        wanted = extract_columns(columns.columns, config)
        self.columns = minimise(columns, wanted, [*direct, "_file", "_row"]).columns
        self.steps = ladders(config.disclosure)
        self.qis = {n: self._qis(n) for n in self.sources}

    def _source(self, name: str) -> SourceConfig:
        return next(s for s in self.config.sources if s.name == name)

    def _own_columns(self, name: str) -> list[str]:
        foreign = set(self.config.approved_attributes) - set(self._source(name).attribute_columns())
        return [c for c in self.columns if c not in foreign]

    def _qis(self, name: str) -> list[str]:
        own = self._own_columns(name)
        return [q for q in self.config.disclosure.quasi_identifiers if q in own]

    def rows(self, part: Part) -> pl.DataFrame:
        """A pseudonymised part's rows as delivered, before disclosure control: derived
        attributes added, only the source's own delivered columns, derived attributes that are
        not quasi-identifiers at their finest allowed level, as text (quasi-identifiers stay
        raw for the ladders; their treated values replace them)."""
        frame = self.parts.read(part)
        for name in self.config.disclosure.derive:
            role = DERIVED_FROM[name]
            dtype = pl.Date if role == "date_of_birth" else pl.String
            raw = pl.col(role) if role in frame.columns else pl.lit(None, dtype=dtype)
            frame = frame.with_columns(raw.alias(name))
        missing = [c for c in self.pseudonyms if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
        qis = self.qis[part.source]
        fixed = [n for n in self.steps if n not in qis]
        return (
            frame.select(self._own_columns(part.source))
            .with_columns(self.steps[n].apply(0) for n in fixed)
            .with_columns(pl.col(n).cast(pl.String) for n in fixed)
        )

    def protected(self, name: str) -> pl.DataFrame:
        """Every row of source ``name`` with only what disclosure control reads: the keys
        (hashed), ``linked``, the quasi-identifiers and the sensitive attributes."""
        chunks = []
        for part in self.parts.parts(name):
            rows = self.rows(part)
            keep = [c for c in rows.columns if c in self._protected_columns(name)]
            chunks.append(
                rows.select(keep).with_columns(hashed_key(c) for c in keep if is_key_column(c))
            )
        return pl.concat(chunks, rechunk=True)  # one layout, whatever the parts: same sums

    def _protected_columns(self, name: str) -> set[str]:
        settings = self.config.disclosure
        keys = {c for c in self._own_columns(name) if is_key_column(c)}
        weight = [settings.risk.weight] if settings.risk.weight else []
        return keys | {"linked", *self.qis[name], *settings.sensitive, *weight}

    def chunk(self, part: Part, treated: pl.DataFrame) -> pl.DataFrame:
        """A part's delivered rows with the treated values of ``treated`` (its rows of the
        protected frame): suppressed values and removed keys."""
        rows = self.rows(part)
        patch = [
            pl.when(treated[c].is_null()).then(None).otherwise(pl.col(c)).alias(c)
            if is_key_column(c)
            else treated[c].alias(c)
            for c in treated.columns
        ]
        categories = [
            pl.col(a).cast(pl.Categorical)
            for a, kind in self.config.attribute_types().items()
            if kind == "category" and a in rows.columns
        ]
        return rows.with_columns(patch).with_columns(categories)


def _anonymise_sources(
    protected: Mapping[str, pl.DataFrame], config: PipelineConfig
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Each source's protected columns generalised and made k-anonymous (and l-diverse) on
    its own, record by record."""
    from pipeline.disclosure import anonymise

    settings = config.disclosure
    steps = ladders(settings)
    files, reports = {}, {}
    for name, part in protected.items():
        if not part.height:
            continue
        qis = [q for q in settings.quasi_identifiers if q in part.columns]
        if qis:
            part, report = anonymise(part, _source_settings(settings, qis, part.columns), {
                q: steps[q] for q in qis if q in steps
            })  # fmt: skip
            reports[name] = report.to_dict()
        files[name] = part.with_columns(pl.col(n).cast(pl.String) for n in steps if n in qis)
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
    earlier: Mapping[str, pl.DataFrame] | Holdings,
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Every join of the delivery's files (and of the ``earlier`` ones, keys hashed) on a
    shared key made
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
    if not isinstance(earlier, Holdings):
        earlier = WholeExtracts(earlier, hash_keys=False)
    held = earlier.relevant(keys, files)
    treated, linked = protect_linked(files, settings, keys=keys, earlier=held)
    summary.update(linked, linked_earlier=sorted(held.frames))
    if "person_id" in keys:
        for name, frame in treated.items():
            if "linked" in frame.columns:
                treated[name] = frame.with_columns(
                    pl.when(pl.col("person_id").is_null()).then(None).otherwise(pl.col("linked"))
                    .alias("linked")
                )  # fmt: skip
    return treated, summary
