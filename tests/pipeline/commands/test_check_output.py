"""``pprl check-output`` driven in-process against temporary folders."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli

NHS = [f"94{i:08d}" for i in range(80)]


@pytest.fixture
def microdata(tmp_path: Path) -> Path:
    regions = ["North"] * 30 + ["South"] * 25 + ["East"] * 22 + ["Isles"] * 3
    df = pl.DataFrame(
        {
            "nhs_number": NHS,
            "region": regions,
            "sex": ["F", "M"] * 40,
            "income": [1000.0 + 37 * i for i in range(80)],
        }
    )
    path = tmp_path / "cohort.csv"
    df.write_csv(path)
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-output", *args])
    return result.exit_code, result.output


def test_safe_table_exits_zero_and_writes_every_output(microdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _run(
        ["--data", str(microdata), "--by", "region", "--round", "5", "--out", str(out)]
    )
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "disclosure.html", "disclosure.json", "table.csv", "table.parquet",
    ]  # fmt: skip
    csv = pl.read_csv(out / "table.csv")
    assert csv.equals(pl.read_parquet(out / "table.parquet"))
    published = dict(zip(csv["region"], csv["count"], strict=True))
    # Isles (3) fails the threshold; East (22, the smallest other) is suppressed so the
    # published total cannot give Isles back; the rest are rounded to base 5.
    assert published == {"East": None, "Isles": None, "North": 30, "South": 25, "Total": 80}
    report = json.loads((out / "disclosure.json").read_text())
    assert report["verdict"] == "pass" and report["safe"] is True
    assert report["summary"]["primary_suppressions"] == 1
    assert report["summary"]["secondary_suppressions"] == 1
    # No identifier and no withheld count anywhere in the outputs.
    for name in ("table.csv", "disclosure.json", "disclosure.html"):
        text = (out / name).read_text()
        assert not any(n in text for n in NHS)
    isles = next(c for c in report["cells"] if c["cell"]["region"] == "Isles")
    assert isles["published"] is None
    assert set(isles) == {"cell", "status", "reasons", "suppression", "published"}
    assert not list(out.glob(".tmp-*"))


def test_unrecoverable_table_exits_three(microdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "naive"
    code, output = _run(
        ["--data", str(microdata), "--by", "region", "--no-secondary", "--out", str(out)]
    )
    assert code == 3
    assert "not safe to release" in output
    report = json.loads((out / "disclosure.json").read_text())
    assert report["verdict"] == "fail"
    exposed = [a for a in report["audit"] if a["exposed"]]
    assert exposed and exposed[0]["lower"] is None  # bounds of an exposed cell are not printed


def test_sum_table_and_bad_statistic(microdata: Path, tmp_path: Path) -> None:
    code, output = _run(
        ["--data", str(microdata), "--by", "region", "--by", "sex", "--stat", "sum:income",
         "--out", str(tmp_path / "sums")]
    )  # fmt: skip
    assert code == 0, output
    table = pl.read_parquet(tmp_path / "sums" / "table.parquet")
    assert {"region", "sex", "n", "sum_income", "suppression"} == set(table.columns)
    code, output = _run(
        [
            "--data",
            str(microdata),
            "--by",
            "region",
            "--stat",
            "mode:income",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2 and "unknown statistic" in output


def test_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["check-output", "--help"])
    assert result.exit_code == 0
    tail = result.output.strip().split("Options:")[0].strip()
    assert "Example:" in tail and tail.rstrip().endswith("--out checked/")


def test_identifier_like_grouping_is_refused(microdata: Path, tmp_path: Path) -> None:
    code, output = _run(
        ["--data", str(microdata), "--by", "nhs_number", "--out", str(tmp_path / "ids")]
    )
    assert code == 2 and "looks like an identifier" in output
    assert not any(n in output for n in NHS)
    assert not (tmp_path / "ids").exists()
