"""Scheduler-friendly ``pprl run``: ``--dry-run`` counts and stops, ``--json`` (or ``--log-format
json``) prints one result object, the summary names the review file, and the delivery folder
keeps an index of its runs with the latest named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.pipeline.runner_support import demo_config, demo_workspace

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = demo_workspace(tmp_path, monkeypatch)
    return demo_config(root, root / "keys", "research")


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def test_dry_run_counts_files_and_rows_and_writes_nothing(config: Path) -> None:
    code, out = _invoke("run", str(config), "--dry-run", "--json")
    assert code == 0, out
    plan = json.loads(out)
    assert plan["status"] == "dry_run" and plan["files_to_process"] == plan["files_seen"] == 3
    # 25 + 20 hospital episodes and 40 GP records in configs/demo-data, headers not counted
    assert [f["rows"] for f in plan["files"]] == [25, 20, 40] and plan["rows_to_process"] == 85
    assert not (config.parent / "out-research").exists()
    assert not (config.parent / "work-research").exists()
    code, text = _invoke("run", str(config), "--dry-run")
    assert code == 0 and text.startswith("dry run: 3 of 3 input file(s) to process, 85 row(s)")


def test_dry_run_reports_what_validate_would(config: Path, tmp_path: Path) -> None:
    (tmp_path / "demo-data/gp/register.csv").unlink()
    (tmp_path / "demo-data/hospital/episodes-2026-11.csv").write_text("nhs_number\n1\n")
    result = CliRunner().invoke(cli, ["run", str(config), "--dry-run"])
    assert result.exit_code == 2
    assert "columns.forename: not in the header of episodes-2026-11.csv" in result.output


def test_json_result_names_the_delivery_report_and_review_file(config: Path) -> None:
    code, out = _invoke("run", str(config), "--json")
    assert code == 0
    result = json.loads(out)  # the whole of stdout is one JSON object
    delivery = Path(result["delivery"])
    assert result["status"] == "delivered" and delivery.name == result["run_id"]
    assert Path(result["manifest"]).is_file() and Path(result["report"]).is_file()
    review = Path(result["review_file"])
    assert review.is_file() and review.parent.name == "review"
    assert result["review_pairs"] == len(review.read_text().splitlines()) - 1
    assert result["totals"]["input_rows"] == 85
    # nothing new: still one JSON object, under the global --log-format json too
    code, out = _invoke("--log-format", "json", "run", str(config))
    assert code == 0 and json.loads(out) == {"status": "up_to_date"}
    # a later --dry-run sees the delivered files
    code, out = _invoke("run", str(config), "--dry-run", "--json")
    assert json.loads(out)["files_to_process"] == 0


def test_text_summary_says_where_the_review_file_is(config: Path) -> None:
    code, out = _invoke("run", str(config))
    assert code == 0
    review = next((config.parent / "work-research/review").glob("run-*.csv"))
    assert f"pair(s) in {review}" in out and "pprl review CONFIG" in out


def test_the_delivery_index_names_every_run_and_the_latest(config: Path, tmp_path: Path) -> None:
    _invoke("run", str(config))
    extra = tmp_path / "demo-data/hospital/episodes-2026-12.csv"
    first = (tmp_path / "demo-data/hospital/episodes-2026-11.csv").read_text().splitlines()
    extra.write_text("\n".join(first[:4]) + "\n")
    code, out = _invoke("run", str(config), "--json")
    assert code == 0
    latest = json.loads(out)["run_id"]
    index = json.loads((config.parent / "out-research/index.json").read_text())
    assert index["format"] == "pprl-delivery-index/1"
    assert index["latest"]["run_id"] == latest and len(index["runs"]) == 2
    assert index["runs"][-1]["run_id"] == latest
    for run in index["runs"]:
        assert (config.parent / "out-research" / run["manifest"]).is_file()
        assert "quarantine.parquet" in run["outputs"]


def test_validate_json_lists_every_problem_and_exits_2(config: Path, tmp_path: Path) -> None:
    code, out = _invoke("validate", str(config), "--json")
    assert code == 0 and json.loads(out) == {"valid": True, "config": str(config), "problems": []}
    (tmp_path / "demo-data/hospital/episodes-2026-11.csv").write_text("nhs_number\n1\n")
    code, out = _invoke("validate", str(config), "--json")
    assert code == 2
    result = json.loads(out)
    assert result["valid"] is False and len(result["problems"]) == 6  # six missing columns
    assert all("not in the header of episodes-2026-11.csv" in p for p in result["problems"])


def test_audit_list_json_is_the_entries(config: Path) -> None:
    _invoke("run", str(config))
    code, out = _invoke("audit", "list", str(config), "--json")
    assert code == 0
    entries = json.loads(out)
    assert [e["action"] for e in entries] == ["pipeline.run"]
    assert entries[0]["details"]["totals"]["input_rows"] == 85


def test_an_error_under_json_is_a_json_object_on_stderr(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "missing.yaml"), "--json"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    error = json.loads(line)
    assert error["exit_code"] == 2 and "config file not found" in error["message"]
    assert result.stdout == ""
