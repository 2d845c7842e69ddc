"""Earlier deliveries read back from the delivery folder: which ones, which columns, and
failing closed when a listed extract is missing or changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.config import PipelineConfig, parse_config
from pipeline.errors import DataError
from pipeline.stages.earlier import earlier_extracts
from pseudonym.digests import file_sha256

RECIPIENT = {
    "reference": "DSA-1",
    "approved_recipients": ["tre-a", "tre-b"],
    "expires": "2099-01-01",
}


def config(tmp_path: Path, recipient: str | None = "tre-a") -> PipelineConfig:
    doc: dict[str, Any] = {
        "project": "p",
        "environment": "e",
        "sources": [{"name": "a", "path": "a.csv", "columns": {"n": "surname", "x": "attribute"}}],
        "keystore": {"path": "k"},
        "delivery": {"path": "out"},
        "approved_attributes": ["x"],
    }
    if recipient:
        doc["approvals"] = {**RECIPIENT, "recipient": recipient}
    return parse_config(doc, base_dir=tmp_path)


def deliver(tmp_path: Path, run: str, *, recipient: str | None = "tre-a", **header: Any) -> Path:
    """A delivery folder as the pipeline writes it: two extracts, a quarantine, a manifest."""
    folder = tmp_path / "out" / run
    folder.mkdir(parents=True)
    frames = {
        "a.parquet": pl.DataFrame(
            {"_source": ["a"] * 2, "person_id": ["P1", "P2"], "pid_nhs": ["N1", None],
             "x": ["u", "v"], "age_band": ["0-9", None], "income": [1, 2]}
        ),
        "b.parquet": pl.DataFrame({"_source": ["b"], "x": ["w"]}),  # no key: joins nothing
        "quarantine.parquet": pl.DataFrame({"_row": [3]}),
    }  # fmt: skip
    outputs = {}
    for name, frame in frames.items():
        frame.write_parquet(folder / name)
        outputs[name] = {"sha256": file_sha256(folder / name), "rows": frame.height}
    manifest = {
        "format": "pprl-manifest/1",
        "kind": "pipeline-run",
        "run_id": run,
        "project": "p",
        "environment": "e",
        "sources": {"a": {}, "b": {}},
        "outputs": outputs,
        **({"approvals": {"recipient": recipient}} if recipient else {}),
        **header,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_same_recipients_extracts_with_keys_and_quasi_identifiers_only(
    tmp_path: Path,
) -> None:
    deliver(tmp_path, "run-1")
    deliver(tmp_path, "run-2", recipient="tre-b")
    deliver(tmp_path, "run-3", project="other")
    deliver(tmp_path, "run-4", environment="other")
    deliver(tmp_path, "run-5", kind="pprl-check-output")
    deliver(tmp_path, "run-6")
    found = earlier_extracts(config(tmp_path), ["age_band", "x"], exclude="run-6")
    assert list(found) == ["run-1/a.parquet"]
    assert found["run-1/a.parquet"].columns == ["person_id", "pid_nhs", "age_band", "x"]
    assert earlier_extracts(config(tmp_path, recipient="tre-b"), ["x"]).keys() == {
        "run-2/a.parquet"
    }


def test_no_approvals_on_either_side_is_the_same_recipient(tmp_path: Path) -> None:
    deliver(tmp_path, "run-1", recipient=None)
    deliver(tmp_path, "run-2")
    assert list(earlier_extracts(config(tmp_path, recipient=None), [])) == ["run-1/a.parquet"]
    assert earlier_extracts(config(tmp_path / "nowhere"), []) == {}


def test_a_missing_or_changed_extract_fails_closed(tmp_path: Path) -> None:
    folder = deliver(tmp_path, "run-1")
    pl.DataFrame({"person_id": ["P9"]}).write_parquet(folder / "a.parquet")
    with pytest.raises(DataError, match=r"run-1/a\.parquet: .* differs from its manifest"):
        earlier_extracts(config(tmp_path), [])
    (folder / "a.parquet").unlink()
    with pytest.raises(DataError, match=r"run-1/a\.parquet: .* is missing"):
        earlier_extracts(config(tmp_path), [])
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match=r"run-1/manifest\.json: unreadable manifest"):
        earlier_extracts(config(tmp_path), [])
