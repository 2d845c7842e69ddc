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
    check = LeakCheck(sources, substring_min_length=substring_min_length)
    check.add(extract)
    check.finish()


class LeakCheck:
    """:func:`leak_check` over an extract that arrives in chunks: the identifier values are
    gathered once (``sources`` may be lazy, e.g. scans of the files a run read), each chunk
    is checked as it comes, and :meth:`finish` raises for everything found."""

    def __init__(
        self,
        sources: Mapping[str, pl.Series | pl.LazyFrame],
        *,
        substring_min_length: int | None = SUBSTRING_MIN_LENGTH,
    ) -> None:
        self.names = list(sources)
        self.identifiers = _identifier_table(sources)
        table = _phrase_table(self.identifiers, substring_min_length)
        self.phrases = {int(n): g.select("gram", "source") for (n,), g in table.group_by("n")}
        self.found: dict[tuple[int, str], int] = {}  # (source, column) -> rows
        self.columns: dict[str, int] = {}  # column -> first position seen

    def add(self, extract: pl.DataFrame) -> None:
        """Check one chunk of the extract."""
        if self.identifiers.is_empty():
            return
        for column in extract.columns:
            self.columns.setdefault(column, len(self.columns))
            text = extract.get_column(column).cast(pl.String).str.strip_chars()
            # Each distinct cell is checked once; its row count says how many rows leak.
            cells = text.alias("v").to_frame().group_by("v").len().drop_nulls("v")
            hits = cells.join(self.identifiers, on="v").select("v", "source")
            if self.phrases and extract.schema[column] == pl.String:
                embedded = _embedded(cells.get_column("v"), self.phrases)
                hits = pl.concat([hits, embedded]).unique()
            counted = hits.join(cells, on="v").group_by("source").agg(pl.col("len").sum())
            for source, rows in counted.iter_rows():
                if rows:
                    key = (int(source), column)
                    self.found[key] = self.found.get(key, 0) + int(rows)

    def finish(self) -> None:
        """Raise :class:`IdentifierLeak` if any chunk held an identifier value."""
        if self.found:
            # Same order as the per-source, per-column search this replaced.
            ordered = sorted(self.found.items(), key=lambda kv: (kv[0][0], self.columns[kv[0][1]]))
            raise IdentifierLeak([(c, self.names[s], n) for (s, c), n in ordered])


_WORD = r"[0-9A-Za-z]+"
_NOT_WORD = r"[^0-9A-Za-z]"


def _identifier_table(sources: Mapping[str, pl.Series | pl.LazyFrame]) -> pl.DataFrame:
    """Distinct ``(v, source)`` pairs of stripped, non-empty identifier values; ``source`` is
    the position of the source in ``sources`` (small integers hash faster than names). A lazy
    source has one column."""
    frames = [
        _one_column(values).select(
            pl.first().cast(pl.String).str.strip_chars().alias("v"),
            pl.lit(i, dtype=pl.UInt16).alias("source"),
        )
        for i, values in enumerate(sources.values())
    ]
    schema = {"v": pl.String, "source": pl.UInt16}
    return (
        pl.concat([pl.LazyFrame(schema=schema), *frames])
        .filter(pl.col("v").is_not_null() & (pl.col("v") != ""))
        .unique()
        .collect()
    )


def _one_column(values: pl.Series | pl.LazyFrame) -> pl.LazyFrame:
    return values.to_frame().lazy() if isinstance(values, pl.Series) else values


def _phrase_table(identifiers: pl.DataFrame, min_length: int | None) -> pl.DataFrame:
    """Identifier values long enough to search for inside text, as upper-case words joined by
    one space (``gram``), with their number of words (``n``) and source."""
    schema = {"gram": pl.String, "n": pl.UInt32, "source": pl.UInt16}
    if min_length is None:
        return pl.DataFrame(schema=schema)
    long_values = identifiers.lazy().filter(pl.col("v").str.len_chars() >= min_length)
    one_word = long_values.filter(~pl.col("v").str.contains(_NOT_WORD)).select(
        pl.col("v").str.to_uppercase().alias("gram"),
        pl.lit(1, dtype=pl.UInt32).alias("n"),
        "source",
    )  # most IDs, postcodes and single names: no regex split needed
    words = pl.col("v").str.to_uppercase().str.extract_all(_WORD)
    several = long_values.filter(pl.col("v").str.contains(_NOT_WORD)).select(
        words.list.join(" ").alias("gram"), words.list.len().cast(pl.UInt32).alias("n"), "source"
    )
    return pl.concat([one_word, several]).filter(pl.col("n") > 0).unique().collect()


def _embedded(cells: pl.Series, phrases: dict[int, pl.DataFrame]) -> pl.DataFrame:
    """``(v, source)`` for distinct cells of more than one word that hold an identifier phrase
    as consecutive whole words (cells are tokenised once; word n-grams are hash-joined)."""
    multiword = cells.filter(cells.str.contains(_NOT_WORD).fill_null(False))
    out: list[pl.DataFrame] = [pl.DataFrame(schema={"v": pl.String, "source": pl.UInt16})]
    if multiword.is_empty():
        return out[0]
    words = (
        multiword.alias("v")
        .to_frame()
        .with_row_index("cell")
        .with_columns(pl.col("v").str.to_uppercase().str.extract_all(_WORD).alias("word"))
        .with_columns(pl.col("word").list.len().alias("size"))
        .explode("word")
        .drop_nulls("word")
    )
    ids = words.select("cell", "v").unique("cell")
    for n, wanted in phrases.items():
        # Words of one cell are consecutive after the explode; a gram must not cross cells.
        # Only cells of at least n words can hold an n-word phrase (pseudonyms have two).
        long_enough = words.filter(pl.col("size") >= n)
        parts = [pl.col("word").shift(-i) for i in range(n)]
        same_cell = (pl.col("cell").shift(-(n - 1)) == pl.col("cell")).fill_null(False)
        grams = long_enough.select(
            "cell", pl.concat_str(parts, separator=" ").alias("gram"), same_cell.alias("ok")
        ).filter(pl.col("ok"))
        hit = grams.join(wanted, on="gram").select("cell", "source")
        out.append(hit.unique().join(ids, on="cell").select("v", "source"))
    return pl.concat(out)
