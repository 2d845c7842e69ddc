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


def leak_check(
    extract: pl.DataFrame,
    sources: Mapping[str, pl.Series],
    *,
    substring_min_length: int | None = SUBSTRING_MIN_LENGTH,
) -> None:
    """Raise :class:`IdentifierLeak` if any source identifier value appears in ``extract``.

    Every column is compared as text: a cell equal to an identifier value is a leak. Values of
    at least ``substring_min_length`` characters are also looked for inside longer text cells
    as whole words, case-insensitively ("called GRACE Whitfield today" holds "Grace Whitfield";
    a random token that happens to contain an ID's digits does not); ``None`` turns that off.
    The error reports column, source and count only.
    """
    leaks: list[tuple[str, str, int]] = []
    for source_name, series in sources.items():
        values = _identifier_values(series)
        if values.is_empty():
            continue
        exact_set = values.alias("v").to_frame()
        phrases = _phrases(values, substring_min_length)
        for column in extract.columns:
            text = extract.get_column(column).cast(pl.String).str.strip_chars()
            # Hash joins: much faster than is_in against a million values.
            cells = text.alias("v").to_frame().with_row_index("row")
            exact_rows = cells.join(exact_set, on="v", how="semi").get_column("row")
            count = exact_rows.len()
            if phrases and extract.schema[column] == pl.String:
                rest = cells.filter(~pl.col("row").is_in(exact_rows.implode()))
                count += _embedded(rest.get_column("v"), phrases)
            if count:
                leaks.append((column, source_name, count))
    if leaks:
        raise IdentifierLeak(leaks)


_WORD = r"[0-9A-Za-z]+"


def _phrases(values: pl.Series, min_length: int | None) -> dict[int, pl.Series]:
    """Identifier values long enough to search for, as upper-case words joined by one space,
    grouped by their number of words."""
    if min_length is None:
        return {}
    long_values = values.filter(values.str.len_chars() >= min_length)
    words = long_values.str.to_uppercase().str.extract_all(_WORD)
    frame = pl.DataFrame({"phrase": words.list.join(" "), "n": words.list.len()})
    frame = frame.filter(pl.col("n") > 0)
    return {int(n): group.get_column("phrase").unique() for (n,), group in frame.group_by("n")}


def _embedded(text: pl.Series, phrases: dict[int, pl.Series]) -> int:
    """Cells with more than one word holding an identifier phrase as consecutive words."""
    multiword = text.filter(text.str.contains(r"[^0-9A-Za-z]").fill_null(False))
    if multiword.is_empty():
        return 0
    words = (
        pl.DataFrame({"cell": multiword.str.to_uppercase().str.extract_all(_WORD)})
        .with_row_index("row")
        .explode("cell")
        .drop_nulls("cell")
    )
    hit_rows: set[int] = set()
    for n, wanted in phrases.items():
        # Words of one cell are consecutive after the explode; a gram must not cross cells.
        parts = [pl.col("cell").shift(-i) for i in range(n)]
        same_cell = (pl.col("row").shift(-(n - 1)) == pl.col("row")).fill_null(False)
        grams = words.select(
            "row", pl.concat_str(parts, separator=" ").alias("gram"), same_cell.alias("ok")
        ).filter(pl.col("ok"))
        found = grams.join(wanted.alias("gram").to_frame(), on="gram", how="semi")
        hit_rows.update(found.get_column("row").to_list())
    return len(hit_rows)


def _identifier_values(series: pl.Series) -> pl.Series:
    text = series.cast(pl.String).str.strip_chars()
    return text.filter(text.is_not_null() & (text != "")).unique()
