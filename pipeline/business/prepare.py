"""Turn a register or incoming file into what matching needs: normalised IDs and standardised
names, trading names, postcodes and addresses, keyed by an internal row number ``uid``."""

from __future__ import annotations

import polars as pl

from linkage.company_tokens import written_out
from linkage.standardise import normalise_address, normalise_postcode, split_trading_as
from linkage.standardise.companies import with_company_name_parts
from pipeline.business.columns import SHARED_ID_TYPES, as_text, present
from pipeline.business.name_repairs import repaired_company_name
from pseudonym.identifiers import check

UID = "uid"


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
    """``uid`` and what probabilistic matching compares, null where absent: for the legal name
    and the trading name (a separate column or a "T/A" part of the name; both first
    :func:`repaired_company_name`) their core (abbreviations written out:
    :func:`~linkage.company_tokens.written_out`; the legal one also without spaces,
    ``name_compact``, since sources split and join words: "RAPID FIELD"), their
    distinguishing words (:func:`~linkage.standardise.companies.with_company_name_parts`:
    ``name_core``, ``name_words``, ``trading_core``, ``trading_words``), the legal form
    (``legal_form``), ``postcode_std`` and ``address_std``."""
    name, trading_name = present(frame, name), present(frame, trading_name)
    postcode, address = present(frame, postcode), present(frame, address)

    def text(column: str | None) -> pl.Expr:
        return pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)

    base = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UID),
        repaired_company_name(text(name)).alias("__name"),
        repaired_company_name(text(trading_name)).alias("__trading"),
        normalise_postcode(text(postcode)).alias("postcode_std"),
        normalise_address(text(address)).alias("address_std"),
    )
    _, embedded_trading = split_trading_as(pl.col("__name"))
    base = base.with_columns(pl.coalesce("__trading", embedded_trading).alias("__trading"))
    parts = with_company_name_parts(base, "__name", "name")
    parts = with_company_name_parts(parts, "__trading", "trading")
    parts = parts.with_columns(written_out(pl.col("name_core")).alias("name_core"))
    return parts.select(
        UID,
        "name_core",
        pl.col("name_core").str.replace_all(" ", "", literal=True).alias("name_compact"),
        "name_words",
        written_out(pl.col("trading_core")).alias("trading_core"),
        "trading_words",
        pl.col("name_form").alias("legal_form"),
        "postcode_std",
        "address_std",
    )
