"""A record's CRN that is not its candidate's: slips (one keystroke) are neutral, a valid CRN
no register row holds is never linked by name to a company with another CRN and ends as
``crn_not_in_register``; and a company registered at an office (many register rows at one
postcode) met elsewhere is not dismissed for its address. Hand-made records."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from linkage.errors import SettingsError
from pipeline.business.crn_rule import (
    identifier_comparison,
    is_slip,
    unknown_crns,
    with_crn_conflicts,
)
from pipeline.business.location import RegisteredOfficeLevel, location_comparison
from pipeline.business.register_link import link_to_register
from pipeline.business.settings import MatchSettings
from pipeline.errors import ConfigError
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser
from tests.linkage._helpers import gamma_results, level_results
from tests.pipeline.business._world import crn, postcode

SLIPS = [
    ("12345678", "12345679", True),  # one digit substituted
    ("12345678", "12345687", True),  # neighbours swapped
    ("12345678", "1234568", True),  # one dropped
    ("SC123456", "SC1234567", True),  # one added
    ("12345678", "12345678", False),  # the same number is no slip
    ("12345678", "12345699", False),  # two substituted
    ("12345678", "12345867", False),  # swapped but not neighbours
    ("12345678", "87654321", False),
    ("12345678", None, False),
]


@pytest.mark.parametrize(("a", "b", "slip"), SLIPS)
def test_is_slip(a: str, b: str | None, slip: bool) -> None:
    assert is_slip(a, b) is slip
    assert is_slip(b, a) is slip


def test_slip_level_sql_agrees_with_is_slip_and_is_the_null_level() -> None:
    comparison = identifier_comparison("x", "crn")
    level = comparison.levels[0]
    assert level.is_null_level
    cases = [(a, b) for a, b, _ in SLIPS]
    expected = [s or b is None for _, b, s in SLIPS]
    assert level_results(level, cases) == expected
    # gamma: -1 null or slip, 1 exact, 0 a different number
    assert gamma_results(comparison, cases) == [
        -1 if s or b is None else (1 if a == b else 0) for a, b, s in SLIPS
    ]


def test_unknown_crns_and_conflicts() -> None:
    incoming = pl.DataFrame(
        {"uid": [0, 1, 2, 3], "crn_norm": ["01234567", "01234568", "07777777", None]}
    )
    register = pl.DataFrame({"uid": [0, 1, 2], "crn_norm": ["01234567", "01234586", None]})
    assert unknown_crns(incoming, register).to_list() == [False, True, True, False]
    pairs = pl.DataFrame(
        {"uid": [0, 1, 1, 2, 2, 3], "reg_uid": [1, 1, 0, 1, 2, 0]}, schema_overrides=None
    ).with_columns(pl.all().cast(pl.Int64))
    got = with_crn_conflicts(pairs, incoming, register)["crn_conflict"].to_list()
    # record 0's CRN is held (no rule); record 1's is a slip of row 1's (neighbours swapped)
    # and of row 0's (one digit); record 2's is far from row 1's, and row 2 has no CRN;
    # record 3 has none
    assert got == [False, False, False, True, False, False]


def test_office_levels_are_checked_and_placed() -> None:
    with pytest.raises(SettingsError, match="min_companies"):
        RegisteredOfficeLevel("n", 1)
    for small, large in ((1, 100), (50, 50), (100, 10)):
        with pytest.raises(ConfigError, match="office_size"):
            MatchSettings(office_size=small, large_office_size=large)
    plain = location_comparison()
    office = location_comparison(office_column="n", office_sizes=(12, 120))
    added = [level for level in office.levels if level not in plain.levels]
    assert added == [RegisteredOfficeLevel("n", 120), RegisteredOfficeLevel("n", 12)]
    # right after "same postcode area" (level 6): an office in the record's own area keeps
    # that level; the large office first, since its rows are also at a small one
    assert office.levels[6] == plain.levels[6]
    assert office.levels[7:9] == tuple(added)
    assert office.levels[9:] == plain.levels[7:]


# A hand-made world: companies with coined names, one postcode each, except OFFICE_ROWS
# companies registered at one accountant's office.
WORDS = [
    a + b + c
    for a, b, c in itertools.product(
        ["ZAR", "MOL", "TEV", "QUIN", "BRAX", "LUM", "FEN", "GOR"],
        ["DRO", "VEX", "NIK", "TAL", "MER", "OST", "RUB", "KEL"],
        ["ON", "IX", "URA", "ETH", "AM", "OLD"],
    )
]
COMPANIES = 360
OFFICE_ROWS = range(300, 360)  # 60 companies at one office
OFFICE = "WC2 9ZZ"


def _register() -> pl.DataFrame:
    rows = [
        {
            "entref": f"{1_000_000_000 + i}",
            "legal_name": f"{WORDS[i]} {WORDS[(i + 17) % len(WORDS)]} LTD",
            "crn": crn(i),
            "address": f"{i % 200 + 1} HIGH STREET",
            "postcode": OFFICE if i in OFFICE_ROWS else postcode(i),
        }
        for i in range(COMPANIES)
    ]
    return pl.DataFrame(rows)


def _incoming(register: pl.DataFrame) -> pl.DataFrame:
    rows = register.to_dicts()

    def record(key: str, i: int, **changes: str | None) -> dict[str, str | None]:
        row = rows[i]
        base = {"incoming_id": key, "name": row["legal_name"], "crn": row["crn"]}
        base |= {"address": row["address"], "postcode": row["postcode"]}
        return base | changes

    out = [record(f"id{i}", i) for i in range(200)]  # identifier-confirmed
    # office companies with their CRN, most at their own (trading) address elsewhere
    for i in range(300, 340):
        elsewhere = i % 4 != 0
        moved = {"postcode": postcode(i, area=i % 12), "address": "1 MILL LANE"}
        out.append(record(f"office{i}", i, **(moved if elsewhere else {})))
    theirs = {"postcode": postcode(345, area=3), "address": "9 DOCK ROAD", "crn": None}
    out.append(record("office_elsewhere", 345, **theirs))
    out.append(record("slip", 210, crn=crn(210)[:-1] + str((int(crn(210)[-1]) + 1) % 10)))
    out.append(record("other_crn", 220, crn="09876543"))  # exact name, a CRN far from it
    out.append(record("unknown", 230, crn="08765432", name="NOTHING LIKE IT LTD"))
    out.append(record("nothing", 240, crn=None, name="NOTHING LIKE IT EITHER LTD"))
    return pl.DataFrame(out)


@pytest.fixture(scope="module")
def pseudonymiser(tmp_path_factory: pytest.TempPathFactory) -> Pseudonymiser:
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    return Pseudonymiser.from_keystore(keystore, "project")


def _statuses(pseudonymiser: Pseudonymiser, settings: MatchSettings) -> dict[str, dict]:
    register = _register()
    outcome = link_to_register(_incoming(register), register, pseudonymiser, settings=settings)
    return {r["key"]: r for r in outcome.results.iter_rows(named=True)}


def test_crn_rule_end_to_end(pseudonymiser: Pseudonymiser) -> None:
    rows = _statuses(pseudonymiser, MatchSettings())
    entref = pseudonymiser.pseudonymise_one
    # a mistyped CRN of the very company, same name and address: linked by the model
    assert rows["slip"]["status"] == "matched_probabilistic"
    assert rows["slip"]["entref_pseudonym"] == entref("entref", "1000000210")
    # a valid CRN no register row holds, far from the candidate's: not linked by name
    for key in ("other_crn", "unknown"):
        assert rows[key]["status"] == "crn_not_in_register"
        assert rows[key]["entref_pseudonym"] is None
    assert rows["nothing"]["status"] == "not_found"


def test_a_company_registered_at_an_office_is_met_elsewhere(pseudonymiser: Pseudonymiser) -> None:
    """Three in four of the office's companies with a CRN were met at another address, so a
    record elsewhere is little evidence against one of them: with the office levels its odds
    are several times those of the pooled location comparison (the register is small here, so
    an exact name alone is weak and the record is not linked either way)."""

    def odds(settings: MatchSettings) -> float:
        p = _statuses(pseudonymiser, settings)["office_elsewhere"]["match_probability"]
        return p / (1 - p)

    pooled = MatchSettings(office_size=10**8, large_office_size=10**9)
    assert odds(MatchSettings()) > 4 * odds(pooled)
