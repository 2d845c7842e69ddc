"""The blind business generator: deterministic for a seed, identifiers valid by their own
check rules (checked here independently of the generator and by pprl's rules), and a truth
file that agrees with the register."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from benchmarks.blind_business.generate import Spec, generate
from benchmarks.blind_business.ids import vat_check
from benchmarks.blind_business.register import RegisterSizes
from pseudonym.identifiers.registry import check

SMALL = Spec(
    seed=7,
    incoming=600,
    sizes=RegisterSizes(
        families=150,
        standalone=2_500,
        unincorporated=700,
        guarantee=60,
        overseas=80,
        agents=4,
        accountants=30,
    ),
)
#: Companies House prefixes the generator may use, and the CRN layout (8 digits, or 2 + 6).
PREFIXES = {"", "SC", "NI", "OC", "SO", "NC", "FC", "OE"}
CRN_LAYOUT = re.compile(r"^(?:[0-9]{8}|([A-Z]{2})[0-9]{6})$")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blind")
    generate(SMALL, out)
    return out


def vat_is_valid(number: str) -> bool:
    """HMRC's rule written the other way round: weighted sum plus the check number, with or
    without the 55 offset, is a multiple of 97."""
    total = sum(int(d) * w for d, w in zip(number[:7], range(8, 1, -1), strict=True))
    total += int(number[7:])
    return total % 97 == 0 or (total + 55) % 97 == 0


def test_vat_check_matches_a_published_number() -> None:
    # "GB 980 7806 84", the valid example in python-stdnum's stdnum/gb/vat.py doctests
    assert vat_check(9807806, new_style=False) == 84
    assert vat_is_valid("980780684")
    assert not vat_is_valid("980780685")


def test_same_seed_same_files_other_seed_other_files(built: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    generate(SMALL, again)
    generate(Spec(seed=8, incoming=SMALL.incoming, sizes=SMALL.sizes), other)
    for name in ("incoming_ids.csv", "incoming_names.csv", "truth.csv"):
        assert (built / name).read_bytes() == (again / name).read_bytes()
        assert (built / name).read_bytes() != (other / name).read_bytes()
    first = pl.read_parquet(built / "register.parquet")
    assert first.equals(pl.read_parquet(again / "register.parquet"))


def test_register_identifiers_are_valid_and_unique(built: Path) -> None:
    register = pl.read_parquet(built / "register.parquet")
    assert register["entref"].str.contains(r"^[0-9]{10}$").all()
    assert register["entref"].n_unique() == register.height
    crns = register.filter(pl.col("crn") != "")["crn"]
    layouts = [CRN_LAYOUT.match(crn) for crn in crns]
    assert all(layouts)
    assert {m.group(1) or "" for m in layouts if m} <= PREFIXES
    assert {"OE", "FC", "SC", "NI", "OC"} <= {m.group(1) for m in layouts if m}
    assert crns.n_unique() == crns.len()
    assert check("crn", crns)["reason"].null_count() == crns.len()
    vats = register.filter(pl.col("vat") != "")["vat"]
    assert all(vat_is_valid(v) for v in vats)
    assert check("vat", vats)["reason"].null_count() == vats.len()
    payes = register.filter(pl.col("paye") != "")["paye"]
    assert check("paye", payes)["reason"].null_count() == payes.len()


def test_incoming_identifiers_are_the_truth_unless_flagged(built: Path) -> None:
    incoming = pl.read_csv(built / "incoming_ids.csv", infer_schema=False).fill_null("")
    detail = pl.read_parquet(built / "truth_detail.parquet")
    rows = incoming.join(detail, on="incoming_id")
    given = rows.filter(pl.col("crn") != "")
    normalised = check("crn", given["crn"])["normalised"]
    clean = ~given["flags"].str.contains("crn_typo|crn_of_sister")
    assert (normalised.filter(clean) == given["true_crn"].filter(clean)).all()
    typos = given.filter(given["flags"].str.contains("crn_typo"))
    assert (typos["crn"] != typos["true_crn"]).all()
    vats = rows.filter((pl.col("vat") != "") & ~pl.col("flags").str.contains("vat_typo"))
    assert check("vat", vats["vat"])["reason"].null_count() == vats.height


def test_truth_agrees_with_register(built: Path) -> None:
    register = pl.read_parquet(built / "register.parquet")
    incoming = pl.read_csv(built / "incoming_ids.csv", infer_schema=False).fill_null("")
    truth = pl.read_csv(built / "truth.csv", infer_schema=False).fill_null("")
    detail = pl.read_parquet(built / "truth_detail.parquet")
    assert truth["incoming_id"].to_list() == incoming["incoming_id"].to_list()
    linked = truth.filter(pl.col("entref") != "")
    assert linked.height == round(SMALL.incoming * SMALL.in_register_share)
    assert linked["entref"].is_in(register["entref"].implode()).all()
    # each in-register record's true CRN is its register row's CRN
    by_entref = detail.filter(pl.col("entref") != "").join(register, on="entref")
    assert (by_entref["true_crn"] == by_entref["crn"]).all()
    # businesses outside the register hold CRNs no register row holds
    outside = detail.filter((pl.col("entref") == "") & (pl.col("true_crn") != ""))
    assert outside.height > 0
    assert not outside["true_crn"].is_in(register["crn"].implode()).any()
    siblings = detail.filter(pl.col("category") == "unregistered_sibling")
    assert siblings.height > 0 and (siblings["family"] >= 0).all()


def test_sister_companies_share_an_office(built: Path) -> None:
    meta = pl.read_parquet(built / "register_meta.parquet")
    register = pl.read_parquet(built / "register.parquet").join(meta.drop("status"), on="entref")
    families = register.filter(pl.col("family") >= 0)
    per_family = families.group_by("family").agg(
        pl.len().alias("members"), pl.col("postcode").mode().first().alias("postcode")
    )
    assert (per_family["members"] >= 2).all()
    at_office = families.join(per_family, on="family").filter(
        pl.col("postcode") == pl.col("postcode_right")
    )
    assert at_office.height / families.height > 0.8
