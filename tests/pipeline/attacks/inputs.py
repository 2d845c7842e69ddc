"""Random multi-source pipeline inputs for the attack tests: people with typed attributes and
missing values, spread over two or three sources (several rows per person in some), written as
CSV batches, with a config and a linker that clusters records by NHS number.

A person's attributes are fixed (as a TRE's sources would hold them about one person), but each
source may leave any of them blank, and a few income values are not numbers (quarantined at
ingest). Which quasi-identifiers are declared, k and the risk limit vary with the example.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml
from hypothesis import strategies as st

from pipeline.config import LinkageSpec
from pipeline.stages.link import PAIRS_SCHEMA, UID
from pipeline.stages.link_records import LinkRecords
from pipeline.stages.link_result import LinkResult
from tests.pipeline.runner_support import make_nhs, write_csv

THOROUGH = os.environ.get("PPRL_HYPOTHESIS_PROFILE") == "thorough"
HEADER = ["nhs", "forename", "surname", "dob", "sex_code", "region", "ethnicity", "income", "ward"]
# Which attributes each source maps, and their declared types.
CATEGORY, INTEGER = "attribute:category", "attribute:integer"
LAYOUT: dict[str, dict[str, str]] = {
    "hospital": {"sex_code": CATEGORY, "ward": CATEGORY},
    "gp": {"sex_code": CATEGORY, "region": CATEGORY, "income": INTEGER},
    "mental": {"region": CATEGORY, "ethnicity": CATEGORY},
}
QUASI_IDENTIFIERS = ["age_band", "sex_code", "region", "ethnicity", "ward"]
KEYS = ["person_id", "pid_nhs"]


@dataclass(frozen=True)
class Scenario:
    """One example: the seed of its data, the sources, k, which quasi-identifiers are
    declared, the individual-risk and expected-re-identification limits."""

    seed: int
    sources: tuple[str, ...]
    people: int
    k: int
    quasi_identifiers: tuple[str, ...]
    max_expected: float | None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    sources = draw(st.sampled_from([("hospital", "gp"), ("hospital", "gp", "mental")]))
    qis = draw(st.lists(st.sampled_from(QUASI_IDENTIFIERS), min_size=1, max_size=4, unique=True))
    return Scenario(
        seed=draw(st.integers(0, 2**31 - 1)),
        sources=sources,
        people=draw(st.integers(12, 70)),
        k=draw(st.integers(2, 4)),
        quasi_identifiers=tuple(q for q in QUASI_IDENTIFIERS if q in qis),
        max_expected=draw(st.none() | st.floats(2.0, 60.0)),
    )


def people(scenario: Scenario) -> pl.DataFrame:
    rng = np.random.default_rng(scenario.seed)
    n = scenario.people
    return pl.DataFrame(
        {
            "person": np.arange(n),
            "nhs": [make_nhs(scenario.seed % 10_000 * 100 + i) for i in range(n)],
            "forename": [f"Fore{i}x" for i in range(n)],
            "surname": [f"Sur{i}name" for i in range(n)],
            "dob": [f"{y}-0{m}-1{d}" for y, m, d in zip(
                rng.integers(1935, 2020, n), rng.integers(1, 10, n), rng.integers(0, 10, n),
                strict=True,
            )],
            "sex_code": rng.choice(["F", "M"], n),
            "region": rng.choice(["N", "S", "E", "W"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "ethnicity": rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1]),
            "income": np.round(rng.lognormal(10, 0.7, n), -2).astype(np.int64).astype(str),
        }
    )  # fmt: skip


def rows_for(scenario: Scenario, source: str, batch: int) -> list[list[str]]:
    """One source's rows in a batch: each person present with some probability (a second
    batch brings new episodes of some people), several rows per person in the hospital, with
    blanks, and now and then an income that is not a number."""
    rng = np.random.default_rng([scenario.seed, batch, len(source)])
    frame = people(scenario)
    present = rng.random(frame.height) < (0.75 if batch == 1 else 0.4)
    rows = []
    for person in frame.filter(pl.Series(present)).iter_rows(named=True):
        repeats = int(rng.integers(1, 4)) if source == "hospital" else 1
        for _ in range(repeats):
            row = {**person, "ward": str(rng.choice(["W1", "W2", "W3"]))}
            for column in ("sex_code", "region", "ethnicity", "income", "ward"):
                if rng.random() < 0.1:
                    row[column] = ""
            if rng.random() < 0.03:
                row["income"] = "n/a"
            rows.append([str(row[c]) for c in HEADER])
    return rows


def write_batch(root: Path, scenario: Scenario, batch: int, sources: tuple[str, ...]) -> None:
    for source in sources:
        write_csv(
            root / "in" / source / f"batch{batch}.csv", HEADER, rows_for(scenario, source, batch)
        )


def quasi_identifiers(scenario: Scenario) -> list[str]:
    """The scenario's quasi-identifiers that its sources hold (age band when none is)."""
    mapped = {a for name in scenario.sources for a in LAYOUT[name]} | {"age_band"}
    return [q for q in scenario.quasi_identifiers if q in mapped] or ["age_band"]


def write_config(root: Path, keystore: Path, scenario: Scenario, **disclosure: Any) -> Path:
    """The pipeline config for ``scenario``; ``disclosure`` overrides its disclosure settings."""
    columns = {"nhs": "identifier:nhs", "forename": "first_name", "surname": "surname",
               "dob": "date_of_birth"}  # fmt: skip
    sources = [
        {
            "name": name,
            "path": f"in/{name}/*.csv",
            "allow_empty": True,
            "columns": {**columns, **LAYOUT[name]},
        }
        for name in scenario.sources
    ]
    mapped = sorted({a for name in scenario.sources for a in LAYOUT[name]})
    risk: dict[str, Any] = {"max_individual_risk": 1 / scenario.k}
    if scenario.max_expected is not None:
        risk["max_expected_reidentifications"] = scenario.max_expected
    doc = {
        "project": "attack",
        "environment": "research",
        "sources": sources,
        "linkage": {"mode": "dedupe", "blocking": ["identifier:nhs"],
                    "comparisons": {"identifier:nhs": "identifier"}},
        "keystore": {"path": os.path.relpath(keystore, root)},
        "approved_attributes": mapped,
        "disclosure": {
            "derive": ["age_band"],
            "reference_date": "2026-01-01",
            "quasi_identifiers": quasi_identifiers(scenario),
            "k": scenario.k,
            "suppression_budget": 1.0,  # the property is safety; utility is measured apart
            "risk": risk,
            **disclosure,
        },
        "delivery": {"path": "out", "work_dir": "work"},
    }  # fmt: skip
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def nhs_linker(records: LinkRecords, spec: LinkageSpec, decisions: object) -> LinkResult:
    """Records sharing a valid NHS number are one person; the rest stay apart."""
    clusters = records.ids.select(UID, pl.coalesce("id_nhs", UID).alias("cluster"))
    return LinkResult(clusters, pl.DataFrame(schema=PAIRS_SCHEMA), match=0.9, review=0.5)
