"""The unseen business data (benchmarks/unseen_business): the format contract, identifiers
valid by their published rules (checked here by code written for the test, not the
generator's), truth that agrees with the register, determinism, and every phenomenon issue 11
asks for present in a small data set."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from benchmarks.unseen_business import UnseenBusinessError, generate, identifiers
from benchmarks.unseen_business.generate import main

REPO = Path(__file__).resolve().parents[2]
SCALE = 0.02  # 6,000 register rows, 600 incoming records
REGISTER_COLUMNS = [
    "entref", "crn", "vat", "paye", "legal_name", "trading_name", "address", "postcode",
    "status", "dissolution_date",
]  # fmt: skip
INCOMING_COLUMNS = ["incoming_id", "name", "trading_name", "address", "postcode"]
ID_COLUMNS = ["crn", "vat", "paye"]
CRN_PREFIXES = {
    "SC", "NI", "OC", "SO", "NC", "R0", "LP", "SL", "NL", "OE", "FC", "SF", "NF", "GE",
}  # fmt: skip
LEGAL_ENDING = re.compile(r" (LTD|LIMITED|PLC|LLP|LP|CIC|LIMITED PARTNERSHIP)$")
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")


# --- independent checks of the published identifier rules -------------------------------


def crn_ok(crn: str) -> bool:
    """Companies House: eight digits, or a published two-character prefix and six digits."""
    if len(crn) != 8:
        return False
    return crn.isdigit() or (crn[:2] in CRN_PREFIXES and crn[2:].isdigit())


def vat_ok(vat: str) -> bool:
    """HMRC: digits 1-7 weighted 8..2, plus the two check digits; the total is a multiple of
    97 (old series) or becomes one after adding 55 (97-55 series, from November 2009)."""
    if len(vat) != 9 or not vat.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(vat[:7], range(8, 1, -1), strict=True))
    total += int(vat[7:])
    return int(vat[7:]) < 97 and (total % 97 == 0 or (total + 55) % 97 == 0)


def paye_ok(paye: str) -> bool:
    """Employer PAYE reference: three-digit tax office, '/', the office's reference."""
    office, _, reference = paye.partition("/")
    return (
        len(office) == 3
        and office.isdigit()
        and 0 < len(reference) <= 10
        and (reference.isalnum() and reference.upper() == reference)
    )


def test_vat_check_known_answers() -> None:
    # 831 4958 16: the worked modulus-97 example of h2g2 entry A10287461.
    assert vat_ok("831495816")
    assert identifiers.vat_scheme("831495816") == "97"
    # Worked by hand: base 1000000 weighs 8, so 97 - 8 = 89 (old) and 97 - (8 + 55) = 34 (new).
    assert identifiers.vat_check_digits("1000000", scheme="97") == "89"
    assert identifiers.vat_check_digits("1000000", scheme="9755") == "34"
    assert vat_ok("100000089") and vat_ok("100000034")
    assert not vat_ok("100000088") and not identifiers.is_valid_vat("100000088")


def test_identifier_generators_follow_the_rules() -> None:
    rng = random.Random(3)
    for _ in range(2_000):
        for scheme in ("97", "9755"):
            vat = identifiers.make_vat(rng, scheme=scheme)
            assert vat_ok(vat) and identifiers.vat_scheme(vat) == scheme
            assert not vat_ok(identifiers.vat_typo(rng, vat))
        assert paye_ok(identifiers.make_paye(rng))
        for prefix in ("", *CRN_PREFIXES):
            crn = identifiers.make_crn(rng, prefix)
            assert crn_ok(crn) and crn.startswith(prefix) and identifiers.is_valid_crn(crn)
            typo = identifiers.crn_typo(rng, crn)
            assert crn_ok(typo) and typo != crn
    with pytest.raises(ValueError):
        identifiers.make_crn(rng, "XX")
    assert not identifiers.is_valid_crn("XX123456") and not crn_ok("XX123456")


# --- one small data set, read once -------------------------------------------------------


def read_csv(path: Path) -> pl.DataFrame:
    """Every column a string; an empty field is the empty string, as the contract says."""
    return pl.read_csv(path, infer_schema=False).fill_null("")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = generate(tmp_path_factory.mktemp("unseen"), seed=7, scale=SCALE)
    loaded: dict[str, Any] = {
        "folder": folder,
        "register": pl.read_parquet(folder / "register.parquet"),
        "meta": pl.read_parquet(folder / "register_meta.parquet"),
        "incoming": read_csv(folder / "incoming_ids.csv"),
        "names": read_csv(folder / "incoming_names.csv"),
        "truth": read_csv(folder / "truth.csv"),
        "detail": pl.read_parquet(folder / "truth_detail.parquet"),
        "summary": json.loads((folder / "summary.json").read_text()),
    }
    loaded["joined"] = (
        loaded["incoming"]
        .join(loaded["detail"], on="incoming_id")
        .join(
            loaded["register"].select(
                "entref",
                pl.col("legal_name").alias("register_name"),
                pl.col("crn").alias("register_crn"),
                pl.col("vat").alias("register_vat"),
                pl.col("address").alias("register_address"),
                pl.col("postcode").alias("register_postcode"),
                pl.col("trading_name").alias("register_trading_name"),
            ),
            on="entref",
            how="left",
        )
    )
    return loaded


def category(data: dict[str, Any], name: str) -> pl.DataFrame:
    frame: pl.DataFrame = data["joined"].filter(pl.col("category") == name)
    assert frame.height > 0, name
    return frame


def test_files_follow_the_contract(data: dict[str, Any]) -> None:
    register, meta = data["register"], data["meta"]
    assert register.columns == REGISTER_COLUMNS
    assert all(dtype == pl.String for dtype in register.dtypes)
    assert register.null_count().sum_horizontal().item() == 0  # missing is ""
    assert meta["entref"].dtype == pl.String and meta["family"].dtype == pl.Int64
    assert meta["entref"].to_list() == register["entref"].to_list()
    assert data["incoming"].columns == [*INCOMING_COLUMNS, *ID_COLUMNS]
    assert data["names"].columns == INCOMING_COLUMNS
    assert data["names"].equals(data["incoming"].select(INCOMING_COLUMNS))
    assert data["truth"].columns == ["incoming_id", "entref"]
    detail = data["detail"]
    assert detail.columns == ["incoming_id", "entref", "category", "family"]
    assert list(detail.dtypes) == [pl.String, pl.String, pl.String, pl.Int64]
    assert data["truth"].equals(detail.select("incoming_id", "entref"))
    assert register["entref"].is_unique().all()
    assert data["incoming"]["incoming_id"].is_unique().all()
    assert set(register["status"]) == {"active", "dissolved"}
    dissolved = register.filter(pl.col("status") == "dissolved")
    assert (register.filter(pl.col("status") == "active")["dissolution_date"] == "").all()
    assert dissolved["dissolution_date"].str.contains(r"^20[12]\d-\d\d-\d\d$").all()
    assert not list(data["folder"].parent.glob(".data-*"))  # no staging folder left behind


def test_summary_agrees_with_the_files(data: dict[str, Any]) -> None:
    summary, detail = data["summary"], data["detail"]
    assert summary["register_rows"] == data["register"].height == 6_000
    assert summary["incoming_rows"] == data["incoming"].height == 600
    in_register = detail.filter(pl.col("entref") != "").height
    assert summary["incoming_in_register"] == in_register == 480  # 80%
    counts = dict(detail.group_by("category").len().iter_rows())
    assert summary["incoming_by_category"] == counts
    assert summary["seed"] == 7 and summary["proportions"]["in_register"] == 0.8


def test_truth_is_consistent_with_the_register(data: dict[str, Any]) -> None:
    register, meta, detail = data["register"], data["meta"], data["detail"]
    linked = detail.filter(pl.col("entref") != "")
    assert linked.join(register, on="entref", how="anti").height == 0
    families = linked.join(meta.select("entref", pl.col("family").alias("true")), on="entref")
    assert (families["family"] == families["true"]).all()
    outside = {"unregistered_sibling", "namesake_other_town", "new_business"}
    outside.add("unincorporated_not_in_register")
    assert set(detail.filter(pl.col("entref") == "")["category"]) == outside
    # sisters share a family number with at least one other register row
    sizes = meta.filter(pl.col("family") >= 0).group_by("family").len()
    siblings = detail.filter(pl.col("category") == "unregistered_sibling")
    assert set(siblings["family"]) <= set(meta["family"])
    assert sizes["len"].max() >= 3


def test_identifiers_pass_their_rules(data: dict[str, Any]) -> None:
    register = data["register"]
    crns = [crn for crn in register["crn"] if crn]
    assert all(crn_ok(crn) for crn in crns)
    assert all(vat_ok(vat) for vat in register["vat"] if vat)
    assert all(paye_ok(paye) for paye in register["paye"] if paye)
    prefixes = {crn[:2] for crn in crns if not crn.isdigit()}
    assert {"SC", "NI", "OC"} <= prefixes
    assert sum(crn.isdigit() for crn in crns) / len(crns) > 0.7
    schemes = {identifiers.vat_scheme(vat) for vat in register["vat"] if vat}
    assert schemes == {"97", "9755"}
    assert register.filter(pl.col("crn") != "")["crn"].is_unique().all()
    assert register.filter(pl.col("paye") != "")["paye"].is_unique().all()
    assert register["postcode"].str.contains(POSTCODE.pattern).all()


def test_sister_companies_share_an_address(data: dict[str, Any]) -> None:
    frame = data["register"].join(data["meta"], on="entref").filter(pl.col("family") >= 0)
    shared = (
        frame.group_by("family", "address")
        .agg(pl.col("legal_name"))
        .filter(pl.col("legal_name").list.len() >= 2)
    )
    assert shared.height > 50
    qualified = re.compile(r" (HOLDINGS|GROUP|\(UK\)|PROPERTIES|TRADING|SERVICES) ")
    assert any(any(qualified.search(n) for n in names) for names in shared["legal_name"])
    records = category(data, "sister_same_address")
    assert (records["family"] >= 0).all()


def test_formation_agents_hold_hundreds(data: dict[str, Any]) -> None:
    frame = data["register"].join(data["meta"], on="entref")
    crowded = frame.group_by("address").len().filter(pl.col("len") >= 100)
    assert crowded.height >= 2
    clients = frame.join(crowded, on="address")
    assert (clients["trading_address"] != clients["address"]).mean() > 0.9
    records = category(data, "formation_agent")
    assert (records["address"] != records["register_address"]).mean() > 0.6


def test_unregistered_siblings_carry_their_own_crn(data: dict[str, Any]) -> None:
    records = category(data, "unregistered_sibling")
    register_crns = set(data["register"]["crn"])
    carried = [crn for crn in records["crn"] if crn]
    assert len(carried) / records.height > 0.5
    assert all(crn_ok(crn) and crn not in register_crns for crn in carried)
    meta = data["meta"]
    assert records.join(meta, on="family", how="anti").height == 0  # a sister is registered


def test_common_names_and_namesakes(data: dict[str, Any]) -> None:
    register = data["register"]
    bodies = register["legal_name"].str.replace(LEGAL_ENDING.pattern, "")
    first_words = bodies.str.split(" ").list.first().value_counts().sort("count", descending=True)
    assert first_words["count"].head(15).sum() / register.height > 0.08
    assert bodies.str.contains(r"^[A-Z] [A-Z]+ & SONS$").sum() > 10
    assert bodies.str.contains(r"^[A-Z]+$").sum() > 100  # "THOMPSON LTD", "NOVANEX LIMITED"
    areas = register["postcode"].str.extract(r"^([A-Z]+)")
    spread = (
        pl.DataFrame({"body": bodies, "area": areas})
        .group_by("body")
        .agg(pl.col("area").n_unique())
    )
    assert spread.filter(pl.col("area") >= 2).height > 50  # the same name in other towns
    namesakes = category(data, "namesake_other_town")
    assert (namesakes["entref"] == "").all()
    # each resembles a register business: it carries that business's surname or brand
    cores = set(data["meta"]["name_core"])
    words = namesakes["name"].str.to_uppercase().str.split(" ")
    assert sum(any(word in cores for word in name) for name in words) / namesakes.height > 0.85
    common = category(data, "common_name")
    assert (common["entref"] != "").all()


def test_trading_names_sole_traders_dissolved_and_vat_groups(data: dict[str, Any]) -> None:
    register = data["register"].join(data["meta"], on="entref")
    assert (register["trading_name"] != "").mean() > 0.08
    traders = register.filter(pl.col("crn") == "")
    assert 0.1 < traders.height / register.height < 0.2
    assert not traders["legal_name"].str.contains(LEGAL_ENDING.pattern).any()
    assert ((traders["vat"] != "") | (traders["paye"] != "")).all()  # on it through a tax
    dissolved = (register["status"] == "dissolved").mean()
    assert 0.04 < dissolved < 0.12
    shared_vat = (
        register.filter(pl.col("vat") != "")
        .group_by("vat")
        .agg(pl.len(), pl.col("family").n_unique(), pl.col("family").min().alias("lowest"))
    )
    groups = shared_vat.filter(pl.col("len") >= 2)
    assert groups.height > 5
    assert (groups["family"] == 1).all() and (groups["lowest"] >= 0).all()
    records = category(data, "trading_name")
    assert (records["name"] != records["register_name"]).all()
    assert records["name"].str.contains(" T/A | TRADING AS ").any()
    assert set(category(data, "group_vat")["vat"]) <= set(groups["vat"])
    assert (category(data, "dissolved")["entref"] != "").all()


def test_dissolved_names_taken_by_active_successors(data: dict[str, Any]) -> None:
    register = data["register"].with_columns(
        body=pl.col("legal_name").str.replace(LEGAL_ENDING.pattern, "")
    )
    dissolved = register.filter(pl.col("status") == "dissolved").select("body")
    successors = category(data, "successor_of_dissolved").join(register, on="entref")
    assert (successors["status"] == "active").all()
    assert successors.join(dissolved, on="body", how="semi").height == successors.height


def test_incoming_noise(data: dict[str, Any]) -> None:
    joined = data["joined"]
    noisy = category(data, "noisy_name")
    assert (noisy["name"] != noisy["register_name"]).mean() > 0.8
    exact = category(data, "exact")
    assert (exact["name"] == exact["register_name"]).all()
    old = category(data, "old_name").join(data["meta"], on="entref")
    assert ((old["previous_name"] != "") & (old["previous_name"] != old["register_name"])).all()
    assert (old["name"] != old["register_name"]).mean() > 0.8  # noise may undo a renaming
    moved = category(data, "moved_address")
    assert (moved["address"] != moved["register_address"]).all()
    names = " ".join(joined["name"].str.to_uppercase())
    for abbreviation in (" LTD", " & ", " AND ", " CO"):
        assert abbreviation in names
    postcodes = joined["postcode"]
    assert (postcodes == "").sum() > 10
    assert postcodes.str.contains(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$").sum() > 10  # outward only
    same_place = joined.filter(
        (pl.col("entref") != "")
        & ~pl.col("category").is_in(["moved_address", "formation_agent"])
        & (pl.col("postcode").str.len_chars() > 4)
    )
    mistyped = same_place.filter(pl.col("postcode") != pl.col("register_postcode"))
    assert mistyped.height > 5
    assert (mistyped["postcode"].str.len_chars() >= 5).all()
    companies = joined.filter((pl.col("entref") != "") & (pl.col("register_crn") != ""))
    assert 0.3 < (companies["crn"] == "").mean() < 0.8


def test_wrong_identifiers(data: dict[str, Any]) -> None:
    records = category(data, "wrong_identifier")
    bad_vat = [vat for vat in records["vat"] if vat and not vat_ok(vat)]
    sister_crn = records.filter((pl.col("crn") != "") & (pl.col("crn") != pl.col("register_crn")))
    assert bad_vat and sister_crn.height > 0
    assert all(crn_ok(crn) for crn in sister_crn["crn"])


# --- determinism and the command line ----------------------------------------------------


def _frames(folder: Path) -> Iterator[pl.DataFrame]:
    for name in ("register.parquet", "register_meta.parquet", "truth_detail.parquet"):
        yield pl.read_parquet(folder / name)
    yield read_csv(folder / "incoming_ids.csv")


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    first = list(_frames(generate(tmp_path / "a", seed=11, scale=0.01)))
    again = list(_frames(generate(tmp_path / "b", seed=11, scale=0.01)))
    other = list(_frames(generate(tmp_path / "c", seed=12, scale=0.01)))
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert not first[0].equals(other[0])


def test_the_same_seed_gives_the_same_data_in_another_process(tmp_path: Path) -> None:
    """Nothing depends on string hashing (set order), which differs between processes."""
    here = generate(tmp_path / "here", seed=5, scale=0.004)
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "benchmarks.unseen_business", "--seed", "5"]
    command += ["--scale", "0.004", "--work", str(tmp_path / "there")]
    subprocess.run(command, check=True, env=environment, cwd=REPO, capture_output=True)
    there = tmp_path / "there" / "data"
    assert all(a.equals(b) for a, b in zip(_frames(here), _frames(there), strict=True))
    assert (here / "summary.json").read_text() == (there / "summary.json").read_text()


def test_command_line(tmp_path: Path) -> None:
    assert main(["--work", str(tmp_path), "--scale", "0.004", "--seed", "2"]) == 0
    summary = json.loads((tmp_path / "data" / "summary.json").read_text())
    assert summary["register_rows"] == 1_200 and summary["seed"] == 2
    assert main(["--work", str(tmp_path), "--scale", "0.004", "--seed", "3"]) == 0  # replaces
    assert json.loads((tmp_path / "data" / "summary.json").read_text())["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert main(["--work", str(tmp_path), "--scale", "0"]) == 2
    with pytest.raises(UnseenBusinessError):
        generate(tmp_path, scale=-1)


def test_register_previous_names_is_opt_in_and_changes_nothing_else(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", seed=7, scale=0.004)
    assert main(["--work", str(tmp_path / "named"), "--scale", "0.004", "--seed", "7",
                 "--register-previous-names"]) == 0  # fmt: skip
    named = tmp_path / "named" / "data"
    for name in sorted(p.name for p in plain.iterdir()):
        if name != "register.parquet":
            assert (plain / name).read_bytes() == (named / name).read_bytes(), name
    register = pl.read_parquet(named / "register.parquet")
    assert register.columns == [*REGISTER_COLUMNS, "previous_name"]
    assert register.drop("previous_name").equals(pl.read_parquet(plain / "register.parquet"))
    meta = pl.read_parquet(named / "register_meta.parquet")
    assert register["previous_name"].equals(meta["previous_name"])
    assert 0 < (register["previous_name"] != "").sum() < register.height  # renamed ones only
