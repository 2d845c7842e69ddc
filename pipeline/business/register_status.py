"""The register's view of each enterprise: active, dissolved, not yet incorporated...

Registers spell a status many ways (Companies House: "Active", "Dissolved", "Liquidation",
"Converted/Closed"; an IDBR extract: "live", "dead"). :func:`register_status` maps a status
column and a dissolution-date column (either may be absent) to one of
:data:`REGISTER_STATUSES`:

===========================  ==============================================================
``active``                   active, live, open, registered, trading (also "active -
                             proposal to strike off")
``dissolved``                dissolved, dead, closed, removed, struck off, ceased; or any
                             row with a dissolution date
``not_yet_incorporated``     not yet incorporated, pre-incorporation, proposed, pending
``insolvency``               liquidation, administration, receivership, voluntary
                             arrangement, insolvency proceedings (the company still exists)
``unknown``                  empty, or a value none of the above recognises
===========================  ==============================================================

Unrecognised values are counted in a warning, never quoted.
"""

from __future__ import annotations

import logging

import polars as pl

from pipeline.business.columns import RegisterColumns, present

logger = logging.getLogger(__name__)

REGISTER_STATUSES: tuple[str, ...] = (
    "active", "dissolved", "not_yet_incorporated", "insolvency", "unknown",
)  # fmt: skip
#: Statuses a CRN request reports instead of ``matched_*`` (the company cannot trade).
NOT_TRADING: tuple[str, ...] = ("dissolved", "not_yet_incorporated")

# Checked in this order on the status folded to lower case with "_" between words.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("not_yet_incorporated", r"not_yet_incorporated|pre_?incorporation|^proposed|^pending"),
    ("dissolved", r"dissolved|^dead|closed|removed|struck_off|ceased"),
    ("insolvency", r"liquidation|administration|receivership|voluntary_arrangement|insolven"),
    ("active", r"^(?:active|live|open|registered|trading)"),
)


def register_status(frame: pl.DataFrame, columns: RegisterColumns, source: str) -> pl.Series:
    """Each row's status (one of :data:`REGISTER_STATUSES`), named ``register_status``;
    ``unknown`` everywhere when the frame has neither a status nor a dissolution date."""
    status, dissolved_on = present(frame, columns.status), present(frame, columns.dissolution_date)
    folded = (
        pl.col(status).cast(pl.String).str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
        if status
        else pl.lit(None, pl.String)
    ).str.strip_chars("_")
    mapped = pl.lit("unknown")
    for name, pattern in reversed(_PATTERNS):
        mapped = pl.when(folded.str.contains(pattern)).then(pl.lit(name)).otherwise(mapped)
    if dissolved_on:
        has_date = pl.col(dissolved_on).cast(pl.String).str.strip_chars().str.len_chars() > 0
        mapped = pl.when(has_date.fill_null(False)).then(pl.lit("dissolved")).otherwise(mapped)
    # with_columns, not select: a literal (no status column) must fill every row
    result = frame.with_columns(mapped.alias("__status"), folded.alias("__folded")).select(
        pl.col("__status").alias("register_status"), "__folded"
    )
    unrecognised = result.filter(
        (pl.col("register_status") == "unknown") & (pl.col("__folded").str.len_chars() > 0)
    ).height
    if unrecognised:
        logger.warning(
            "%s: %d register row(s) have a status value that is not recognised; treated as unknown",
            source,
            unrecognised,
        )
    return result["register_status"]
