"""Deterministic matching: an incoming record and a register entry share a valid identifier.

Identifiers are compared in normalised form (``pseudonym.identifiers``), so "SC1234", "sc001234"
and "SC 001234" agree. A record whose identifiers point to more than one enterprise (two
register rows with the same CRN, or a CRN and a VAT number of different enterprises) is
ambiguous, never silently resolved: ``link_to_register`` lets the model try it (the identifier
agrees with each of them) and keeps it ambiguous unless the model links it.
"""

from __future__ import annotations

import polars as pl

from pipeline.business.prepare import UID, norm_column

REG_UID = "reg_uid"
ENTREF = "entref"
TOKEN = "entref_pseudonym"  # the project environment's pseudonym of the entref


def deterministic_matches(
    incoming_ids: pl.DataFrame,
    register_ids: pl.DataFrame,
    register_entref: pl.Series,
    id_types: list[str],
) -> pl.DataFrame:
    """One row per incoming record with at least one shared identifier.

    Columns: ``uid``; ``method`` (the types that matched, e.g. ``"crn"`` or ``"crn+vat"``);
    ``n_enterprises`` (distinct enterprises found); ``reg_uid`` and ``entref`` (set only when
    exactly one enterprise was found).
    """
    entrefs = pl.DataFrame(
        {
            REG_UID: pl.int_range(len(register_entref), dtype=pl.Int64, eager=True),
            ENTREF: register_entref,
        }
    )
    hits = []
    for rank, id_type in enumerate(id_types):
        column = norm_column(id_type)
        left = incoming_ids.select(UID, column).drop_nulls(column)
        right = register_ids.select(pl.col(UID).alias(REG_UID), column).drop_nulls(column)
        hits.append(
            left.join(right, on=column).select(
                UID, REG_UID, pl.lit(id_type).alias("id_type"), pl.lit(rank).alias("rank")
            )
        )
    schema = {
        UID: pl.Int64,
        "method": pl.String,
        "n_enterprises": pl.UInt32,
        REG_UID: pl.Int64,
        ENTREF: pl.String,
    }
    if not hits:
        return pl.DataFrame(schema=schema)
    joined = pl.concat(hits).join(entrefs, on=REG_UID).sort(UID, "rank", REG_UID)
    grouped = joined.group_by(UID).agg(
        pl.col("id_type").unique(maintain_order=True).str.join("+").alias("method"),
        pl.col(ENTREF).n_unique().cast(pl.UInt32).alias("n_enterprises"),
        pl.col(REG_UID).first().alias(REG_UID),
        pl.col(ENTREF).first().alias(ENTREF),
    )
    single = pl.col("n_enterprises") == 1
    return (
        grouped.with_columns(
            pl.when(single).then(pl.col(REG_UID)).alias(REG_UID),
            pl.when(single).then(pl.col(ENTREF)).alias(ENTREF),
        )
        .select(list(schema))
        .sort(UID)
    )
