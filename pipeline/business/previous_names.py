"""Names a company had before (issue 11): compared like its current name, the best counts.

Companies House keeps up to ten previous names per company, and sources go on sending a
company's old name for years. Each distinct previous name (core and distinguishing words) that
differs from the company's current one becomes a row of its own beside the register's rows
(:func:`previous_name_rows`): the company's place and identifiers with the old name and no
trading name. So every blocking key and name level finds a record under the old name as it
finds one under the current name, and a candidate's best row (current or previous) is its
score (:mod:`pipeline.business.fallback` keeps one row per record and enterprise).

What the register as a whole says is counted on the current names only, as without previous
names: the postcode counts (offices), the names held once, the trading names, the families
(:func:`add_register_counts`); and the model is trained on the register's rows alone (its u
from random pairs, its prior per record and company), then scores every name. A previous name
is held once when no other company holds it, now or before (Companies House frees a name when
a company drops it, and another may take it): a record under a name another company now holds
scores that company's held-once level, and the old holder only the level of a name several
rows hold.
"""

from __future__ import annotations

import polars as pl

from pipeline.business.deterministic import REG_UID
from pipeline.business.location import AT_POSTCODE
from pipeline.business.prepare import UID, linkage_frame
from pipeline.business.trading_held import TRADING_HELD
from pipeline.business.training import HELD

#: In scored pairs: the pair's best agreement came through one of the company's previous names.
VIA_PREVIOUS_NAME = "via_previous_name"
NAME, WORDS = "name_core", "name_words"
TRADING_COLUMNS = ("trading_core", "trading_words")
ROW = "__row"


def previous_name_rows(
    frame: pl.DataFrame,
    current: pl.DataFrame,
    *,
    previous_names: tuple[str, ...],
) -> pl.DataFrame:
    """Rows like ``current`` (a :func:`~pipeline.business.prepare.linkage_frame` of the
    register ``frame``, with its identifier columns), one per register row and distinct
    previous name in ``previous_names`` (columns of ``frame``) that is not its current name;
    ``uid`` is the register row's. Empty without previous-name columns."""
    if not previous_names:
        return current.head(0)
    numbered = frame.with_row_index(ROW, offset=0)  # linkage_frame's uid: the row number
    parts = []
    for column in previous_names:  # only the names are read: the place is the company's
        named = numbered.filter(pl.col(column).is_not_null()).select(ROW, column)
        names = linkage_frame(named, name=column, trading_name=None, postcode=None, address=None)
        parts.append(names.with_columns(named[ROW].cast(pl.Int64).alias(UID)))
    names = (
        pl.concat(parts)
        .filter(pl.col(NAME).is_not_null())
        .select(UID, NAME, "name_compact", WORDS, "legal_form")
        .unique([UID, NAME, WORDS], maintain_order=True)
        .join(current.select(UID, NAME, WORDS), on=[UID, NAME, WORDS], how="anti")
    )
    carried = current.drop(NAME, "name_compact", WORDS, "legal_form", *TRADING_COLUMNS)
    nulls = [pl.lit(None, current.schema[c]).alias(c) for c in TRADING_COLUMNS]
    joined = names.join(carried, on=UID, maintain_order="left").with_columns(nulls)
    return joined.select(current.columns).sort(UID, maintain_order=True)


def add_register_counts(
    previous: pl.DataFrame, register: pl.DataFrame, owners: pl.DataFrame
) -> pl.DataFrame:
    """Give the ``previous`` rows (uids of their own: ``owners`` maps each, as ``id_r``, to its
    register row, ``reg_uid``) the register-wide counts the model reads, which ``register``
    has, counted on current names: the company's office count (:data:`AT_POSTCODE`), no
    trading name held (:data:`TRADING_HELD` 0), and :data:`HELD` counted over the companies
    holding the name now or before (one company holding it twice counts once)."""
    owned = previous.join(
        owners.rename({"id_r": UID, REG_UID: "__owner"}), on=UID, maintain_order="left"
    )
    holders = (
        pl.concat(
            [
                register.select(pl.col(UID).alias("__owner"), NAME, WORDS),
                owned.select("__owner", NAME, WORDS),
            ]
        )
        .unique()
        .group_by(NAME, WORDS)
        .agg(pl.len().cast(pl.Int64).alias(HELD))
    )
    offices = register.select(pl.col(UID).alias("__owner"), AT_POSTCODE)
    return (
        owned.join(holders, on=[NAME, WORDS], how="left", maintain_order="left")
        .join(offices, on="__owner", how="left", maintain_order="left")
        .with_columns(pl.lit(0, pl.Int64).alias(TRADING_HELD))
        .select(register.columns)
    )


def with_own_uids(previous: pl.DataFrame, first_uid: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``previous`` with uids of their own from ``first_uid`` on (the linker needs unique ids),
    and ``id_r, reg_uid``: each such uid's register row."""
    own = (pl.int_range(pl.len(), dtype=pl.Int64) + first_uid).alias("__own")
    renumbered = previous.with_columns(own)
    owners = renumbered.select(pl.col("__own").alias("id_r"), pl.col(UID).alias(REG_UID))
    return renumbered.with_columns(pl.col("__own").alias(UID)).drop("__own"), owners
