"""Data minimisation for record-level extracts, and a check that no identifier leaked through."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import polars as pl

from pipeline.disclosure.errors import IdentifierLeak, TableSpecError
from pipeline.disclosure.hashed_lookup import HashedLookup
from pseudonym.tokens import TOKEN_CHARS, TOKEN_SHAPE

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
        pseudonyms: bool = False,
    ) -> None:
        self.names = list(sources)
        # Looked up per column of every chunk: hashed once, not joined whole each time.
        self.identifiers = HashedLookup(_identifier_table(sources), "v")
        table = _phrase_table(self.identifiers.table, substring_min_length)
        self.phrases = {
            int(n): HashedLookup(g.select("gram", "source"), "gram")
            for (n,), g in table.group_by("n")
        }
        # With ``pseudonyms``, cells shaped like one are searched for phrases only when a
        # phrase could be made of a pseudonym's words (see _outside_pseudonyms).
        self.token_words = _token_words(table) if pseudonyms else None
        self.found: dict[tuple[int, str], int] = {}  # (source, column) -> rows
        self.columns: dict[str, int] = {}  # column -> first position seen

    def add(self, extract: pl.DataFrame) -> None:
        """Check one chunk of the extract."""
        if self.identifiers.table.is_empty():
            return
        for column in extract.columns:
            self.columns.setdefault(column, len(self.columns))
            text = extract.get_column(column).cast(pl.String).str.strip_chars()
            # Each distinct cell is checked once; its row count says how many rows leak.
            cells = text.alias("v").to_frame().group_by("v").len().drop_nulls("v")
            hits = self.identifiers.join(cells).select("v", "source")
            if self.phrases and extract.schema[column] == pl.String:
                text_cells = self._outside_pseudonyms(cells.get_column("v"))
                embedded = _embedded(text_cells, self.phrases)
                hits = pl.concat([hits, embedded]).unique()
            counted = hits.join(cells, on="v").group_by("source").agg(pl.col("len").sum())
            for source, rows in counted.iter_rows():
                if rows:
                    key = (int(source), column)
                    self.found[key] = self.found.get(key, 0) + int(rows)

    def _outside_pseudonyms(self, cells: pl.Series) -> pl.Series:
        """``cells`` less the pseudonyms that cannot hold an identifier phrase. A pseudonym's
        words are its prefix (letters and key version) and its base32 text, so a phrase can
        be inside one only if each of its words is a prefix present here or base32-shaped;
        where some phrase could be, every cell is searched, as without ``pseudonyms``.
        (Whole cells equal to an identifier are found by the exact match either way.)"""
        if self.token_words is None:
            return cells
        shaped = cells.str.contains(TOKEN_SHAPE)
        if not shaped.any():
            return cells
        b32_only, prefix_words = self.token_words
        prefixes = cells.filter(shaped).str.head(-(TOKEN_CHARS + 1)).unique().str.to_uppercase()
        if b32_only or prefixes.is_in(prefix_words.implode()).any():
            return cells
        return cells.filter(~shaped)

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


def _token_words(phrases: pl.DataFrame) -> tuple[bool, pl.Series]:
    """Of the phrases made only of words a pseudonym can hold (prefix-shaped: letters then
    digits; or base32 text of a pseudonym's length): whether one is all base32 text, and the
    prefix-shaped words of the others."""
    prefix_shaped, b32_shaped = r"^[A-Z]{1,8}[0-9]+$", rf"^[A-Z2-7]{{{TOKEN_CHARS}}}$"
    words = phrases.select(pl.col("gram").str.split(" ").alias("word")).with_row_index("phrase")
    words = words.explode("word").with_columns(
        pl.col("word").str.contains(prefix_shaped).alias("prefix"),
        pl.col("word").str.contains(b32_shaped).alias("b32"),
    )
    fits = words.group_by("phrase").agg(
        (pl.col("prefix") | pl.col("b32")).all().alias("fits"), pl.col("b32").all().alias("b32")
    )
    fitting = fits.filter("fits")
    inside = words.join(fitting.select("phrase"), on="phrase").filter("prefix")
    return bool(fitting.get_column("b32").any()), inside.get_column("word").unique()


def _embedded(cells: pl.Series, phrases: dict[int, HashedLookup]) -> pl.DataFrame:
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
        hit = wanted.join(grams).select("cell", "source")
        out.append(hit.unique().join(ids, on="cell").select("v", "source"))
    return pl.concat(out)
