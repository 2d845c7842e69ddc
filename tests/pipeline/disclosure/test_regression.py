"""Regression outputs: ACRO's residual degrees of freedom rule, from the library and the CLI."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.disclosure import (
    ModelOutputError,
    TableCheckSettings,
    check_models,
    load_models,
    report_dict,
    report_html,
)
from pipeline.errors import EXIT_CONFIG, EXIT_DATA


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-output", *args])
    return result.exit_code, result.output


def _report(out: Path) -> Any:
    return json.loads((out / "disclosure.json").read_text())


# ACRO 1.0 (sdcchecks.py, SDCChecks.check_model_dof; default.yaml safe_dof_threshold: 10):
# fail when the residual degrees of freedom are below the threshold.
@pytest.mark.parametrize(
    "dof,threshold,status",
    [(0, 10, "fail"), (9, 10, "fail"), (10, 10, "pass"), (4127, 10, "pass"), (4, 5, "fail"),
     (5, 5, "pass"), (0, 0, "pass")],
)  # fmt: skip
def test_residual_dof_rule(dof: int, threshold: int, status: str) -> None:
    (check,) = check_models({"m": dof}, TableCheckSettings(dof_threshold=threshold))
    assert (check.name, check.residual_dof, check.threshold, check.status) == (
        "m", dof, threshold, status,
    )  # fmt: skip
    assert bool(check.reasons) is (status == "fail")


@pytest.mark.parametrize("threshold", [10, 5, 0])
def test_residual_dof_rule_agrees_with_acro(threshold: int) -> None:
    import acro  # test dependency (pyproject [test])
    import yaml
    from acro.sdcchecks import SDCChecks, SDCEvidence

    defaults = yaml.safe_load((Path(acro.__file__).parent / "default.yaml").read_text())
    theirs = SDCChecks({**defaults, "safe_dof_threshold": threshold})
    dofs = {f"m{d}": d for d in [0, 1, 4, 5, 9, 10, 11, 250]}
    ours = check_models(dofs, TableCheckSettings(dof_threshold=threshold))
    for check in ours:
        status, _, _ = theirs.check_model_dof(check.name, SDCEvidence(dof=check.residual_dof), None)
        assert check.status == status, check


def test_bad_model_entries_are_all_reported_and_the_error_pickles() -> None:
    with pytest.raises(ModelOutputError) as caught:
        check_models({"a": -1, " ": 3, "b": 2.5, "c": True})  # type: ignore[dict-item]
    text = str(caught.value)
    assert text.startswith("4 problems") and "model 'a'" in text and "empty" in text
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is ModelOutputError and str(again) == text
    assert again.exit_code == EXIT_CONFIG


def test_models_file(tmp_path: Path) -> None:
    path = tmp_path / "models.csv"
    path.write_text("model,residual_dof,note\nlogit,412,x\n ols ,8,\n")
    assert load_models(path) == {"logit": 412, "ols": 8}
    bad = tmp_path / "bad.csv"
    bad.write_text("model,residual_dof\nlogit,77713\nlogit,-55521\n,9.5\nprobit,\n")
    with pytest.raises(ModelOutputError) as caught:
        load_models(bad)
    text = str(caught.value)
    assert text.startswith("bad.csv: 4 problems")
    assert "model: empty in row 3" in text and "model: name repeated in rows 1, 2" in text
    assert "residual_dof: not a whole number in rows 3, 4" in text
    assert "residual_dof: negative in row 2" in text
    assert "77713" not in text and "55521" not in text and "9.5" not in text
    (tmp_path / "cols.csv").write_text("name,dof\na,3\n")
    with pytest.raises(ModelOutputError, match=r"missing column\(s\) \['model', 'residual_dof'\]"):
        load_models(tmp_path / "cols.csv")
    with pytest.raises(ModelOutputError, match=r"use a \.csv"):
        load_models(tmp_path / "models.json")


def test_models_only_pass_and_write_reports_but_no_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _run(["--residual-dof", "logit=412", "--residual-dof", "10", "--out", str(out)])
    assert code == 0, output
    assert "2 models, 0 below 10" in output
    assert sorted(p.name for p in out.iterdir()) == ["disclosure.html", "disclosure.json"]
    report = _report(out)
    assert report["verdict"] == "pass" and report["safe"] is True and report["table"] is None
    assert report["models"] == [
        {"model": "logit", "residual_dof": 412, "status": "pass", "reasons": []},
        {"model": "model 2", "residual_dof": 10, "status": "pass", "reasons": []},
    ]
    assert report["summary"] == {"models": 2, "models_failed": 0}
    page = (out / "disclosure.html").read_text()
    assert "<h2>Models</h2>" in page and "<td>logit</td><td>412</td>" in page


def test_a_failing_model_exits_three(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--residual-dof", "logit=412", "--residual-dof", "ols=8", "--out", str(out)]
    code, output = _run(args)
    assert code == EXIT_DATA
    assert "regression outputs not safe to release" in output
    report = _report(out)
    assert report["verdict"] == "fail" and report["safe"] is False
    failing = [m for m in report["models"] if m["status"] == "fail"]
    assert failing == [{"model": "ols", "residual_dof": 8, "status": "fail",
                        "reasons": ["residual degrees of freedom below 10"]}]  # fmt: skip
    assert '<tr class="fail"><td>ols</td><td>8</td>' in (out / "disclosure.html").read_text()
    code, output = _run([*args, "--dof-threshold", "8"])
    assert code == 0, output


def test_models_with_a_table(tmp_path: Path) -> None:
    data = tmp_path / "cohort.csv"
    pl.DataFrame({"region": ["N"] * 30 + ["S"] * 25 + ["E"] * 22}).write_csv(data)
    models = tmp_path / "models.csv"
    models.write_text("model,residual_dof\nmain,74\nsubgroup,6\n")
    out = tmp_path / "out"
    base = ["--data", str(data), "--by", "region", "--out", str(out)]
    code, output = _run([*base, "--residual-dof", "extra=60"])
    assert code == 0 and "4 cells" in output and "1 model," in output
    code, output = _run([*base, "--models", str(models)])
    assert code == EXIT_DATA and "regression outputs not safe" in output
    assert "table and" not in output  # the table itself is safe
    assert (out / "table.parquet").exists()  # the table is still written and reported
    report = _report(out)
    assert report["verdict"] == "fail" and report["summary"]["cells"] == 4
    assert [m["model"] for m in report["models"]] == ["main", "subgroup"]
    assert report["source"] == "cohort.csv"


def test_unsafe_table_and_failing_model_both_named(tmp_path: Path) -> None:
    data = tmp_path / "cohort.csv"
    pl.DataFrame({"region": ["N"] * 30 + ["S"] * 3}).write_csv(data)
    code, output = _run(["--data", str(data), "--by", "region", "--no-secondary",
                         "--residual-dof", "2", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == EXIT_DATA and "table and regression outputs not safe" in output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--residual-dof", "ols=-3"], "--residual-dof 'ols=-3': give N or NAME=N"),
        (["--residual-dof", "=3"], "--residual-dof '=3'"),
        (["--residual-dof", "a=1", "--residual-dof", "a=2"], "model 'a' is given more than once"),
        (["--residual-dof", "1", "--by", "region"], "--by needs --data or --table"),
        (["--residual-dof", "1", "--dof-threshold", "-1"], "dof_threshold"),
    ],
)
def test_bad_model_options_exit_two(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = _run([*args, "--out", str(tmp_path / "o")])
    assert code == EXIT_CONFIG and message in output
    assert not (tmp_path / "o").exists()


def test_bad_models_file_exits_two(tmp_path: Path) -> None:
    bad = tmp_path / "models.csv"
    bad.write_text("model,residual_dof\nm,seven\n")
    code, output = _run(["--models", str(bad), "--out", str(tmp_path / "o")])
    assert code == EXIT_CONFIG
    assert "models.csv: residual_dof: not a whole number in row 1" in output
    assert "seven" not in output


def test_report_needs_something_to_report() -> None:
    with pytest.raises(ValueError, match="nothing to report"):
        report_dict()
    page = report_html(report_dict(models=check_models({"<b>m</b>": 3})))
    assert "<b>m</b>" not in page and "&lt;b&gt;m&lt;/b&gt;" in page
