"""Shared helpers for the pipeline runner/CLI tests: a keystore, input files, fake identifier rules.

The fake identifier check implements the NHS mod-11 rule independently (NHS Data Dictionary:
weights 10..2, check = 11 - sum mod 11, 11 -> 0, 10 invalid) so these tests do not depend on the
``pseudonym.identifiers`` module's availability; integration with it is tested separately.
"""

from __future__ import annotations

import base64
import csv
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline.commands.demo import ENVIRONMENT as DEMO_ENVIRONMENT
from pipeline.commands.demo import MASTER_KEY_ENV
from pipeline.entities import UID
from pipeline.stages.services import Services, open_pseudonymiser
from pseudonym.identifiers import check
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore

ENVIRONMENT = "research"
# Where write_config's runs keep their state and work files (the defaults, beside the config).
STATE = f".pprl-state/demo-{ENVIRONMENT}"
AUDIT_LOG = f"{STATE}/audit.jsonl"
LOCK = f"{STATE}/lock"
WORK = f".pprl-work/demo-{ENVIRONMENT}"


def nhs_check_digit_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def make_nhs(seed: int) -> str:
    """A valid NHS number (4xx range) derived from ``seed``."""
    n = 400_000_000 + seed * 7919
    while True:
        stem = f"{n:09d}"
        for d in range(10):
            if nhs_check_digit_ok(stem + str(d)):
                return stem + str(d)
        n += 1


def fake_check(id_type: str, values: pl.Series) -> pl.DataFrame:
    normalised, reasons = [], []
    for v in values.to_list():
        text = None if v is None else "".join(ch for ch in str(v) if ch.isdigit())
        if v is None or not str(v).strip():
            normalised.append(None)
            reasons.append("missing")
        elif text is None or len(text) != 10:
            normalised.append(None)
            reasons.append("bad_format")
        elif not nhs_check_digit_ok(text):
            normalised.append(None)
            reasons.append("bad_check_digit")
        else:
            normalised.append(text)
            reasons.append(None)
    return pl.DataFrame(
        {
            "normalised": pl.Series(normalised, dtype=pl.String),
            "reason": pl.Series(reasons, dtype=pl.String),
        }
    )


def fake_services(linker: object = None) -> Services:
    return Services(
        check_identifiers=fake_check,
        pseudonymiser_factory=open_pseudonymiser,
        linker=linker,  # type: ignore[arg-type]
    )


def make_keystore(root: Path, monkeypatch: object) -> Path:
    """A keystore with one environment; the master key goes into PPRL_MASTER_KEY."""
    from pseudonym.keys import generate_master_key
    from pseudonym.keystore import Keystore

    master = generate_master_key()
    keystore = Keystore.create(root / "keys", master=master)
    keystore.add_environment(ENVIRONMENT)
    encoded = base64.b64encode(master.reveal()).decode()
    monkeypatch.setenv("PPRL_MASTER_KEY", encoded)  # type: ignore[attr-defined]
    return root / "keys"


PEOPLE = [
    # first, surname, dob, postcode, ethnicity, region_code
    ("Aurelio", "Quintavalle", "1961-03-14", "ZX9 8QW", "A1", "R1"),
    ("Bettany", "Oyelaran", "1978-11-02", "QQ7 3TT", "B2", "R2"),
    ("Cosimo", "Ravensworth", "1990-07-21", "XY1 4PL", "A1", "R1"),
    ("Delphine", "Szczepanik", "1985-01-30", "YY2 6MN", "C3", "R3"),
    ("Evander", "Thistlewood", "2001-05-05", "WV3 2HJ", "B2", "R2"),
]


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def people_rows(offset: int, n: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        first, last, dob, pc, eth, reg = PEOPLE[(offset + i) % len(PEOPLE)]
        rows.append([make_nhs(offset + i), f"{first}{offset + i}", last, dob, pc, eth, reg])
    return rows


HEADER = ["nhs_no", "forename", "surname", "dob", "postcode", "ethnicity", "region_code"]
COLUMNS = {
    "nhs_no": "identifier:nhs",
    "forename": "first_name",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "ethnicity": "attribute",
    "region_code": "attribute",
}


def write_config(root: Path, keystore: Path, **overrides: object) -> Path:
    config = {
        "project": "demo",
        "environment": ENVIRONMENT,
        "sources": [
            {"name": "hospital", "path": "in/hospital/*.csv", "columns": COLUMNS},
        ],
        "keystore": {"path": os.path.relpath(keystore, root)},
        "approved_attributes": ["ethnicity"],
        "delivery": {"path": "out"},
    }
    config.update(overrides)
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def all_output_text(root: Path) -> str:
    """Every byte under ``root/out`` decoded leniently, Parquet included (strings are plain)."""
    chunks = []
    for path in sorted((root / "out").rglob("*")):
        if path.is_file():
            chunks.append(path.read_bytes().decode("latin-1"))
            if path.suffix == ".parquet":
                chunks.append(pl.read_parquet(path).write_csv())
    return "\n".join(chunks)


def deliveries(root: Path) -> list[Path]:
    """The ``run-*`` folders delivered under ``root/out`` (none when it does not exist)."""
    out = root / "out"
    return sorted(out.glob("run-*")) if out.is_dir() else []


REPO = Path(__file__).resolve().parents[2]


def demo_workspace(root: Path, monkeypatch: object) -> Path:
    """configs/demo-data copied under ``root`` and a keystore (``root/keys``) with two
    environments, ENVIRONMENT and ``other``; returns ``root``."""
    from pseudonym.keys import master_key_from_env
    from pseudonym.keystore import Keystore

    shutil.copytree(REPO / "configs/demo-data", root / "demo-data")
    keystore = make_keystore(root, monkeypatch)
    Keystore.open(keystore, master=master_key_from_env()).add_environment("other")
    return root


def demo_config(root: Path, keystore: Path, environment: str, name: str | None = None) -> Path:
    """configs/demo.yaml on a copy of its data, with our keystore and ``environment``; its
    outputs go to ``out-NAME``, ``work-NAME`` and ``state-NAME`` (default: the environment)."""
    name = name or environment
    doc = yaml.safe_load((REPO / "configs/demo.yaml").read_text())
    doc["environment"] = environment
    doc["keystore"] = {"path": str(keystore)}
    doc["delivery"] = {
        "path": f"out-{name}",
        "work_dir": f"work-{name}",
        "state_dir": f"state-{name}",
    }
    doc["disclosure"]["quasi_identifiers"] = []  # small batches cannot be 3-anonymous
    doc["sources"][1]["path"] = "demo-data/gp/*.csv"  # may be empty for a run
    doc["sources"][1]["allow_empty"] = True
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def generated_link_side(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """A linkage view of one file of ``synthetic.persons``: only valid NHS numbers kept (as
    ingest does)."""
    valid = check("nhs", frame["nhs_number"])["normalised"]
    return frame.with_row_index("__i", offset=2).select(
        pl.format("{}|f.csv|{}", pl.lit(source), pl.col("__i")).alias(UID),
        pl.lit(source).alias("_source"),
        valid.alias("id_nhs"),
        "first_name",
        "surname",
        pl.col("dob").alias("date_of_birth"),
        "postcode",
        "sex",
    )


def demo_keys(root: Path, patch: pytest.MonkeyPatch) -> None:
    """A keystore at ``root/keys`` holding the demo environment, its master key in the
    environment variable the demo reads."""
    master = generate_master_key()
    Keystore.create(root / "keys", master=master).add_environment(DEMO_ENVIRONMENT)
    patch.setenv(MASTER_KEY_ENV, base64.b64encode(master.reveal()).decode())


def without_chart_rendering(patch: pytest.MonkeyPatch) -> None:
    """Charts in run reports are built but not drawn (vl-convert takes ~0.2 s a chart, half a
    small pipeline run): for tests that compare deliveries and manifests over many runs, never
    the report. The charts' own tests (tests/pipeline/charts, the run report tests) draw them."""
    import pipeline.charts.render as render

    patch.setattr(render, "svg", lambda chart: "<svg></svg>")
