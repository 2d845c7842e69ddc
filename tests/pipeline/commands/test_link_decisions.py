"""``pprl link --decisions``: curators' decisions change the matches and clusters, are counted in
the manifest, evaluation and audit log, round-trip through the review page, and bad decision
files are refused naming the file and rows, never a value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.cli import cli
from pipeline.review.session import ReviewSession
from pseudonym.digests import file_sha256

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

DEMO = Path(__file__).resolve().parents[3] / "configs" / "linkage" / "link-demo.yaml"


def invoke(*args: str, config: Path = DEMO) -> Result:
    return CliRunner().invoke(cli, ["link", str(config), *args])


def many_to_many(folder: Path) -> Path:
    """The demo job without one-to-one matching, so that a decision changes no other pair
    (how decisions and one-to-one meet is tested in tests/pipeline/linkjob/test_clerical.py)."""
    raw = yaml.safe_load(DEMO.read_text())
    raw["inputs"] = [{**i, "path": str(DEMO.parent / i["path"])} for i in raw["inputs"]]
    raw["truth"]["path"] = str(DEMO.parent / raw["truth"]["path"])
    raw["thresholds"]["one_to_one"] = False
    path = folder / "many-to-many.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def write_decisions(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    pl.DataFrame(rows, schema=["key", "candidate", "decision"], orient="row").write_csv(path)
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo job without decisions: its review band, matches and clusters."""
    folder = tmp_path_factory.mktemp("base")
    config, out = many_to_many(folder), folder / "out"
    result = invoke("--output", str(out), "--review-records", config=config)
    assert result.exit_code == 0, result.output
    cluster_of = _cluster_of(out)
    sizes = pl.DataFrame({"cluster": list(cluster_of.values())}).group_by("cluster").len()
    pairs = pl.read_parquet(out / "pairs.parquet").sort("id_l", "id_r")
    matched = pairs.filter(pl.col("decision") == "match").with_columns(
        pl.col("id_l").replace_strict(cluster_of).alias("cluster")
    )
    return {
        "config": config,
        "out": out,
        "review": pl.read_csv(out / "review.csv", infer_schema=False),
        # a matched pair that alone holds its two records together
        "lone_match": matched.join(
            sizes.filter(pl.col("len") == 2), on="cluster", maintain_order="left"
        ).row(0, named=True),
        "manifest": json.loads((out / "link-manifest.json").read_text()),
    }


def _cluster_of(out: Path) -> dict[str, str]:
    clusters = pl.read_parquet(out / "clusters.parquet")
    return dict(zip(clusters["id"], clusters["cluster_id"], strict=True))


def test_decisions_change_the_matches_and_clusters(base: dict[str, Any], tmp_path: Path) -> None:
    grey = base["review"].row(0, named=True)
    lone = base["lone_match"]
    assert _cluster_of(base["out"])[grey["key"]] != _cluster_of(base["out"])[grey["candidate"]]
    file = write_decisions(
        tmp_path / "decisions.csv",
        [
            (grey["key"], grey["candidate"], "match"),
            (lone["id_l"], lone["id_r"], "non-match"),
            ("L00000001", "R99999999", "match"),  # no such pair in this job
        ],
    )
    out = tmp_path / "out"
    result = invoke("--output", str(out), "--decisions", str(file), config=base["config"])
    assert result.exit_code == 0, result.output
    assert "; 2 clerical decision(s) applied (1 not among the candidate pairs, ignored)" in (
        result.output
    )
    assert "R99999999" not in result.output
    pairs = pl.read_parquet(out / "pairs.parquet")
    forced = pairs.filter((pl.col("id_l") == grey["key"]) & (pl.col("id_r") == grey["candidate"]))
    assert forced.select("decision", "clerical_decision").rows() == [("match", "match")]
    # the pair keeps the model's probability; the column says a curator made it a match
    assert forced["match_probability"][0] == pytest.approx(float(grey["match_probability"]))
    assert (
        pairs.filter((pl.col("id_l") == lone["id_l"]) & (pl.col("id_r") == lone["id_r"])).height
        == 0
    )
    cluster_of = _cluster_of(out)
    assert cluster_of[grey["key"]] == cluster_of[grey["candidate"]]
    assert cluster_of[lone["id_l"]] != cluster_of[lone["id_r"]]
    manifest = json.loads((out / "link-manifest.json").read_text())
    before = base["manifest"]["counts"]
    assert manifest["counts"]["matches"] == before["matches"]  # one more, one fewer
    assert manifest["counts"]["review"] == before["review"] - 1
    assert manifest["counts"]["clusters"] == before["clusters"]  # one joined, one split
    assert manifest["thresholds"]["one_to_one"] is False
    counts = {"read": 3, "match": 2, "non_match": 1, "applied": 2, "not_candidates": 1}
    assert manifest["clerical_decisions"] == counts
    assert json.loads((out / "evaluation.json").read_text())["clerical_decisions"] == counts
    assert manifest["inputs"]["decisions:decisions.csv"]["sha256"] == file_sha256(file)
    entry = AuditLog(out / "audit.jsonl").entries()[-1]
    assert entry["details"]["clerical_decisions"] == counts
    assert entry["inputs"]["decisions:decisions.csv"] == file_sha256(file)
    assert any("1 clerical decision(s) name a pair" in w for w in manifest["warnings"])
    # the review file lists the decided pairs with their decision, then the undecided band
    review = pl.read_csv(out / "review.csv", infer_schema=False)
    decided = review.filter(pl.col("decision").fill_null("") != "")
    assert sorted(decided.select("key", "candidate", "decision").rows()) == sorted(
        [(grey["key"], grey["candidate"], "match"), (lone["id_l"], lone["id_r"], "non-match")]
    )
    assert review.height - decided.height == manifest["counts"]["review"]


def test_decisions_made_on_the_review_page_carry_over_reruns(
    base: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert invoke("--output", str(out), "--review-records").exit_code == 0
    first = ReviewSession.open(out / "review.csv")
    first.decide(0, "match")
    first.decide(1, "non-match")
    decided_file = out / "decided" / "review.csv"
    assert first.decided_file == decided_file
    result = invoke("--output", str(out), "--review-records", "--decisions", str(decided_file))
    assert result.exit_code == 0, result.output
    assert "2 clerical decision(s) applied" in result.output
    # the rewritten review file opens with both decisions in place, and the third decision
    # saved beside it keeps them: the next run applies all three
    second = ReviewSession.open(out / "review.csv")
    assert sorted(second.states) == sorted(["match", "non-match", *[""] * (len(second.states) - 2)])
    undecided = second.states.index("")
    second.decide(undecided, "match")
    result = invoke("--output", str(out), "--decisions", str(decided_file))
    assert result.exit_code == 0, result.output
    assert "3 clerical decision(s) applied" in result.output
    pairs = pl.read_parquet(out / "pairs.parquet")
    assert pairs.filter(pl.col("clerical_decision") == "match").height == 2


def test_bad_decision_files_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "key,candidate,decision\nL00000111,R00000040,maybe\nL00000108,,match\n"
        "L00000020,R00000228,match\nL00000020,R00000228,non-match\n"
    )
    for args in (("--output", str(out)), ("--check",)):
        result = invoke(*args, "--decisions", str(bad))
        assert result.exit_code == 3, result.output
        assert "bad.csv: row 1: decision must be 'match' or 'non-match'" in result.output
        assert "row 2: key or candidate is empty" in result.output
        assert "row 3: conflicting decisions for the same pair" in result.output
        assert "L000" not in result.output and "maybe" not in result.output
    assert not out.exists()
    columns = tmp_path / "columns.csv"
    columns.write_text("id_l,id_r,decision\nL00000111,R00000040,match\n")
    result = invoke("--output", str(out), "--decisions", str(columns))
    assert result.exit_code == 3
    assert "columns.csv: missing column(s) key, candidate" in result.output
    result = invoke("--output", str(out), "--decisions", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2 and "does not exist" in result.output
    good = write_decisions(tmp_path / "good.csv", [("L00000111", "R00000040", "match")])
    result = invoke("--check", "--decisions", str(good))
    assert result.exit_code == 0 and "good.csv: OK (1 decision(s))" in result.output
    assert not out.exists()
