"""Data minimisation for record-level extracts, and a check that no identifier leaked through."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import polars as pl

from pipeline.disclosure.errors import IdentifierLeak, TableSpecError

logger = logging.getLogger(__name__)

# Values at least this long are also searched for inside longer strings (free text, file names).
SUBSTRING_MIN_LENGTH = 6


def minimise(
    df: pl.DataFrame, approved: Sequence[str], direct_identifiers: Sequence[str]
) -> pl.DataFrame:
    """Keep only approved columns, and never a direct identifier even if it was approved.

    Raises :class:`TableSpecError` naming every approved column missing from ``df``.
    """
    missing = [c for c in approved if c not in df.columns]
    if missing:
        raise TableSpecError(f"approved columns not in the extract: {missing}")
    banned = set(direct_identifiers)
    overlap = [c for c in approved if c in banned]
    if overlap:
        logger.warning("approved list names direct identifiers; dropping them: %s", overlap)
    keep = [c for c in dict.fromkeys(approved) if c not in banned]
    logger.info("minimise: kept %d of %d columns", len(keep), len(df.columns))
    return df.select(keep)


def leak_check(extract: pl.DataFrame, sources: Mapping[str, pl.Series]) -> None:
    """Raise :class:`IdentifierLeak` if any source identifier value appears in ``extract``.

    Every column is compared as text: a cell equal to an identifier value is a leak, and
    identifier values of at least ``SUBSTRING_MIN_LENGTH`` characters are also found inside
    longer cells. The error reports column, source and count only.
    """
    leaks: list[tuple[str, str, int]] = []
    for source_name, series in sources.items():
        values = _identifier_values(series)
        if values.is_empty():
            continue
        long_values = values.filter(values.str.len_chars() >= SUBSTRING_MIN_LENGTH).to_list()
        for column in extract.columns:
            text = pl.col(column).cast(pl.String).str.strip_chars()
            hit = text.is_in(values.implode())
            if long_values:
                hit = hit | text.str.contains_any(long_values)
            count = int(extract.select(hit.fill_null(False).sum()).item())
            if count:
                leaks.append((column, source_name, count))
    if leaks:
        raise IdentifierLeak(leaks)


def _identifier_values(series: pl.Series) -> pl.Series:
    text = series.cast(pl.String).str.strip_chars()
    return text.filter(text.is_not_null() & (text != "")).unique()
