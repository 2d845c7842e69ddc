"""`pprl pseudonymise` end to end through the CLI: stability, separation, quarantine, manifest,
rotation, destruction, clear errors, and a scan of every output for IDs and key material."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.cli import cli
from pseudonym.digests import file_sha256
from pseudonym.identifiers import check
from pseudonym.keys import read_key_file
from pseudonym.keystore import Keystore
from pseudonym.secret import Secret

PASSPHRASE = "pseudonymise-test-passphrase"
ENV = {"PPRL_KEY_PASSPHRASE": PASSPHRASE, "PPRL_MASTER_KEY": "", "PPRL_KEYSTORE": ""}


def nhs_numbers(n: int, seed: int) -> list[str]:
    """Valid NHS numbers in the England range, by the mod 11 rule (independent of pprl)."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        stem = str(rng.choice([*range(400, 500), *range(600, 800)])) + f"{rng.randrange(10**6):06d}"
        check_digit = 11 - sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True)) % 11
        if check_digit == 10 or len(set(stem)) == 1:
            continue
        out.append(stem + str(check_digit % 11))
    return out


def crns(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    prefixes = ["SC", "NI", "OC", "00", "10"]
    return [rng.choice(prefixes) + f"{rng.randrange(1, 10**6):06d}" for _ in range(n)]


GOOD_NHS = nhs_numbers(40, seed=1)
GOOD_CRN = crns(40, seed=2)
# Bad values, each at least 8 characters so a chance match inside a checksum is negligible.
BAD = {
    3: ("nhs_number", "4000000005"),  # bad check digit
    7: ("nhs_number", "94347659190"),  # wrong length
    11: ("crn", "QQ1234567X"),  # bad format
    12: ("nhs_number", "ABCDEFGHIJ"),
}


def run(args: list[str], extra: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--log-level", "DEBUG", *args], env={**ENV, **(extra or {})})


def text_of(result: Result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    ks = tmp_path / "ks"
    for args in (
        ["keys", "init", "--keystore", str(ks), "--key-file", str(tmp_path / "m.key")],
        ["keys", "add-env", "research", "--keystore", str(ks)],
        ["keys", "add-env", "trial", "--keystore", str(ks)],
    ):
        result = run(args)
        assert result.exit_code == 0, text_of(result)
    nhs, crn = list(GOOD_NHS), list(GOOD_CRN)
    nhs[0] = f"{nhs[0][:3]} {nhs[0][3:6]} {nhs[0][6:]}"  # spaced form normalises
    nhs[5] = ""  # missing: kept with a null pseudonym
    for row, (column, value) in BAD.items():
        (nhs if column == "nhs_number" else crn)[row - 1] = value
    source = tmp_path / "in.csv"
    pl.DataFrame({"nhs_number": nhs, "crn": crn, "visits": [str(i) for i in range(40)]}).write_csv(
        source
    )
    return {"ks": ks, "in": source, "tmp": tmp_path, "key": tmp_path / "m.key"}


def pseudonymise(s: dict[str, Path], env: str, out: str, *extra: str) -> Result:
    return run(
        [
            "pseudonymise",
            "--keystore",
            str(s["ks"]),
            "--env",
            env,
            "--column",
            "nhs_number:nhs",
            "--column",
            "crn:crn",
            *extra,
            str(s["in"]),
            str(s["tmp"] / out),
        ]
    )


def test_preconditions_values_are_what_the_test_says() -> None:
    assert check("nhs", pl.Series(GOOD_NHS))["reason"].null_count() == len(GOOD_NHS)
    assert check("crn", pl.Series(GOOD_CRN))["reason"].null_count() == len(GOOD_CRN)
    bad = pl.Series([v for _, v in BAD.values()])
    assert check("nhs", bad[[0, 1, 3]])["reason"].null_count() == 0
    assert check("crn", bad[[2]])["reason"].null_count() == 0


def test_end_to_end_stable_separated_quarantined_and_leak_free(setup: dict[str, Path]) -> None:
    s, tmp = setup, setup["tmp"]
    results = [
        pseudonymise(s, "research", "a.parquet"),
        pseudonymise(s, "research", "b.parquet"),
        pseudonymise(s, "trial", "c.parquet"),
    ]
    for result in results:
        assert result.exit_code == 0, text_of(result)
    a, b, c = (pl.read_parquet(tmp / n) for n in ("a.parquet", "b.parquet", "c.parquet"))

    # Stable within an environment, different across environments.
    assert a.equals(b)
    assert a["visits"].to_list() == c["visits"].to_list()
    pairs = [(x, y) for x, y in zip(a["nhs_number"], c["nhs_number"], strict=True) if x]
    assert pairs and all(x != y for x, y in pairs)
    assert set(a["crn"]).isdisjoint(set(c["crn"]))
    assert a["nhs_number"].drop_nulls().str.starts_with("research1_").all()

    # Bad rows quarantined by number, column and reason; the missing NHS number is kept as null.
    assert a.height == 40 - len(BAD)
    assert a["nhs_number"].null_count() == 1
    quarantine = pl.read_parquet(tmp / "a.parquet.quarantine.parquet")
    assert quarantine.columns == ["source_dataset", "file", "row", "stage", "column", "reason"]
    assert quarantine.select("row", "column").rows() == [(r, c) for r, (c, _) in BAD.items()]
    id_types = {"nhs_number": "nhs", "crn": "crn"}
    expected_reasons = [
        f"{id_types[col]}:" + check(id_types[col], pl.Series([v]))["reason"][0]
        for col, v in BAD.values()
    ]
    assert quarantine["reason"].to_list() == expected_reasons
    assert "nhs:bad_check_digit" in expected_reasons

    # The manifest adds up and carries key IDs, checksums and versions.
    manifest = json.loads((tmp / "a.parquet.manifest.json").read_text())
    rows = manifest["rows"]
    assert rows == {"in": 40, "out": 40 - len(BAD), "quarantined": len(BAD)}
    assert rows["in"] == rows["out"] + rows["quarantined"]
    by = manifest["quarantine"]["by_column_and_reason"]
    assert sum(n for col in by.values() for n in col.values()) == len(BAD)
    assert manifest["missing_kept_as_null"] == {"nhs_number": 1, "crn": 0}
    key_ids = {c["column"]: c["key_id"] for c in manifest["columns"]}
    assert key_ids["nhs_number"].startswith("k1-") and key_ids["nhs_number"] != key_ids["crn"]
    assert manifest["inputs"][0]["sha256"] == file_sha256(s["in"])
    assert manifest["outputs"][0]["sha256"] == file_sha256(tmp / "a.parquet")
    assert manifest["pprl_version"] and manifest["created"]
    audit = AuditLog(s["ks"] / "audit.jsonl")
    audit.verify()
    assert [e["action"] for e in audit.entries()].count("pseudonymise") == 3

    # Scan every output and message for every raw input ID and for key material.
    raw = pl.read_csv(s["in"], infer_schema=False)
    identifiers = {v for col in ("nhs_number", "crn") for v in raw[col].drop_nulls() if v}
    identifiers |= {v.replace(" ", "") for v in identifiers}
    master = read_key_file(s["key"], Secret(PASSPHRASE.encode()))
    store = Keystore.open(s["ks"], master=master)
    secrets = {master.reveal().hex(), base64.b64encode(master.reveal()).decode(), PASSPHRASE}
    for env in ("research", "trial"):
        for purpose in ("nhs", "crn", "record-key", "environment"):
            secrets.add(store.working_key(env, purpose)[0].reveal().hex())
    texts = [text_of(r) for r in results]
    for path in tmp.rglob("*"):
        if path.is_file() and path.name not in {"in.csv", "m.key"}:
            if path.suffix == ".parquet":
                frame = pl.read_parquet(path)
                texts.append(frame.cast(pl.String).write_csv())
            texts.append(path.read_bytes().decode("latin-1"))
    needles = identifiers | secrets
    for text in texts:
        leaked = [n for n in needles if n in text]
        assert not leaked, f"{len(leaked)} identifying or secret values found in an output"


def test_rotation_and_destruction(setup: dict[str, Path]) -> None:
    s, tmp = setup, setup["tmp"]
    assert pseudonymise(s, "research", "v1.parquet").exit_code == 0
    assert run(["keys", "rotate", "research", "--keystore", str(s["ks"])]).exit_code == 0
    assert pseudonymise(s, "research", "v2.parquet").exit_code == 0
    again = pseudonymise(s, "research", "v1b.parquet", "--key-version", "1")
    assert again.exit_code == 0, text_of(again)
    v1, v2, v1b = (pl.read_parquet(tmp / f) for f in ("v1.parquet", "v2.parquet", "v1b.parquet"))
    assert v2["nhs_number"].drop_nulls().str.starts_with("research2_").all()
    assert set(v1["nhs_number"].drop_nulls()).isdisjoint(set(v2["nhs_number"].drop_nulls()))
    assert v1.equals(v1b)
    manifest = json.loads((tmp / "v2.parquet.manifest.json").read_text())
    assert manifest["key_version"] == 2 and manifest["columns"][0]["key_id"].startswith("k2-")

    assert run(["keys", "destroy", "research", "--yes", "--keystore", str(s["ks"])]).exit_code == 0
    after = pseudonymise(s, "research", "gone.parquet")
    assert after.exit_code == 2
    assert "research" in text_of(after) and "destroyed" in text_of(after)
    assert not (tmp / "gone.parquet").exists()
    assert pseudonymise(s, "trial", "still.parquet").exit_code == 0


def test_parquet_input_and_quarantine_missing(setup: dict[str, Path]) -> None:
    s, tmp = setup, setup["tmp"]
    parquet_in = tmp / "in.parquet"
    pl.read_csv(s["in"], infer_schema=False).write_parquet(parquet_in)
    result = run(
        [
            "pseudonymise",
            "--keystore",
            str(s["ks"]),
            "--env",
            "research",
            "--column",
            "nhs_number:nhs",
            "--quarantine-missing",
            str(parquet_in),
            str(tmp / "p.parquet"),
        ]
    )
    assert result.exit_code == 0, text_of(result)
    quarantine = pl.read_parquet(tmp / "p.parquet.quarantine.parquet")
    assert (6, "nhs_number", "nhs:missing") in quarantine.select("row", "column", "reason").rows()
    assert pl.read_parquet(tmp / "p.parquet")["nhs_number"].null_count() == 0


@pytest.mark.parametrize(
    ("columns", "code", "needles"),
    [
        (["--column", "nhs_number:nhs", "--column", "postcode_x:nhs"], 3, ["in.csv", "postcode_x"]),
        (["--column", "nhs_number:nope"], 2, ["nhs_number", "'nope'"]),
        (["--column", "nhs_number"], 2, ["COL:TYPE"]),
        (["--column", "nhs_number:nhs", "--column", "nhs_number:nhs"], 2, ["more than once"]),
    ],
)
def test_clear_errors_name_file_and_column(
    setup: dict[str, Path], columns: list[str], code: int, needles: list[str]
) -> None:
    s = setup
    result = run(
        [
            "pseudonymise",
            "--keystore",
            str(s["ks"]),
            "--env",
            "research",
            *columns,
            str(s["in"]),
            str(s["tmp"] / "o.parquet"),
        ]
    )
    assert result.exit_code == code, text_of(result)
    for needle in needles:
        assert needle in text_of(result)


def test_unreadable_and_unsupported_inputs(setup: dict[str, Path]) -> None:
    s, tmp = setup, setup["tmp"]
    broken = tmp / "broken.parquet"
    broken.write_bytes(b"4000000005 not parquet at all")
    cases = [
        (broken, 3, "broken.parquet"),
        (tmp / "absent.csv", 3, "absent.csv"),
        (tmp / "x.xlsx", 2, "x.xlsx"),
    ]
    for path, code, needle in cases:
        result = run(
            [
                "pseudonymise",
                "--keystore",
                str(s["ks"]),
                "--env",
                "research",
                "--column",
                "nhs_number:nhs",
                str(path),
                str(tmp / "o.parquet"),
            ]
        )
        assert result.exit_code == code, text_of(result)
        assert needle in text_of(result) and "4000000005" not in text_of(result)
    unknown_env = run(
        [
            "pseudonymise",
            "--keystore",
            str(s["ks"]),
            "--env",
            "nope",
            "--column",
            "nhs_number:nhs",
            str(s["in"]),
            str(tmp / "o.parquet"),
        ]
    )
    assert unknown_env.exit_code == 2 and "'nope'" in text_of(unknown_env)


def test_header_only_input_gives_empty_outputs_that_add_up(setup: dict[str, Path]) -> None:
    s, tmp = setup, setup["tmp"]
    empty = tmp / "empty.csv"
    empty.write_text("nhs_number,crn,visits\n")
    result = run(
        [
            "pseudonymise",
            "--keystore",
            str(s["ks"]),
            "--env",
            "research",
            "--column",
            "nhs_number:nhs",
            str(empty),
            str(tmp / "e.parquet"),
        ]
    )
    assert result.exit_code == 0, text_of(result)
    assert pl.read_parquet(tmp / "e.parquet").columns == ["nhs_number", "crn", "visits"]
    manifest = json.loads((tmp / "e.parquet.manifest.json").read_text())
    assert manifest["rows"] == {"in": 0, "out": 0, "quarantined": 0}
