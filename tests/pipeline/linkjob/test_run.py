"""The link job as a library call (pipeline/linkjob/), no click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.errors import ConfigError, DataError
from pipeline.linkconfig import load_link_config
from pipeline.linkjob import LinkJobResult, check_link_job, run_link_job
from pipeline.linkjob.run import MANIFEST_FILE, OUTPUT_FILES

DEMO = Path(__file__).resolve().parents[3] / "configs" / "linkage" / "link-demo.yaml"


def test_a_job_runs_from_its_config_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_link_job(DEMO, output=out)
    assert isinstance(result, LinkJobResult) and result.output == out
    for name in (*OUTPUT_FILES, MANIFEST_FILE):
        assert (out / name).is_file(), name
    written = json.loads((out / MANIFEST_FILE).read_text())
    assert written["counts"] == result.manifest["counts"]
    counts, labelled = result.manifest["counts"], result.manifest["labelled"]
    assert counts["left_rows"] == counts["right_rows"] == 300
    assert result.summary_line() == (
        f"{counts['candidate_pairs']} candidate pairs, {counts['matches']} matches, "
        f"{counts['review']} for review, {counts['clusters']} clusters; precision "
        f"{labelled['precision']:.4f} recall {labelled['recall']:.4f} F1 {labelled['f1']:.4f}"
        f"; {len(result.manifest['warnings'])} warning(s)"
        + (" (see link-report.html)" if result.manifest["warnings"] else "")
    )


def test_a_parsed_config_is_checked_before_anything_is_read(tmp_path: Path) -> None:
    cfg = load_link_config(DEMO)
    assert check_link_job(cfg).mode == "link"
    missing = cfg.model_copy(
        update={"inputs": [cfg.inputs[0].model_copy(update={"path": "gone.csv"}), cfg.inputs[1]]}
    )
    with pytest.raises(ConfigError, match=r"inputs\[0\]\.path: cannot read csv file 'gone\.csv'"):
        run_link_job(missing, output=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_a_truth_file_without_its_columns_is_a_data_error(tmp_path: Path) -> None:
    cfg = load_link_config(DEMO)
    assert cfg.truth is not None
    wrong = cfg.model_copy(update={"truth": cfg.truth.model_copy(update={"left_column": "nope"})})
    with pytest.raises(DataError, match=r"^truth: truth\.csv: missing column\(s\) nope$"):
        run_link_job(wrong, output=tmp_path / "out")


def test_training_problems_reach_the_json_the_manifest_the_report_and_the_summary(
    tmp_path: Path,
) -> None:
    # blocking only on the one compared column: no training pass can estimate its m
    raw = yaml.safe_load(DEMO.read_text())
    raw["comparisons"] = [{"type": "exact", "column": "sex"}, {"type": "dob", "column": "dob"}]
    raw["blocking"] = [["dob"]]
    raw["inputs"] = [{**i, "path": str(DEMO.parent / i["path"])} for i in raw["inputs"]]
    raw["truth"]["path"] = str(DEMO.parent / raw["truth"]["path"])
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = run_link_job(config, output=tmp_path / "out")
    warnings = result.manifest["warnings"]
    assert any("m not estimated for dob" in w for w in warnings), warnings
    evaluation = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert evaluation["warnings"] == warnings
    assert json.loads((tmp_path / "out" / MANIFEST_FILE).read_text())["warnings"] == warnings
    report = (tmp_path / "out" / "link-report.html").read_text()
    assert "<h2>Warnings</h2>" in report and f"{len(warnings)} warning(s)" in report
    assert result.summary_line().endswith(f"; {len(warnings)} warning(s) (see link-report.html)")
