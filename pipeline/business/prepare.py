"""Turn a register or incoming file into what matching needs: normalised IDs and standardised
names, trading names, postcodes and addresses, keyed by an internal row number ``uid``."""

from __future__ import annotations

import polars as pl

from linkage.standardise import (
    normalise_address,
    normalise_company_name,
    normalise_postcode,
    split_trading_as,
)
from pipeline.business.columns import SHARED_ID_TYPES, as_text, present
from pseudonym.identifiers import check

UID = "uid"
LINK_COLUMNS: tuple[str, ...] = (UID, "name_std", "trading_name_std", "postcode_std", "address_std")


def norm_column(id_type: str) -> str:
    """Column of normalised (valid) identifiers of ``id_type``; null when invalid or missing."""
    return f"{id_type}_norm"


def reason_column(id_type: str) -> str:
    """Column of reason codes (``pseudonym.identifiers.Reason``); null when valid."""
    return f"{id_type}_reason"


def normalise_ids(
    frame: pl.DataFrame, id_columns: dict[str, str | None], source: str
) -> pl.DataFrame:
    """``uid`` plus ``<type>_norm`` and ``<type>_reason`` for every identifier column present.

    ``id_columns`` maps an identifier type (crn, vat, paye, entref) to its column name.
    """
    out = pl.DataFrame({UID: pl.int_range(frame.height, dtype=pl.Int64, eager=True)})
    for id_type, column in id_columns.items():
        column = present(frame, column)
        if column is None:
            continue
        result = check(id_type, as_text(frame, column, source))
        out = out.with_columns(
            result["normalised"].alias(norm_column(id_type)),
            result["reason"].alias(reason_column(id_type)),
        )
    return out


def shared_id_types(a: pl.DataFrame, b: pl.DataFrame) -> list[str]:
    """Identifier types normalised on both sides, strongest first."""
    both = set(a.columns) & set(b.columns)
    return [t for t in SHARED_ID_TYPES if norm_column(t) in both]


def linkage_frame(
    frame: pl.DataFrame,
    *,
    name: str | None,
    trading_name: str | None,
    postcode: str | None,
    address: str | None,
) -> pl.DataFrame:
    """``uid`` and standardised ``name_std``, ``trading_name_std`` (a separate column or a
    "T/A" part of the name), ``postcode_std`` and ``address_std`` (null where absent)."""
    name, trading_name = present(frame, name), present(frame, trading_name)
    postcode, address = present(frame, postcode), present(frame, address)
    base = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UID),
        (pl.col(name).cast(pl.String) if name else pl.lit(None, pl.String)).alias("__name"),
        (pl.col(trading_name).cast(pl.String) if trading_name else pl.lit(None, pl.String)).alias(
            "__trading"
        ),
        (pl.col(postcode).cast(pl.String) if postcode else pl.lit(None, pl.String)).alias(
            "__postcode"
        ),
        (pl.col(address).cast(pl.String) if address else pl.lit(None, pl.String)).alias(
            "__address"
        ),
    )
    # The standardisers one by one rather than standardise_business_frame: it also derives
    # tokens, flat, house number and street, which matching does not use (3x the time).
    _, embedded_trading = split_trading_as(pl.col("__name"))
    return base.select(
        UID,
        normalise_company_name(pl.col("__name")).alias("name_std"),
        normalise_company_name(pl.coalesce(pl.col("__trading"), embedded_trading)).alias(
            "trading_name_std"
        ),
        normalise_postcode(pl.col("__postcode")).alias("postcode_std"),
        normalise_address(pl.col("__address")).alias("address_std"),
    )
