"""Blocking of the business model (issue 11, moved and noisy-name records): a record sent under
the register's trading name, one whose name has a slip late in it, one with a slip in its
first letters, one at the register's address with a mistyped postcode and one whose name's
words were swapped are candidates wherever else they differ; keys many records share are not
used."""

from __future__ import annotations

import polars as pl

from linkage import BlockingRule, LinkageSettings, Linker
from linkage.comparisons import ExactComparison
from pipeline.business.blocking import (
    ADDRESS_BLOCK,
    NAME_BLOCK,
    ORDER_BLOCK,
    PREFIX_BLOCK,
    PREFIX_LETTERS,
    TRADING_BLOCK,
    add_block_keys,
    blocking_rules,
)
from pipeline.business.near_names import NEAR_BLOCK
from pipeline.business.prepare import linkage_frame
from pipeline.business.probabilistic import add_company_token_columns

COMMON = 30  # register rows sharing one address and trading name: more than the cap
CAP = 3.0
#: Words of the records' names that other register rows hold too: too common to block on.
SHARED_WORDS = ["ROYAL", "OAK", "VERTEXLINK", "BAKERY", "TRAINING"]


def _register() -> pl.DataFrame:
    rows = [
        ("JOHN SMITH", "ROYAL OAK", "12 MILL LANE, LEEDS", "LS1 1AA"),
        ("VERTEXLINK SOLUTIONS LTD", None, "4 HIGH STREET, YORK", "YO1 2BB"),
        ("QUILLAN BAKERY LTD", None, "132 OAK AVENUE, LIVERPOOL", "L5 3ER"),
        ("KESTRELWAY TRAINING LTD", None, "7 BRIDGE STREET, DERBY", "DE1 1ZZ"),
        ("BAKERY TRAINING LTD", None, "5 KING STREET, STOCKPORT", "SK1 1AA"),
    ]
    rows += [
        (f"COMPANY NUMBER {i} LTD", "CORNER SHOP", "1 AGENT HOUSE, LONDON", "EC1 1AA")
        for i in range(COMMON)
    ]
    rows += [
        (f"FILLER{k} {word} LTD", None, f"{k + 1} ROW {word}, HULL", f"HU{k + 1} 1AA")
        for word in SHARED_WORDS
        for k in range(int(CAP) + 1)
    ]
    return pl.DataFrame(
        rows, schema=["legal_name", "trading_name", "address", "postcode"], orient="row"
    )


def _incoming() -> pl.DataFrame:
    rows = [
        ("ROYAL OAK", "3 NEW ROAD, BRADFORD", "BD2 9ZZ"),  # its trading name, moved
        ("VERTEXLINK SOLUTOINS", "9 PARK ROAD, HULL", "HU3 4CC"),  # a slip, moved
        ("QUILAN BAKERY", "132 OAK AVENUE, LIVERPOOL", "L53RE"),  # a slip, postcode mistyped
        ("CORNER SHOP", "1 AGENT HOUSE, LONDON", None),  # keys 31 records share
        ("KETSRELWAY TRAINING", "2 CHURCH LANE, BATH", "BA1 1XX"),  # an early slip, moved
        ("TRAINING & BAKERY LTD", "8 HIGH ROAD, BOLTON", "BL1 1BB"),  # words swapped, moved
    ]
    return pl.DataFrame(rows, schema=["name", "address", "postcode"], orient="row")


def _keyed() -> tuple[pl.DataFrame, pl.DataFrame]:
    incoming = linkage_frame(
        _incoming(), name="name", trading_name=None, postcode="postcode", address="address"
    )
    register = linkage_frame(
        _register(),
        name="legal_name",
        trading_name="trading_name",
        postcode="postcode",
        address="address",
    )
    (incoming, register), _ = add_company_token_columns(
        [incoming, register],
        ("name_core", "trading_core"),
        max_block_frequency=CAP / (incoming.height + register.height),
    )
    return add_block_keys(incoming, register, cap=CAP)


def test_rare_keys_are_set_and_common_ones_are_not() -> None:
    incoming, register = _keyed()
    assert incoming[NAME_BLOCK][0] == register[TRADING_BLOCK][0] == "ROYALOAK"
    assert incoming[PREFIX_BLOCK][1] == register[PREFIX_BLOCK][1] == "VERTEXLI"
    assert len("VERTEXLI") == PREFIX_LETTERS
    assert incoming[ADDRESS_BLOCK][2] == register[ADDRESS_BLOCK][2]
    # a name no longer than the prefix has none (its whole compact core is NAME_BLOCK)
    assert incoming[PREFIX_BLOCK][0] is None  # ROYALOAK
    # the agent's address and the shared trading name are held by 31 records
    assert incoming.row(3, named=True)[ADDRESS_BLOCK] is None
    assert register[TRADING_BLOCK].slice(3).null_count() == register.height - 3
    # no register (legal) name is near ROYALOAK or CORNERSHOP
    near = ["VERTEXLINKSOLUTIONS", "QUILLANBAKERY", "KESTRELWAYTRAINING"]
    assert incoming[NEAR_BLOCK].to_list() == [None, near[0], near[1], None, near[2], None]
    # the swapped words meet in their sorted order
    assert incoming[ORDER_BLOCK][5] == register[ORDER_BLOCK][4] == "BAKERYTRAINING"
    assert incoming[ORDER_BLOCK][0] == "OAKROYAL"


def _found(rules: list[BlockingRule]) -> tuple[float, int]:
    """(share of the five records' true pairs the rules find, all pairs they find)."""
    incoming, register = _keyed()
    settings = LinkageSettings(
        link_type="link_only",
        comparisons=[ExactComparison("postcode_std")],
        blocking_rules=rules,
        unique_id_column="uid",
    )
    linker = Linker(settings, incoming, register)
    try:
        truth = pl.DataFrame({"id_l": [0, 1, 2, 4, 5], "id_r": [0, 1, 2, 3, 4]})
        return linker.pair_completeness(truth), int(linker.blocking_report()["pairs"].sum())
    finally:
        linker.close()


def test_each_record_meets_its_register_row_and_no_common_block() -> None:
    rules = blocking_rules()
    keys = {NAME_BLOCK, TRADING_BLOCK, PREFIX_BLOCK, ORDER_BLOCK, ADDRESS_BLOCK, NEAR_BLOCK}
    older = [r for r in rules if not set(r.columns) & (keys - {NAME_BLOCK})]
    assert _found(older)[0] == 0.0  # slips, a trading name, a moved place: none found
    # the early slip breaks the prefix, the rarest token is the slip: only the near name
    assert _found([r for r in rules if NEAR_BLOCK not in r.columns])[0] == 0.8
    # both words of the swapped name are common: only their sorted order finds it
    assert _found([r for r in rules if ORDER_BLOCK not in r.columns])[0] == 0.8
    assert _found(rules) == (1.0, 5)  # each found, the shop paired with none of the 30
