"""Which register rows an incoming record is compared with: the blocking keys and rules of the
business model (:func:`add_block_keys`, :func:`blocking_rules`).

A pair is a candidate when any rule finds it. Keys that few records share find a company
wherever it now is (a moved company, one registered at its accountant's); the others need the
place as well:

* the core name without spaces (``name_core_block``), where rare, alone; any core name with
  its postcode district;
* the same postcode;
* the rarest name token another record holds, legal or trading, either way round;
* the legal name's compact core against the other side's trading name's (``trading_block``),
  where rare: a sole trader or a shop is often sent under its trading name alone;
* the first :data:`PREFIX_LETTERS` letters of the compact core (``name_prefix_block``), where
  rare and the name is longer than that: a slip late in a name (or a truncated name) leaves
  its beginning, so a moved company whose name was mistyped is still a candidate;
* the core name's words sorted (``name_order_block``), where rare and the name has two words
  or more: a name whose words were swapped ("SON & WEBSTER") meets its company wherever it is;
* the standardised address (``address_block``), where rare: the same premises with a mistyped
  or missing postcode;
* the register name a keystroke or two from a name the register does not hold
  (:mod:`pipeline.business.near_names`), where rare: a slip anywhere in the name, met
  wherever the company now is.

"Rare" is at most ``cap`` records of both inputs sharing the key (``MatchSettings.
block_frequency``): a key like "SMITH & SONS" or a formation agent's address would pair each
record with thousands.
"""

from __future__ import annotations

import polars as pl

from linkage import BlockingRule, block_across, block_on
from linkage.company_names import rarest_column, tokens_column
from pipeline.business.near_names import NEAR_BLOCK, add_near_name

NAME, TRADING = "name_core", "trading_core"
COMPACT = "name_compact"  # the core without spaces
NAME_BLOCK = "name_core_block"  # the compact core, where rare enough to block on alone
TRADING_BLOCK = "trading_block"  # the trading name's compact core, where rare
PREFIX_BLOCK = "name_prefix_block"  # the compact core's first letters, where rare
ORDER_BLOCK = "name_order_block"  # the core's tokens sorted and joined, where rare
ADDRESS_BLOCK = "address_block"  # the standardised address, where rare
DISTRICT = "postcode_district"
#: Letters of the compact core that :data:`PREFIX_BLOCK` keeps: long enough that few names
#: share them (a business word is rarely this long), short enough that a slip in the second
#: half of most names leaves them whole.
PREFIX_LETTERS = 8


def blocking_rules() -> list[BlockingRule]:
    """The rules, most specific first (a pair is counted under the first rule that finds it):
    :func:`em_rules`, then the passes that find the slips and the moves they miss."""
    return [
        *em_rules(),
        block_across(NAME_BLOCK, TRADING_BLOCK, name="legal-trading name"),
        block_across(TRADING_BLOCK, NAME_BLOCK, name="trading-legal name"),
        block_on(PREFIX_BLOCK),
        block_on(ORDER_BLOCK),
        block_on(ADDRESS_BLOCK),
        block_across(NEAR_BLOCK, COMPACT, name="near name"),
    ]


def em_rules() -> list[BlockingRule]:
    """The rules whose pairs expectation maximisation learns m from, when neither identifiers
    nor records alone at a postcode can teach it: the later passes add pairs of a kind of their
    own (slips, moves) whose share would bend what EM learns of the whole (issue 11: a pass
    that fed EM took names-only recall on the 1M synthetic register from 0.87 to 0.19)."""
    name_r, trading_r = rarest_column(NAME), rarest_column(TRADING)
    return [
        block_on(NAME_BLOCK),
        block_on(NAME, DISTRICT),
        block_on("postcode_std"),
        block_on(name_r),
        block_across(name_r, trading_r, name="legal-trading rarest token"),
        block_across(trading_r, name_r, name="trading-legal rarest token"),
    ]


def add_block_keys(
    incoming: pl.DataFrame, register: pl.DataFrame, *, cap: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add the key columns :func:`blocking_rules` reads to both frames (``linkage_frame``
    outputs with the token columns); a key at most ``cap`` records share, else null."""
    frames = [incoming, register]
    trading = pl.col(TRADING).str.replace_all(" ", "", literal=True)
    long_enough = pl.col(COMPACT).str.len_chars() > PREFIX_LETTERS
    keys: dict[str, list[pl.Expr]] = {
        NAME_BLOCK: [pl.col(COMPACT)],
        TRADING_BLOCK: [pl.col(COMPACT), trading],  # legal and trading names meet
        PREFIX_BLOCK: [pl.when(long_enough).then(pl.col(COMPACT).str.slice(0, PREFIX_LETTERS))],
        ORDER_BLOCK: [_sorted_words(tokens_column(NAME))],
        ADDRESS_BLOCK: [pl.col("address_std")],
    }
    for key, values in keys.items():
        frames = _rare_key(frames, key, values, cap)
    district = pl.col("postcode_std").str.split(" ").list.first().alias(DISTRICT)
    out = [frame.with_columns(district) for frame in frames]
    return add_near_name(out[0], out[1], compact=COMPACT, cap=cap)


def _sorted_words(tokens: str) -> pl.Expr:
    """The tokens of a name with two or more, sorted and joined: the same for any order."""
    words = pl.col(tokens)
    return pl.when(words.list.len() >= 2).then(words.list.sort().list.join(""))


def _rare_key(
    frames: list[pl.DataFrame], key: str, values: list[pl.Expr], cap: float
) -> list[pl.DataFrame]:
    """Add ``key``: the last of ``values`` (the first for the trading name's key is the legal
    name, whose records count too), where at most ``cap`` records hold that value in any of
    ``values``; a record holding it twice counts once."""
    held = pl.concat(
        [
            frame.select(pl.concat_list(values).list.drop_nulls().list.unique().alias("__key"))
            for frame in frames
        ]
    ).explode("__key")
    rare = held.drop_nulls().group_by("__key").len().filter(pl.col("len") <= cap)
    own, kept = values[-1].alias("__key"), rare.select("__key", pl.col("__key").alias(key))
    return [
        frame.with_columns(own)
        .join(kept, on="__key", how="left", maintain_order="left")
        .drop("__key")
        for frame in frames
    ]
