"""A blocking key for names with a slip or two that the other keys miss (issue 11): the
register name a keystroke or two from the record's (:func:`add_near_name`).

A mistyped rare word is the record's rarest token, which no register row holds; a slip in
the first letters of a name breaks the prefix key; and a company that moved is not found at
its postcode. So a record whose name (without spaces) the register does not hold is given the
register name it is nearest to: one that shares a *deletion variant* with it (the name itself
or the name with one letter dropped: "RTPSLOUTIONS" and "RTPSOLUTIONS" both give
"RTPSOUTIONS"), which covers a letter substituted, added, dropped or two swapped, and a few
slips of two keystrokes. The key is that register name, blocked against the register's names:
it is kept only where at most ``cap`` register rows hold it (a common name would pair the
record with all of them), and of several near names the one fewest rows hold (then the first
alphabetically). Names shorter than :data:`MIN_NEAR_LENGTH` are left out: a short name has
many real names a keystroke away.
"""

from __future__ import annotations

import polars as pl

from pipeline.business.prepare import UID

#: The key column: on an incoming record, the register name (compact core) near its own.
NEAR_BLOCK = "name_near_block"
#: Names shorter than this (without spaces) get no near name.
MIN_NEAR_LENGTH = 8
#: Register names whose variants are made at once.
CHUNK = 20_000


def add_near_name(
    incoming: pl.DataFrame, register: pl.DataFrame, *, compact: str, cap: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add :data:`NEAR_BLOCK` to ``incoming`` (null where the register holds its ``compact``
    name, or none is near) and, null, to ``register`` (the two frames keep the same columns;
    the rule compares the record's near name with the register's ``compact`` column)."""
    held = register.select(pl.col(compact).alias("__name")).drop_nulls().group_by("__name").len()
    unheld = incoming.join(held.select(pl.col("__name").alias(compact)), on=compact, how="anti")
    record_variants = _deletion_variants(unheld.select(pl.col(compact).alias("__name"), UID))
    register_variants = _register_variants(held.filter(pl.col("len") <= cap), record_variants)
    near = (
        record_variants.join(
            register_variants.select("__variant", pl.col("__name").alias(NEAR_BLOCK), "len"),
            on="__variant",
        )
        .filter(pl.col("__name") != pl.col(NEAR_BLOCK))
        .sort(UID, "len", NEAR_BLOCK)
        .group_by(UID, maintain_order=True)
        .agg(pl.col(NEAR_BLOCK).first())
    )
    incoming = incoming.join(near, on=UID, how="left", maintain_order="left")
    return incoming, register.with_columns(pl.lit(None, pl.String).alias(NEAR_BLOCK))


def _register_variants(held: pl.DataFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """The deletion variants (``__variant``) of ``held``'s names (``__name``, ``len``) that
    ``wanted`` has too, made :data:`CHUNK` names at a time: all of a large register's at once
    would hold about twenty rows per name in memory."""
    keys = wanted.select("__variant").unique()
    parts = [
        _deletion_variants(held.slice(start, CHUNK)).join(keys, on="__variant", how="semi")
        for start in range(0, held.height, CHUNK)
    ]
    return pl.concat(parts) if parts else _deletion_variants(held)


def _deletion_variants(frame: pl.DataFrame, name: str = "__name") -> pl.DataFrame:
    """``frame``'s rows with a name of at least :data:`MIN_NEAR_LENGTH` letters, once per
    deletion variant (``__variant``: the name, and the name with each letter dropped)."""
    text = pl.col(name)
    at = pl.col("__at")
    long_enough = frame.filter(text.str.len_chars() >= MIN_NEAR_LENGTH)
    spread = long_enough.with_columns(pl.int_ranges(-1, text.str.len_chars()).alias("__at"))
    dropped = text.str.slice(0, at) + text.str.slice(at + 1)
    variant = pl.when(at < 0).then(text).otherwise(dropped).alias("__variant")
    return spread.explode("__at").with_columns(variant).drop("__at").unique()
