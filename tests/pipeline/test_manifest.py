"""Manifests: the document's header and checks, reading one back, and a run's counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import DataError
from pipeline.manifest import (
    MANIFEST_FORMAT,
    config_digest,
    read_manifest,
    run_manifest_body,
    write_manifest,
)
from tests.pipeline.run_facts_support import run_facts, two_source_config

OUTPUTS = {"hospital.parquet": {"sha256": "c" * 64, "rows": 3}}


def test_written_manifest_reads_back_with_its_header(tmp_path: Path) -> None:
    written = write_manifest(tmp_path / "m.json", "test-kind", {"rows": 3})
    assert read_manifest(tmp_path / "m.json") == written
    assert (written["format"], written["kind"], written["rows"]) == (
        MANIFEST_FORMAT,
        "test-kind",
        3,
    )


def test_manifest_refuses_byte_strings_and_header_fields(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="byte strings"):
        write_manifest(tmp_path / "m.json", "k", {"key": b"\x00secret"})
    with pytest.raises(ValueError, match="header"):
        write_manifest(tmp_path / "m.json", "k", {"format": "mine"})
    assert not (tmp_path / "m.json").exists()


def test_reading_back_something_else_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text(json.dumps({"format": "not-pprl"}))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DataError, match="not a pprl manifest"):
        read_manifest(tmp_path / "other.json")
    with pytest.raises(DataError, match="unreadable manifest"):
        read_manifest(tmp_path / "broken.json")
    with pytest.raises(DataError, match="unreadable manifest"):
        read_manifest(tmp_path / "missing.json")


def test_run_counts_add_up_per_source_and_in_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_source_config(tmp_path, monkeypatch)
    body = run_manifest_body(run_facts(config), OUTPUTS, {"ingest": 1.0})
    hospital, gp = body["sources"]["hospital"], body["sources"]["gp"]
    assert hospital == {
        "files": 1,
        "input_rows": 5,
        "quarantined": 2,
        "quarantined_by_stage": {"ingest": 1, "identifiers": 1},
        "delivered": 3,
        "identifiers_nulled": 0,
        "linked": 2,
        "unlinked": 1,
    }
    # a nulled ID is recorded in the quarantine, but its row was delivered
    assert (gp["input_rows"], gp["quarantined"], gp["identifiers_nulled"]) == (2, 0, 1)
    totals = body["totals"]
    assert totals["input_rows"] == totals["delivered"] + totals["quarantined"] == 7
    assert totals["delivered"] == totals["linked"] + totals["unlinked"]
    assert body["quarantine_reasons"] == [
        {"stage": "identifiers", "reason": "nhs:bad_check_digit", "rows": 1},
        {"stage": "identifiers_nulled", "reason": "nhs:bad_format", "rows": 1},
        {"stage": "ingest", "reason": "bad_date", "rows": 1},
    ]
    linkage = body["linkage"]
    assert (linkage["pairs_scored"], linkage["pairs_matched"], linkage["pairs_for_review"]) == (
        3,
        1,
        1,
    )
    assert linkage["match_rate"] == 3 / 5 and linkage["entities"] == {"new_entities": 3}
    assert body["config_sha256"] == config_digest(config)
    assert body["outputs"] == OUTPUTS and body["stage_seconds"] == {"ingest": 1.0}
    assert body["disclosure"]["k"] == config.disclosure.k and "k_anonymity" in body["disclosure"]


def test_without_linkage_nothing_counts_as_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_source_config(tmp_path, monkeypatch, linkage={"mode": "none"})
    totals = run_manifest_body(run_facts(config), OUTPUTS, {})["totals"]
    assert (totals["linked"], totals["unlinked"]) == (0, totals["delivered"])
