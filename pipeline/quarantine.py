"""The one quarantine format pprl publishes, for ``pprl run`` deliveries (``quarantine.parquet``)
and ``pprl pseudonymise`` (``OUT.quarantine.parquet``) alike.

One row per problem, never the value:

========================  ==============================================================
``source_dataset``        the config's source name (``pprl pseudonymise``: the input file's
                          name without its suffix)
``file``                  the input file, as the config or command line named it
``row``                   1-based data row: the header is not counted, so in a CSV with a
                          header the problem is on line ``row + 1``; in Parquet, row ``row``
``stage``                 ``ingest`` (the row could not be read), ``identifiers`` (an
                          identifier failed its check: the row is left out) or
                          ``identifiers_nulled`` (the row was kept with the identifier nulled)
``column``                the input column, as named in the file (null for a whole-row
                          problem such as ``ragged_row``)
``reason``                a code: ``<type>:<reason>`` for an identifier (``nhs:bad_check_digit``,
                          :mod:`pseudonym.identifiers`), else ``bad_date``, ``ragged_row``,
                          ``unparseable_row``, ``bad_encoding``
========================  ==============================================================

Inside a run the pipeline keeps its own accounting columns (``_source``, ``_file``, ``_row``
counting CSV records with the header as row 1; :data:`pipeline.ingest.QUARANTINE_SCHEMA`);
:func:`published_quarantine` turns them into this format when the delivery is written.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

SCHEMA = pl.Schema(
    {
        "source_dataset": pl.String(),
        "file": pl.String(),
        "row": pl.Int64(),
        "stage": pl.String(),
        "column": pl.String(),
        "reason": pl.String(),
    }
)
#: Accounting columns renamed when a table is delivered (R and Stata dislike a leading "_").
DELIVERED_NAMES = {"_source": "source_dataset", "_file": "file", "_row": "row"}


def identifier_reasons(id_type: str, codes: pl.Series) -> pl.Series:
    """Reason codes of one identifier type as published: ``<type>:<code>``; null stays null."""
    return pl.select(pl.lit(f"{id_type}:") + codes.cast(pl.String)).to_series().alias(codes.name)


def published_quarantine(internal: pl.DataFrame, header_rows: Mapping[str, int]) -> pl.DataFrame:
    """A run's quarantine (:data:`pipeline.ingest.QUARANTINE_SCHEMA`) in the published format,
    ordered by source, file and row. ``header_rows`` gives, per source, how many rows its
    ``_row`` numbers count before the data (1 for CSV, 0 for Parquet)."""
    offset = pl.col("_source").replace_strict(header_rows, default=0, return_dtype=pl.Int64)
    published = internal.with_columns((pl.col("_row") - offset).alias("_row")).rename(
        {**DELIVERED_NAMES, "field": "column"}
    )
    ordered = published.select(SCHEMA.names()).cast(SCHEMA)
    return ordered.sort("source_dataset", "file", "row")


def without_leading_underscores(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the accounting columns renamed (:data:`DELIVERED_NAMES`) and any other
    leading underscores dropped, so no delivered column name starts with ``_``."""
    renames = {c: DELIVERED_NAMES.get(c, c.lstrip("_")) for c in frame.columns if c.startswith("_")}
    clash = sorted(set(renames.values()) & (set(frame.columns) - set(renames)))
    if clash or "" in renames.values():
        raise ValueError(f"delivered column names would clash: {', '.join(clash) or '_'}")
    return frame.rename(renames)
