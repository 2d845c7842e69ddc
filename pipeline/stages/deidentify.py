"""Stage 4: strip direct identifiers and keep approved attributes only, then check for leaks.

The extract holds ``_source``, ``person_id`` and ``linked`` (when linkage ran), the ``pid_*``
pseudonyms, ``record_key`` and the approved attributes, in that order, sorted by source file and
row so that reruns give byte-identical Parquet. :func:`pipeline.disclosure.minimise` does the
column selection and :func:`pipeline.disclosure.leak_check` proves no identifier value survived.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import PERSON_ROLES, PipelineConfig

# Short categorical roles are not searched for: "F" would match any "F" in an attribute.
_LEAK_ROLES = ("first_name", "surname", "full_name", "address", "postcode", "date_of_birth")


def extract_columns(frame: pl.DataFrame, config: PipelineConfig) -> list[str]:
    """Columns that may be delivered, in delivery order."""
    base = ["_source"]
    if config.linkage.mode != "none":
        base += ["person_id", "linked"]
    pseudonyms = sorted(c for c in frame.columns if c.startswith("pid_"))
    attributes = [a for a in config.approved_attributes if a in frame.columns]
    return [*base, *pseudonyms, "record_key", *attributes]


def identifying_values(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """Direct-identifier columns of a pre-pseudonymisation frame, for the leak check."""
    return {
        c: frame[c].cast(pl.String)
        for c in frame.columns
        if c in _LEAK_ROLES or c.startswith("id_")
    }


def deidentify(
    frame: pl.DataFrame, config: PipelineConfig, identifying: dict[str, pl.Series]
) -> pl.DataFrame:
    """The de-identified extract for ``frame`` (all sources together)."""
    from pipeline.disclosure.minimise import leak_check, minimise

    ordered = frame.sort("_source", "_file", "_row")
    direct = [c for c in frame.columns if c in PERSON_ROLES or c.startswith("id_")]
    direct += ["_file", "_row"]
    extract = minimise(ordered, extract_columns(frame, config), direct)
    leak_check(extract, identifying)
    return extract
