"""`pprl crn-request` and `pprl link-register` end to end through the CLI on generated data:
statuses against truth, a scan of every output for register identifiers and names, manifest and
audit, and the clerical-review round trip (review file -> decisions -> rerun)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.business.crn_rule import is_slip
from pipeline.cli import cli
from pseudonym.identifiers import check
from pseudonym.keystore import Keystore
from pseudonym.secret import Secret
from pseudonym.tokens import Pseudonymiser
from synthetic.businesses import generate_incoming, generate_register

MASTER = base64.b64encode(b"business-linkage-test-master-key-32bytes!").decode()
ENV = {"PPRL_MASTER_KEY": MASTER, "PPRL_KEYSTORE": "", "PPRL_KEY_PASSPHRASE": ""}
CRN_STATUSES = {
    "matched_exact", "matched_probabilistic", "dissolved", "ambiguous", "not_found", "invalid",
}  # fmt: skip


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, env=ENV)


def text_of(result: Result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("business")
    ks = root / "ks"
    for args in (
        ["keys", "init", "--keystore", str(ks)],
        ["keys", "add-env", "project", "--keystore", str(ks)],
    ):
        result = run(args)
        assert result.exit_code == 0, text_of(result)
    register = generate_register(2000, seed=11)
    incoming, truth = generate_incoming(register, 300, seed=12)
    register_path = root / "register.parquet"
    register.write_parquet(register_path)
    keystore = Keystore.open(ks, master=Secret(base64.b64decode(MASTER)))
    return {
        "root": root,
        "ks": ks,
        "register": register,
        "incoming": incoming,
        "truth": truth,
        "register_path": register_path,
        "pseudonymiser": Pseudonymiser.from_keystore(keystore, "project"),
    }


def output_text(directory: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(directory.rglob("*")) if p.is_file()
    )


def register_values(register: pl.DataFrame) -> set[str]:
    """Every register identifier (raw and normalised) and name/address value."""
    values: set[str] = set()
    for column in (
        "entref",
        "ruref",
        "luref",
        "crn",
        "vat",
        "paye",
        "legal_name",
        "trading_name",
        "address",
    ):
        values |= {v for v in register[column].drop_nulls().cast(pl.String).to_list() if v}
    values |= set(check("crn", register["crn"])["normalised"].drop_nulls().to_list())
    return values


def test_crn_request_end_to_end(world: dict[str, object]) -> None:
    root, incoming, truth = world["root"], world["incoming"], world["truth"]
    register = world["register"]
    assert isinstance(root, Path) and isinstance(incoming, pl.DataFrame)
    assert isinstance(truth, pl.DataFrame) and isinstance(register, pl.DataFrame)
    requests = incoming.rename({"incoming_id": "request_id"}).select(
        "request_id", "crn", "name", "postcode"
    )
    # Researchers' typing: invalid numbers, some with a name to fall back on, some without.
    bad = ["QQ123456", "00000000", "XY12", "sc000000", "123456789", "ZZ000001", "0", "SC12345678"]
    requests = requests.with_columns(
        pl.when(pl.int_range(pl.len()) < len(bad))
        .then(pl.Series(bad + [None] * (requests.height - len(bad))))
        .otherwise(pl.col("crn"))
        .alias("crn"),
        pl.when(pl.int_range(pl.len()).is_between(4, len(bad) - 1))
        .then(None)
        .otherwise(pl.col("name"))
        .alias("name"),
    )
    requests_path, truth_path = root / "crns.csv", root / "crn_truth.csv"
    requests.write_csv(requests_path)
    truth.rename({"incoming_id": "request_id"}).write_csv(truth_path)
    out = root / "crn-answer"
    result = run(
        [
            "crn-request",
            "--keystore",
            str(world["ks"]),
            "--env",
            "project",
            "--register",
            str(world["register_path"]),
            "--input",
            str(requests_path),
            "--key-column",
            "request_id",
            "--truth",
            str(truth_path),
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, text_of(result)

    results = pl.read_csv(out / "results.csv", infer_schema=False)
    assert results.columns == [
        "request_id",
        "status",
        "method",
        "match_probability",
        "reason",
        "entref_pseudonym",
        "register_status",
    ]
    assert results["request_id"].to_list() == requests["request_id"].to_list()
    assert set(results["status"]) <= CRN_STATUSES

    # Independent expectation for the deterministic part: the normalised CRN is in the
    # register exactly once -> matched_exact to that enterprise's pseudonym.
    pseudonymiser = world["pseudonymiser"]
    assert isinstance(pseudonymiser, Pseudonymiser)
    normalised = check("crn", requests["crn"])
    register_crn = register.with_columns(check("crn", register["crn"])["normalised"].alias("norm"))
    once = (
        register_crn.group_by("norm")
        .agg(pl.col("entref").first(), pl.col("status").first().alias("reg_status"), pl.len())
        .filter(pl.col("len") == 1)
    )
    expected = pl.DataFrame(
        {"request_id": requests["request_id"], "norm": normalised["normalised"]}
    ).join(once, on="norm")
    assert expected.height > 60
    got = results.join(expected, on="request_id")
    # a dissolved company is reported as such, not as matched_exact with no flag
    dissolved = got["reg_status"] == "dissolved"
    assert dissolved.any() and (got.filter(dissolved)["status"] == "dissolved").all()
    assert (got.filter(~dissolved)["status"] == "matched_exact").all()
    assert (got["method"] == "crn").all()
    assert got["register_status"].to_list() == [
        "dissolved" if d else "active" for d in dissolved.to_list()
    ]
    assert got["entref_pseudonym"].to_list() == [
        pseudonymiser.pseudonymise_one("entref", e) for e in got["entref"].to_list()
    ]
    invalid_rows = normalised["reason"].is_not_null() & (normalised["reason"] != "missing")
    assert invalid_rows.sum() == len(bad)
    statuses = results.filter(invalid_rows)["status"]
    assert set(statuses) <= {"invalid", "matched_probabilistic", "dissolved", "ambiguous"}
    assert results["status"][4:8].to_list() == ["invalid"] * 4  # no name to fall back on
    assert results.filter(pl.col("status") == "invalid")["reason"].str.starts_with("crn:").all()
    assert (results["status"] == "matched_probabilistic").sum() > 20  # the name fallback works

    # A valid CRN that no register row holds is never linked by name to a company that has
    # another CRN, unless the two are one keystroke apart (a slip of the company's number).
    unknown = normalised["normalised"].is_not_null() & ~normalised["normalised"].is_in(
        register_crn["norm"].drop_nulls().implode()
    )
    tokens = pl.DataFrame(
        {
            "entref_pseudonym": [
                pseudonymiser.pseudonymise_one("entref", e) for e in register["entref"].to_list()
            ],
            "linked_crn": register_crn["norm"],
        }
    )
    linked = results["status"].is_in(["matched_probabilistic", "dissolved"])
    by_name = results.filter(unknown & linked & (results["method"] == "probabilistic"))
    given = pl.DataFrame({"request_id": requests["request_id"], "crn": normalised["normalised"]})
    theirs = by_name.join(tokens, on="entref_pseudonym").join(given, on="request_id")
    assert by_name.height == theirs.height
    assert all(
        linked_crn is None or is_slip(crn, linked_crn)
        for crn, linked_crn in theirs.select("crn", "linked_crn").iter_rows()
    )

    report = json.loads((out / "match_report.json").read_text())
    assert report["truth"]["precision"] >= 0.97 and report["truth"]["recall"] >= 0.83
    assert sum(report["by_status"].values()) == 300

    text = output_text(out)
    leaked = [v for v in register_values(register) if v in text]
    assert leaked == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "crn-request" and manifest["curator_files"] == []
    assert manifest["pseudonymised"][0]["key_id"] == pseudonymiser.key_id("entref")
    assert not (out / "review").exists()
    entries = AuditLog(Path(str(world["ks"])) / "audit.jsonl").entries()
    assert entries[-1]["action"] == "crn-request"


def test_help_ends_with_an_example() -> None:
    for name in ("crn-request", "link-register"):
        result = run([name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output
        assert f"pprl {name} --keystore" in result.output


def link(world: dict[str, object], out: Path, *extra: str) -> Result:
    root, incoming, truth = world["root"], world["incoming"], world["truth"]
    assert isinstance(root, Path) and isinstance(incoming, pl.DataFrame)
    assert isinstance(truth, pl.DataFrame)
    input_path, truth_path = root / "incoming.csv", root / "truth.csv"
    if not input_path.exists():
        incoming.write_csv(input_path)
        truth.write_csv(truth_path)
    return run(
        [
            "link-register",
            "--keystore",
            str(world["ks"]),
            "--env",
            "project",
            "--register",
            str(world["register_path"]),
            "--input",
            str(input_path),
            "--truth",
            str(truth_path),
            "--match-threshold",
            "0.999",
            "--review-threshold",
            "0.05",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_clerical_review_round_trip(world: dict[str, object]) -> None:
    root, truth, register = world["root"], world["truth"], world["register"]
    pseudonymiser = world["pseudonymiser"]
    assert isinstance(root, Path) and isinstance(truth, pl.DataFrame)
    assert isinstance(register, pl.DataFrame) and isinstance(pseudonymiser, Pseudonymiser)
    first = root / "link1"
    result = link(world, first)
    assert result.exit_code == 0, text_of(result)
    review = pl.read_csv(first / "review" / "clerical_review.csv", infer_schema=False)
    assert review.height >= 3
    assert review["decision"].fill_null("").eq("").all()
    assert set(review["register_status"]) <= {"active", "dissolved"}
    assert set(review["crn_differs"]) <= {"true", "false"}
    results = pl.read_csv(first / "results.csv", infer_schema=False)
    reviewed = results.filter(pl.col("status").is_in(["review", "ambiguous"]))["incoming_id"]
    assert set(review["key"]) <= set(reviewed)
    # the review file identifies candidates by pseudonym only: no register references
    review_text = (first / "review" / "clerical_review.csv").read_text()
    for column in ("entref", "crn", "vat", "paye"):
        assert not [v for v in register[column].drop_nulls().to_list() if v in review_text]
    delivered = (first / "results.csv").read_text() + (first / "match_report.json").read_text()
    assert not [v for v in register_values(register) if v in delivered]

    true_token = {k: pseudonymiser.pseudonymise_one("entref", e) for k, e in truth.iter_rows()}
    decided = review.with_columns(
        pl.struct("key", "candidate")
        .map_elements(
            lambda r: "match" if true_token.get(r["key"]) == r["candidate"] else "non-match",
            return_dtype=pl.String,
        )
        .alias("decision")
    )
    decisions_path = root / "decisions.csv"
    decided.write_csv(decisions_path)
    second = root / "link2"
    result = link(world, second, "--decisions", str(decisions_path))
    assert result.exit_code == 0, text_of(result)
    results = pl.read_csv(second / "results.csv", infer_schema=False)
    by_key = {r["incoming_id"]: r for r in results.iter_rows(named=True)}
    matches = decided.filter(pl.col("decision") == "match")
    assert matches.height >= 1
    for key, candidate in matches.select("key", "candidate").iter_rows():
        assert by_key[key]["status"] == "matched_clerical"
        assert by_key[key]["method"] == "clerical"
        assert by_key[key]["entref_pseudonym"] == candidate
    for key, candidate in (
        decided.filter(pl.col("decision") == "non-match").select("key", "candidate").iter_rows()
    ):
        assert by_key[key]["entref_pseudonym"] != candidate
    report = json.loads((second / "match_report.json").read_text())
    assert report["by_status"]["matched_clerical"] == matches.height
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["facts"]["decisions_applied"]["match"] == matches.height
    assert manifest["curator_files"][0]["name"] == "clerical_review.csv"


def test_bad_decisions_are_reported_by_row_without_values(world: dict[str, object]) -> None:
    root = world["root"]
    assert isinstance(root, Path)
    bad = root / "bad_decisions.csv"
    pl.DataFrame(
        {
            "key": ["B00000001", "B00000002"],
            "candidate": ["x", "y"],
            "decision": ["perhaps-later", "match"],
        }
    ).write_csv(bad)
    result = link(world, root / "link-bad", "--decisions", str(bad))
    assert result.exit_code == 3
    message = text_of(result)
    assert "row 1" in message and "perhaps-later" not in message and "B00000001" not in message


def test_missing_key_column_is_a_data_error(world: dict[str, object]) -> None:
    root = world["root"]
    assert isinstance(root, Path)
    result = link(world, root / "link-nokey", "--key-column", "no_such_column")
    assert result.exit_code == 3 and "no_such_column" in text_of(result)
    assert not os.path.exists(root / "link-nokey" / "results.csv")


def test_match_threshold_auto_or_a_number(world: dict[str, object]) -> None:
    root = world["root"]
    assert isinstance(root, Path)
    # link() gives --match-threshold 0.999; a later --match-threshold wins
    reports = {}
    for setting in ("auto", "0.8"):
        out = root / f"threshold-{setting}"
        result = link(world, out, "--match-threshold", setting)
        assert result.exit_code == 0, text_of(result)
        report = json.loads((out / "match_report.json").read_text())
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["facts"]["threshold"] == report["threshold"]
        assert manifest["settings"]["match_threshold"] == ("auto" if setting == "auto" else 0.8)
        assert f"Match threshold {report['threshold']['match_threshold']:.3f}" in result.output
        reports[setting] = report["threshold"]
    auto, fixed = reports["auto"], reports["0.8"]
    assert auto["setting"] == "auto" and 0.5 <= auto["match_threshold"] <= 1.0
    assert auto["unguarded_threshold"] is not None
    assert fixed["setting"] == 0.8 and fixed["match_threshold"] == 0.8
    assert fixed["unguarded_threshold"] is None
    # the automatic cut is the one the model expects to do best
    assert auto["expected_f1"] >= fixed["expected_f1"] or auto["match_threshold"] == 0.5
    for field in ("expected_precision", "expected_recall", "expected_f1"):
        assert 0.0 < auto[field] <= 1.0
    bad = link(world, root / "threshold-bad", "--match-threshold", "often")
    assert bad.exit_code == 2 and "Invalid value for '--match-threshold'" in text_of(bad)


def test_crn_request_takes_the_automatic_threshold(world: dict[str, object]) -> None:
    root, incoming = world["root"], world["incoming"]
    assert isinstance(root, Path) and isinstance(incoming, pl.DataFrame)
    requests_path, out = root / "crns-auto.csv", root / "crn-auto"
    incoming.rename({"incoming_id": "request_id"}).select(
        "request_id", "crn", "name", "postcode"
    ).write_csv(requests_path)
    args = ["--keystore", str(world["ks"]), "--env", "project"]
    args += ["--register", str(world["register_path"]), "--input", str(requests_path)]
    args += ["--key-column", "request_id", "--match-threshold", "auto", "--out", str(out)]
    result = run(["crn-request", *args])
    assert result.exit_code == 0, text_of(result)
    threshold = json.loads((out / "match_report.json").read_text())["threshold"]
    assert threshold["setting"] == "auto" and threshold["match_threshold"] >= 0.5
    results = pl.read_csv(out / "results.csv")
    by_name = results.filter(pl.col("method") == "probabilistic")
    linked = by_name["status"].is_in(["matched_probabilistic", "dissolved"])
    assert linked.sum() > 20
    assert (by_name.filter(linked)["match_probability"] >= threshold["match_threshold"]).all()
    # (results and report round to 6 places: an unlinked record may round to the cut)
    assert (by_name.filter(~linked)["match_probability"] <= threshold["match_threshold"]).all()
