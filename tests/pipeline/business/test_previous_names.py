"""A company's previous names (issue 11): mapped from register columns, compared like its
current name (best counts), found by blocking, and never taking a record from the company
that holds the name now."""

from __future__ import annotations

import itertools

import click
import polars as pl
import pytest

from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.deterministic import REG_UID
from pipeline.business.location import AT_POSTCODE
from pipeline.business.prepare import UID, linkage_frame
from pipeline.business.previous_names import (
    add_register_counts,
    previous_name_rows,
    with_own_uids,
)
from pipeline.business.register_link import link_to_register
from pipeline.business.trading_held import TRADING_HELD
from pipeline.business.training import HELD
from pipeline.commands.options import register_column_mapping
from pipeline.errors import ConfigError, DataError
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser
from tests.pipeline.business._world import crn, postcode

TRADES = ["PLUMBING", "PRINTING", "JOINERY", "CATERING", "LOGISTICS", "ROOFING", "DESIGN"]
WORDS = [  # coined words: every name is distinct
    a + b + c
    for a, b, c in itertools.product(
        ["ZAR", "MOL", "TEV", "QUIN", "BRAX", "LUM", "FEN", "GOR", "PAV", "SIL"],
        ["DRO", "VEX", "NIK", "TAL", "MER", "OST", "RUB", "KEL", "WYN", "JAS"],
        ["ON", "IX", "URA", "ETH", "AM", "OLD", "INE"],
    )
]
COMPANIES, FILLERS = 300, 2500
RENAMED = range(250, 290)  # companies that changed their name; records use the old one
#: Company OLD_HOLDER was called TAKEN before; company NEW_HOLDER (same office) is called it now.
OLD_HOLDER, NEW_HOLDER = 290, 291
TAKEN = f"{WORDS[650]} ROOFING LTD"
INCOMING = ["incoming_id", "name", "address", "postcode", "crn"]


def _register() -> pl.DataFrame:
    rows = []
    for i in range(COMPANIES):
        rows.append(
            {
                "entref": f"{1_000_000_000 + i}",
                "legal_name": f"{WORDS[i]} {TRADES[i % 7]} LTD",
                "crn": crn(i),
                "address": f"{i % 200 + 1} HIGH STREET",
                "postcode": postcode(i),
                "previous_name": f"{WORDS[i + 300]} {TRADES[(i + 3) % 7]} LTD"
                if i in RENAMED
                else None,
                "previous_name_2": None,
            }
        )
    rows[OLD_HOLDER]["previous_name_2"] = TAKEN  # in a second column
    rows[NEW_HOLDER]["legal_name"] = TAKEN
    for i in (OLD_HOLDER, NEW_HOLDER):  # one office: place does not tell them apart
        rows[i]["address"], rows[i]["postcode"] = "9 AGENT HOUSE", postcode(OLD_HOLDER)
    for k in range(FILLERS):  # companies no record is about: the register is large
        i = COMPANIES + k
        name = f"{WORDS[k % 700]} {WORDS[(k * 7 + 3) % 700]} {TRADES[k % 7]} LTD"
        rows.append(
            {
                "entref": f"{1_000_000_000 + i}",
                "legal_name": name,
                "crn": crn(i),
                "address": f"{i % 200 + 1} HIGH STREET",
                "postcode": postcode(i),
                "previous_name": None,
                "previous_name_2": None,
            }
        )
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


def _incoming(register: pl.DataFrame) -> tuple[pl.DataFrame, list[str], str]:
    """Records with their CRN (the model's training), records without identifiers under a
    renamed company's old name, and one record under the name the new
    holder has now (its ids: the old-name records', the new holder's)."""
    rows = register.to_dicts()
    out = []
    for i in range(250):
        row = rows[i]
        out.append([f"IN{len(out):05d}", row["legal_name"], row["address"], row["postcode"]])
        out[-1].append(row["crn"])
    old_names = []
    for i in RENAMED:  # at the company's address: the name alone keeps them apart
        old_names.append(f"IN{len(out):05d}")
        row = rows[i]
        out.append([old_names[-1], row["previous_name"], row["address"], row["postcode"], None])
    taken = f"IN{len(out):05d}"
    row = rows[NEW_HOLDER]
    out.append([taken, TAKEN, row["address"], row["postcode"], None])
    return pl.DataFrame(out, schema=INCOMING, orient="row"), old_names, taken


@pytest.fixture(scope="module")
def pseudonymiser(tmp_path_factory: pytest.TempPathFactory) -> Pseudonymiser:
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    return Pseudonymiser.from_keystore(keystore, "project")


def _link(pseudonymiser: Pseudonymiser, previous: tuple[str, ...]) -> pl.DataFrame:
    register = _register()
    incoming, _, _ = _incoming(register)
    outcome = link_to_register(
        incoming,
        register,
        pseudonymiser,
        incoming_columns=IncomingColumns(key="incoming_id"),
        register_columns=RegisterColumns(trading_name=None, previous_names=previous),
    )
    if previous:
        assert outcome.facts["probabilistic"]["previous_name_rows"] == len(RENAMED) + 1  # type: ignore[index]
    return outcome.results.rename({"key": "incoming_id"})


MAPPED = ("previous_name", "previous_name_2")


def test_records_under_a_previous_name_link_to_the_renamed_company(
    pseudonymiser: Pseudonymiser,
) -> None:
    register = _register()
    _, old_names, _ = _incoming(register)
    expected = [f"{1_000_000_000 + i}" for i in RENAMED]
    results = _link(pseudonymiser, MAPPED).filter(pl.col("incoming_id").is_in(old_names))
    assert results["status"].to_list() == ["matched_probabilistic"] * len(RENAMED)
    assert results["entref"].to_list() == expected
    assert results["reason"].to_list() == ["previous_name"] * len(RENAMED)  # a status detail
    unmapped = _link(pseudonymiser, ()).filter(pl.col("incoming_id").is_in(old_names))
    assert unmapped["entref"].null_count() == len(RENAMED)


def test_a_name_another_company_held_before_does_not_take_its_record(
    pseudonymiser: Pseudonymiser,
) -> None:
    _, _, taken = _incoming(_register())
    for previous in (MAPPED, ()):
        result = _link(pseudonymiser, previous).filter(pl.col("incoming_id") == taken)
        assert result["status"].to_list() == ["matched_probabilistic"]
        assert result["entref"].to_list() == [f"{1_000_000_000 + NEW_HOLDER}"]
        assert result["reason"].to_list() == [None]


def _frame(names: list[str | None], previous: list[str | None]) -> pl.DataFrame:
    n = len(names)
    return pl.DataFrame(
        {
            "legal_name": names,
            "trading_name": ["SHOP"] * n,
            "postcode": ["LS1 4AB"] * n,
            "address": ["1 HIGH STREET"] * n,
            "old": previous,
            "older": ["ZENTRIX HOLDINGS LIMITED", *[None] * (n - 1)],
        }
    )


def _current(frame: pl.DataFrame) -> pl.DataFrame:
    compared = linkage_frame(
        frame,
        name="legal_name",
        trading_name="trading_name",
        postcode="postcode",
        address="address",
    )
    return compared.with_columns(pl.lit("00000001").alias("crn_norm"))


def test_previous_names_become_rows_of_their_company_without_a_trading_name() -> None:
    frame = _frame(["ACME LTD", "BOLT LTD", "COG LTD"], ["ZENTRIX LTD", "BOLT LIMITED", None])
    current = _current(frame)
    rows = previous_name_rows(frame, current, previous_names=("old", "older"))
    assert rows.columns == current.columns
    # BOLT LIMITED is BOLT LTD's own name; ZENTRIX and ZENTRIX HOLDINGS are two names
    assert rows.select(UID, "name_core", "name_words").rows() == [
        (0, "ZENTRIX", []),
        (0, "ZENTRIX", ["HOLDINGS"]),
    ]
    assert rows["trading_core"].null_count() == 2
    assert rows["postcode_std"].to_list() == ["LS1 4AB"] * 2
    assert rows["crn_norm"].to_list() == ["00000001"] * 2
    none = previous_name_rows(frame, current, previous_names=())
    assert none.height == 0 and none.columns == current.columns


def test_a_previous_name_is_held_by_every_company_that_has_or_had_it() -> None:
    frame = _frame(["ACME LTD", "ZENTRIX LTD", "COG LTD"], ["ZENTRIX LTD", "COG LTD", "ACME LTD"])
    current = _current(frame)
    register = current.with_columns(
        pl.lit(1, pl.Int64).alias(HELD),
        pl.lit(0, pl.Int64).alias(TRADING_HELD),
        pl.Series(AT_POSTCODE, [3, 4, 5], dtype=pl.Int64),
    )
    previous = previous_name_rows(frame, current, previous_names=("old",))
    previous, owners = with_own_uids(previous.head(3), first_uid=10)
    assert owners.rows() == [(10, 0), (11, 1), (12, 2)]
    counted = add_register_counts(previous, register, owners)
    assert counted.columns == register.columns
    assert counted[UID].to_list() == [10, 11, 12]
    # each name is one company's now and another's before
    assert counted[HELD].to_list() == [2, 2, 2]
    assert counted[AT_POSTCODE].to_list() == [3, 4, 5]  # its company's office count
    assert counted[TRADING_HELD].to_list() == [0, 0, 0]
    assert set(owners.columns) == {"id_r", REG_UID}


def test_previous_name_columns_are_mapped_one_option_each() -> None:
    mapped = register_column_mapping(
        ("previous_name=PreviousName_1.CompanyName", "previous_name=PreviousName_2.CompanyName")
    )
    assert mapped is not None
    assert mapped.previous_names == ("PreviousName_1.CompanyName", "PreviousName_2.CompanyName")
    assert RegisterColumns().previous_names == ()
    for bad in (("previous_name=",), ("previous_name=a", "previous_name=a")):
        with pytest.raises(click.BadParameter):
            register_column_mapping(bad)
    with pytest.raises(ConfigError):
        RegisterColumns(previous_names=("",))


def test_a_mapped_previous_name_column_the_register_lacks_is_a_data_error(
    pseudonymiser: Pseudonymiser,
) -> None:
    register = _register().drop("previous_name_2")
    incoming, _, _ = _incoming(register)
    with pytest.raises(DataError, match="missing column\\(s\\) previous_name_2"):
        link_to_register(
            incoming,
            register,
            pseudonymiser,
            register_columns=RegisterColumns(previous_names=MAPPED),
        )
