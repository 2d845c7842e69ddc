"""One quarantine format (pipeline/quarantine.py): ``pprl run`` and ``pprl pseudonymise`` list
the same problems of the same file the same way, and no delivered name starts with "_"."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.audit import AuditLog
from pipeline.config import load_config
from pipeline.pseudonymise_file import ColumnSpec, PseudonymiseOptions, pseudonymise_file
from pipeline.quarantine import SCHEMA, without_leading_underscores
from pipeline.runner import run_pipeline
from pipeline.stages.services import open_pseudonymiser
from tests.pipeline.runner_support import (
    HEADER,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

BAD = {2: "4000000005", 5: "40000x"}  # data row -> an NHS number failing its check


def test_run_and_pseudonymise_quarantine_a_file_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = people_rows(0, 6)
    for row, value in BAD.items():
        rows[row - 1][0] = value
    source = tmp_path / "in/hospital/a.csv"
    write_csv(source, HEADER, rows)
    config = load_config(write_config(tmp_path, make_keystore(tmp_path, monkeypatch)))
    summary = run_pipeline(config)
    assert summary.delivery_dir is not None
    from_run = pl.read_parquet(summary.delivery_dir / "quarantine.parquet")

    options = PseudonymiseOptions(source, tmp_path / "a.parquet", [ColumnSpec("nhs_no", "nhs")])
    result = pseudonymise_file(
        options, lambda: open_pseudonymiser(config), AuditLog(tmp_path / "audit.jsonl")
    )
    from_file = pl.read_parquet(result.quarantine)

    assert from_run.schema == from_file.schema == SCHEMA
    problems = ["row", "stage", "column", "reason"]
    assert from_run.select(problems).rows() == from_file.select(problems).rows()
    assert from_file.select("row", "reason").rows() == [
        (2, "nhs:bad_check_digit"),
        (5, "nhs:bad_format"),
    ]
    assert from_run["source_dataset"].to_list() == ["hospital"] * 2


def test_delivered_names_lose_their_leading_underscores() -> None:
    frame = pl.DataFrame({"_source": ["a"], "_extra": [1], "person_id": ["p"]})
    assert without_leading_underscores(frame).columns == ["source_dataset", "extra", "person_id"]
    clash = pl.DataFrame({"_source": ["a"], "source_dataset": ["b"]})
    with pytest.raises(ValueError, match="source_dataset"):
        without_leading_underscores(clash)
