"""CRN requests on a hand-written register: normalisation edge cases, statuses, ambiguity,
and the match-rate report's arithmetic."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.business.columns import IncomingColumns
from pipeline.business.match_report import match_report
from pipeline.business.register_link import link_to_register
from pipeline.errors import DataError
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser

REGISTER = pl.DataFrame(
    {
        "entref": [
            "1000000001",
            "1000000002",
            "1000000003",
            "1000000004",
            "1000000005",
            "1000000006",
        ],
        "crn": ["00445790", "SC001234", "OC301234", "NI000042", "NI000042", None],
        "vat": [None, None, None, None, None, None],
        "paye": [None, None, None, None, None, None],
        "legal_name": [
            "Harlow Zinc Fabrications Ltd",
            "Glenmorag Distillers Limited",
            "Penrose Quillon LLP",
            "Lough Erne Boats Ltd",
            "Erne Boats Holdings Ltd",
            "Tamsin Vexley Bakery",
        ],
        "trading_name": [None, None, None, None, None, "Vexley Loaves"],
        "postcode": ["CM20 2AA", "PH1 5AB", "TR1 2CD", "BT74 6EF", "BT74 6EG", "YO1 7HH"],
        "address": [
            "1 Mill Lane, Harlow",
            "2 Glen Road, Perth",
            "3 Quay St, Truro",
            "4 Shore Rd, Enniskillen",
            "5 Shore Rd, Enniskillen",
            "6 Stonegate, York",
        ],
    }
)

# (request_id, crn as the researcher typed it, expected status, expected register row or None,
#  expected reason)
CRN_CASES = [
    ("r01", "445790", "matched_exact", 0, None),  # short numeric, zero padded
    ("r02", "00445790", "matched_exact", 0, None),
    ("r03", "SC1234", "matched_exact", 1, None),  # prefix, short digits padded after it
    ("r04", "sc001234", "matched_exact", 1, None),  # lower case
    ("r05", " OC 301234 ", "matched_exact", 2, None),  # spaces
    ("r06", "QQ123456", "invalid", None, "crn:bad_prefix"),  # unknown prefix
    ("r07", "00000000", "invalid", None, "crn:placeholder"),  # all zeros
    ("r08", "SC000000", "invalid", None, "crn:placeholder"),
    ("r09", "12345678901", "invalid", None, "crn:bad_format"),
    ("r10", "09999999", "crn_not_in_register", None, None),  # valid, no register row has it
    ("r11", "NI000042", "ambiguous", None, None),  # two enterprises share it
    ("r12", "", "invalid", None, "nothing_to_match"),  # missing, nothing else to match on
]


@pytest.fixture(scope="module")
def pseudonymiser(tmp_path_factory: pytest.TempPathFactory) -> Pseudonymiser:
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    return Pseudonymiser.from_keystore(keystore, "project")


def test_crn_edge_cases(pseudonymiser: Pseudonymiser) -> None:
    requests = pl.DataFrame(
        {"request_id": [c[0] for c in CRN_CASES], "crn": [c[1] for c in CRN_CASES]}
    )
    outcome = link_to_register(
        requests,
        REGISTER,
        pseudonymiser,
        incoming_columns=IncomingColumns(
            key="request_id", name=None, crn="crn", vat=None, paye=None
        ),
    )
    results = outcome.results
    assert results["key"].to_list() == [c[0] for c in CRN_CASES]  # input order kept
    assert results["status"].to_list() == [c[2] for c in CRN_CASES]
    expected_tokens = [
        None if row is None else pseudonymiser.pseudonymise_one("entref", REGISTER["entref"][row])
        for _, _, _, row, _ in CRN_CASES
    ]
    assert results["entref_pseudonym"].to_list() == expected_tokens
    assert results["reason"].to_list() == [c[4] for c in CRN_CASES]
    exact = results.filter(pl.col("status") == "matched_exact")
    assert set(exact["method"]) == {"crn"}
    assert exact["match_probability"].null_count() == exact.height


def test_name_fallback_for_unmatched_crns(pseudonymiser: Pseudonymiser) -> None:
    """Rows whose CRN is invalid or absent fall back to name + postcode; an unknown company
    stays not_found and an invalid CRN with no match stays invalid."""
    background = pl.DataFrame(
        {
            "entref": [f"20000{i:05d}" for i in range(300)],
            "crn": [f"{5000000 + i:08d}" for i in range(300)],
            "legal_name": [f"Filler{i} Trading Services Ltd" for i in range(300)],
            "trading_name": [None] * 300,
            "postcode": [f"LS{1 + i % 20} {1 + i % 9}AB" for i in range(300)],
            "address": [f"{i} High Street, Leeds" for i in range(300)],
        },
        schema_overrides={"trading_name": pl.String},
    )
    register = pl.concat([REGISTER.drop("vat", "paye"), background])
    requests = pl.DataFrame(
        {
            "request_id": ["a", "b", "c", "d", "e"],
            "crn": ["QQ999999", None, "SC1234", "12345678", "QQ000001"],
            "name": [
                "Tamsin Vexley Bakery",
                "VEXLEY LOAVES",
                "Glenmorag Distillers",
                "Zanzibar Kite Co",
                "Unheard Of Widgets",
            ],
            "postcode": ["YO1 7HH", "yo17hh", "PH1 5AB", "ZE1 0AA", "ZE2 9ZZ"],
        }
    )
    outcome = link_to_register(
        requests,
        register,
        pseudonymiser,
        incoming_columns=IncomingColumns(
            key="request_id", crn="crn", vat=None, paye=None, address=None
        ),
    )
    rows = {r["key"]: r for r in outcome.results.iter_rows(named=True)}
    vexley = pseudonymiser.pseudonymise_one("entref", "1000000006")
    assert rows["a"]["status"] == "matched_probabilistic"
    assert rows["a"]["entref_pseudonym"] == vexley and rows["a"]["reason"] == "crn:bad_prefix"
    assert rows["a"]["match_probability"] >= 0.9
    assert rows["b"]["status"] == "matched_probabilistic"  # trading name on the register
    assert rows["b"]["entref_pseudonym"] == vexley
    assert rows["c"]["status"] == "matched_exact" and rows["c"]["method"] == "crn"
    assert rows["d"]["status"] == "crn_not_in_register"  # a valid CRN no register row holds
    assert rows["d"]["entref_pseudonym"] is None
    assert rows["e"]["status"] == "invalid" and rows["e"]["entref_pseudonym"] is None


def test_duplicate_or_missing_keys_are_rejected_without_values(
    pseudonymiser: Pseudonymiser,
) -> None:
    requests = pl.DataFrame(
        {
            "request_id": ["secret-key-1", "secret-key-1", None],
            "crn": ["445790", "SC1234", "OC301234"],
        }
    )
    with pytest.raises(DataError) as info:
        link_to_register(
            requests,
            REGISTER,
            pseudonymiser,
            incoming_columns=IncomingColumns(key="request_id", name=None),
        )
    message = str(info.value)
    assert "request_id" in message and "secret-key-1" not in message
    assert "duplicated" in message and "empty" in message


def test_missing_register_columns_are_named(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(DataError, match="legal_name"):
        link_to_register(
            pl.DataFrame({"incoming_id": ["x"]}), REGISTER.drop("legal_name"), pseudonymiser
        )


def test_report_known_answers() -> None:
    results = pl.DataFrame(
        {
            "key": ["a", "b", "c", "d", "e", "f"],
            "status": [
                "matched_exact",
                "matched_exact",
                "matched_probabilistic",
                "matched_probabilistic",
                "not_found",
                "invalid",
            ],
            "method": ["crn", "crn", "probabilistic", "probabilistic", None, None],
            "entref": ["E1", "E2", "E3", "WRONG", None, None],
        }
    )
    truth = pl.DataFrame(
        {"key": ["a", "b", "c", "d", "e"], "entref": ["E1", "E9", "E3", "E4", "E5"]}
    )
    report = match_report(results, truth)
    assert report["records"] == 6
    assert report["by_status"]["matched_exact"] == 2
    assert report["by_status"]["invalid"] == 1 and report["by_status"]["review"] == 0
    assert report["match_rate"] == pytest.approx(4 / 6, abs=1e-6)
    t = report["truth"]
    assert isinstance(t, dict)
    # matched 4, correct 2 (a, c); true links 5
    assert (t["matched"], t["correct"], t["true_links"]) == (4, 2, 5)
    assert t["precision"] == pytest.approx(0.5) and t["recall"] == pytest.approx(0.4)
    assert t["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9, abs=1e-6)
    assert t["by_method"]["crn"] == {"matched": 2, "correct": 1, "precision": 0.5, "recall": 0.2}
    assert t["true_links_not_matched_by_status"] == {"not_found": 1}


def test_register_rows_without_valid_entref_are_not_used(
    pseudonymiser: Pseudonymiser, tmp_path: Path
) -> None:
    register = REGISTER.with_columns(
        pl.when(pl.col("crn") == "00445790")
        .then(pl.lit("12"))
        .otherwise(pl.col("entref"))
        .alias("entref")
    )
    outcome = link_to_register(
        pl.DataFrame({"incoming_id": ["x"], "crn": ["445790"]}), register, pseudonymiser
    )
    assert outcome.results["status"].to_list() == ["crn_not_in_register"]
    assert outcome.facts["register_rows_without_valid_entref"] == 1
