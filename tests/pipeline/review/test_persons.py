"""Clerical review in the batch pipeline (pipeline/review/persons.py): the review file a run writes
for curators, and their decisions fed back with ``pprl run --decisions``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import DataError
from pipeline.registry import read_registry
from pipeline.review import (
    DECISIONS_FILE,
    apply_decisions,
    load_decisions,
    review_rows,
    store_decisions,
)
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    demo_config,
    demo_workspace,
    make_keystore,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def _decisions(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["record_a", "record_b", "decision"], orient="row")


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    pl.DataFrame(rows, schema=["key", "candidate", "decision"], orient="row").write_csv(path)
    return path


def test_match_forces_a_link_and_non_match_removes_the_pair() -> None:
    pairs = pl.DataFrame(
        {"id_l": ["a", "c", "g"], "id_r": ["b", "d", "h"], "match_probability": [0.7, 0.95, 0.6]}
    )
    decisions = _decisions(
        [("a", "b", "match"), ("c", "d", "non_match"), ("e", "f", "match"), ("a", "zz", "match")]
    )
    records = pl.Series(["a", "b", "c", "d", "e", "f", "g", "h"])
    out = apply_decisions(pairs, decisions, records, left_uids=pl.Series(["a", "c", "f", "g"]))
    got = {(r["id_l"], r["id_r"]): r["match_probability"] for r in out.iter_rows(named=True)}
    # (e, f) is added oriented left -> right; (a, zz) names a record not being linked
    assert got == {("a", "b"): 1.0, ("g", "h"): 0.6, ("f", "e"): 1.0}


def test_decisions_are_unordered_pairs_and_the_last_one_wins(tmp_path: Path) -> None:
    store = tmp_path / DECISIONS_FILE
    first = _write(tmp_path / "one.csv", [("x|f|2", "y|f|3", "match"), ("x|f|4", "y|f|5", "")])
    second = _write(tmp_path / "two.csv", [("y|f|3", "x|f|2", "non-match")])
    assert store_decisions(store, [first]) == 1  # the blank decision is not one
    assert store_decisions(store, [second]) == 1
    stored = load_decisions(store)
    assert stored is not None and stored.rows() == [("x|f|2", "y|f|3", "non_match")]


def test_a_bad_decision_is_reported_by_row_without_its_value(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", [("x|f|2", "y|f|3", "match"), ("x|f|4", "y|f|5", "yes")])
    with pytest.raises(DataError, match="row 2: decision must be") as info:
        store_decisions(tmp_path / DECISIONS_FILE, [bad])
    assert "yes" not in str(info.value)
    assert not (tmp_path / DECISIONS_FILE).exists()


def test_review_rows_list_undecided_grey_band_pairs_of_the_batch_side_by_side() -> None:
    pairs = pl.DataFrame(
        {
            "_uid_l": ["h|1|2", "h|1|3", "h|0|9", "h|1|4"],
            "_uid_r": ["g|1|2", "g|1|3", "g|0|8", "g|1|4"],
            "match_probability": [0.7, 0.95, 0.6, 0.55],
        }
    )
    records = pl.DataFrame(
        {
            "_uid": ["h|1|2", "h|1|3", "h|0|9", "h|1|4", "g|1|2", "g|1|3", "g|0|8", "g|1|4"],
            "_source": ["h"] * 4 + ["g"] * 4,
            "surname": ["ash", "birch", "cedar", "dale", "ashe", "birch", "ceder", "dahl"],
        }
    )
    rows = review_rows(
        pairs,
        records,
        pl.Series(["h|1|2", "h|1|3", "h|1|4"]),
        review=0.5,
        match=0.9,
        decisions=_decisions([("g|1|4", "h|1|4", "non_match")]),
    )
    # 0.95 is a match, h|0|9 is from an earlier run, (h|1|4, g|1|4) is decided
    assert rows.columns == [
        "key",
        "candidate",
        "match_probability",
        "_source_l",
        "_source_r",
        "surname_l",
        "surname_r",
        "decision",
    ]
    assert rows.rows() == [("h|1|2", "g|1|2", 0.7, "h", "g", "ash", "ashe", "")]


# --- end to end ---------------------------------------------------------------------------------


def _generated_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``pprl demo``'s generated sources (1,000 GP records, messier than configs/demo-data)
    and its config, with our keystore; returns the config path."""
    from pipeline.commands.demo import demo_config as generated_config
    from synthetic import write_demo_sources

    write_demo_sources(root / "inputs", n=1000, seed=5)
    doc = generated_config("inputs", "keys", "out")
    doc["environment"] = ENVIRONMENT
    doc["keystore"] = {"path": "keys"}
    doc["delivery"] = {"path": "out", "work_dir": "work"}
    doc["disclosure"]["quasi_identifiers"] = []
    doc["linkage"]["thresholds"] = {"match": 0.9, "review": 0.1}  # a wide grey band
    make_keystore(root, monkeypatch)
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_writes_review_file_outside_delivery_and_applies_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _generated_workspace(tmp_path, monkeypatch)
    root = tmp_path
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    work, out = root / "work", root / "out"
    reviews = sorted((work / "review").glob("run-*.csv"))
    assert len(reviews) == 1 and not list(out.rglob("*.csv"))
    review = pl.read_csv(reviews[0], infer_schema=False)
    first_run = next(out.glob("run-*"))
    manifest = json.loads((first_run / "manifest.json").read_text())
    assert review.height == manifest["linkage"]["pairs_for_review"] > 0
    assert {"surname_l", "surname_r", "id_nhs_l", "id_nhs_r"} <= set(review.columns)
    # why each pair scored as it did: a level and a weight per comparison
    assert {"level_surname", "weight_surname", "level_date_of_birth"} <= set(review.columns)
    assert review["level_surname"].null_count() == 0
    assert all(f.suffix != ".csv" for f in out.rglob("*"))  # the review file is not delivered

    entities = read_registry(work)
    assert entities is not None
    entity = dict(zip(entities["_uid"], entities["_entity"], strict=True))
    top = review.row(0, named=True)
    assert entity[top["key"]] != entity[top["candidate"]]  # not linked by the model
    edited = review.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("match"))
        .otherwise(pl.lit(""))
        .alias("decision")
    )
    decisions = tmp_path / "decided.csv"
    edited.write_csv(decisions)

    result = CliRunner().invoke(cli, ["run", str(config), "--all", "--decisions", str(decisions)])
    assert result.exit_code == 0, result.output
    entities = read_registry(work)
    assert entities is not None
    entity = dict(zip(entities["_uid"], entities["_entity"], strict=True))
    assert entity[top["key"]] == entity[top["candidate"]]  # the curator's match holds
    second_run = next(p for p in out.glob("run-*") if p != first_run)
    second = json.loads((second_run / "manifest.json").read_text())
    assert second["totals"]["linked"] >= manifest["totals"]["linked"] + 1
    later = pl.read_csv(work / "review" / f"{second_run.name}.csv", infer_schema=False)
    assert (top["key"], top["candidate"]) not in set(later.select("key", "candidate").rows())
    assert load_decisions(work / DECISIONS_FILE) is not None


def test_decisions_need_linkage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = demo_workspace(tmp_path, monkeypatch)
    config = demo_config(root, root / "keys", ENVIRONMENT)
    doc = yaml.safe_load(config.read_text())
    doc["linkage"] = {"mode": "none"}
    config.write_text(yaml.safe_dump(doc))
    decisions = _write(tmp_path / "d.csv", [("a|f|2", "b|f|2", "match")])
    result = CliRunner().invoke(cli, ["run", str(config), "--decisions", str(decisions)])
    assert result.exit_code == 2
    assert "linkage.mode is none" in result.output
    assert not (root / f"work-{ENVIRONMENT}" / DECISIONS_FILE).exists()
