"""``pprl link``: the shipped demo job, outputs and their privacy, dedupe, model reuse, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from click.testing import CliRunner, Result

from pipeline.audit import AuditLog
from pipeline.cli import cli
from pseudonym.digests import file_sha256
from synthetic.persons import generate_person_pair

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "configs" / "linkage" / "link-demo.yaml"
DEMO_DATA = REPO / "configs" / "link-data"
OUTPUTS = [
    "pairs.parquet",
    "clusters.parquet",
    "review.csv",
    "model.json",
    "evaluation.json",
    "link-report.html",
    "link-manifest.json",
    "audit.jsonl",
]
PERSON = ["record_id", "first_name", "surname", "dob", "sex", "postcode", "street", "house_number"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def identifying_values(*frames: pl.DataFrame) -> set[str]:
    """Names, dates of birth, postcodes and streets of the inputs (4+ characters)."""
    values: set[str] = set()
    for frame in frames:
        for column in ("first_name", "surname", "dob", "date_of_birth", "postcode", "street"):
            if column in frame.columns:
                values |= {v for v in frame[column].drop_nulls().to_list() if len(v) >= 4}
    return values


def output_text(out: Path) -> str:
    """Every output as text; Parquet files read back and written as CSV."""
    parts = []
    for path in sorted(out.iterdir()):
        if path.suffix == ".parquet":
            parts.append(pl.read_parquet(path).write_csv())
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = invoke("link", str(DEMO), "--output", str(out))
    return {"result": result, "out": out}


def test_demo_config_checks_and_runs(demo_run: dict[str, Any]) -> None:
    check = invoke("link", str(DEMO), "--check")
    assert check.exit_code == 0 and "OK" in check.output
    result, out = demo_run["result"], demo_run["out"]
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    evaluation = json.loads((out / "evaluation.json").read_text())
    truth = pl.read_csv(DEMO_DATA / "truth.csv")
    assert evaluation["labelled"]["true_links"] == truth.height
    assert evaluation["labelled"]["f1"] >= 0.95
    assert f"F1 {evaluation['labelled']['f1']:.4f}" in result.output


def test_demo_outputs_are_consistent(demo_run: dict[str, Any]) -> None:
    out = demo_run["out"]
    pairs = pl.read_parquet(out / "pairs.parquet")
    evaluation = json.loads((out / "evaluation.json").read_text())
    th = evaluation["thresholds"]
    assert set(pairs.columns) >= {
        "id_l",
        "id_r",
        "match_weight",
        "match_probability",
        "decision",
        "gamma_surname",
    }
    assert not [c for c in pairs.columns if c.startswith("tf_")]
    assert pairs["match_probability"].min() >= th["review"]
    matched = pairs.filter(pl.col("decision") == "match")
    assert matched["match_probability"].min() >= th["match"]
    # one_to_one: no id appears twice on either side
    assert pairs["id_l"].n_unique() == pairs.height == pairs["id_r"].n_unique()
    # every input record has a cluster; matched pairs share theirs
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert clusters.height == 600
    cid = dict(zip(clusters["id"].to_list(), clusters["cluster_id"].to_list(), strict=True))
    assert all(cid[a] == cid[b] for a, b in matched.select("id_l", "id_r").iter_rows())
    # review rows: ids, weights and per-comparison contributions that add up to the weight
    review = pl.read_csv(out / "review.csv")
    assert review.height == evaluation["decisions"]["review"] > 0
    model = json.loads((out / "model.json").read_text())
    lam = model["parameters"]["probability_two_random_records_match"]
    prior = float(pl.Series([lam / (1 - lam)]).log(2)[0])
    assert "weight_surname term frequency" in review.columns
    weights = review.select(pl.sum_horizontal(pl.selectors.starts_with("weight_")))
    for got, want in zip(weights.to_series() + prior, review["match_weight"], strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    # manifest checksums and the audit entry match the files
    manifest = json.loads((out / "link-manifest.json").read_text())
    for name, entry in manifest["outputs"].items():
        assert entry["sha256"] == file_sha256(out / name)
    assert manifest["inputs"]["left:left.csv"]["sha256"] == file_sha256(DEMO_DATA / "left.csv")
    log = AuditLog(out / "audit.jsonl")
    assert log.verify().entries == 1
    assert log.entries()[0]["outputs"]["pairs.parquet"] == file_sha256(out / "pairs.parquet")
    report = (out / "link-report.html").read_text()
    assert "<svg" in report and "Threshold sweep" in report and "<script" not in report


def test_no_identifying_value_in_outputs_or_messages(demo_run: dict[str, Any]) -> None:
    left = pl.read_csv(DEMO_DATA / "left.csv", infer_schema=False)
    right = pl.read_csv(DEMO_DATA / "right.csv", infer_schema=False)
    values = identifying_values(left, right)
    assert len(values) > 500
    text = output_text(demo_run["out"]) + demo_run["result"].output
    # column names in the config (e.g. "street") are not record values
    allowed = DEMO.read_text()
    leaked = sorted(v for v in values if v in text and v not in allowed)
    assert not leaked, leaked[:5]


def _dedupe_config(tmp_path: Path) -> dict[str, Any]:
    left, right, truth = generate_person_pair(400, 400, overlap=0.5, seed=7)
    people = pl.concat([left, right]).select(PERSON)
    people.write_parquet(tmp_path / "people.parquet")
    truth.write_csv(tmp_path / "truth.csv")
    return {
        "mode": "dedupe",
        "inputs": [{"path": "people.parquet", "id_column": "record_id"}],
        "standardise": {
            "names": ["first_name", "surname"],
            "dates": ["dob"],
            "postcodes": ["postcode"],
            "phonetic": ["surname"],
        },
        "comparisons": [
            {"type": "name", "column": "first_name", "term_frequency": True},
            {"type": "name", "column": "surname", "term_frequency": True},
            {"type": "dob", "column": "dob"},
            {"type": "postcode", "column": "postcode"},
            {"type": "exact", "column": "sex"},
        ],
        "blocking": [["dob"], ["surname_phonetic"], ["postcode"]],
        "training": {"u_max_pairs": 200_000, "seed": 1},
        "thresholds": {"match": "auto", "review": 0.2},
        "truth": {
            "path": "truth.csv",
            "left_column": "record_id_left",
            "right_column": "record_id_right",
        },
        "output": "out",
    }


def test_dedupe_generated_people(tmp_path: Path) -> None:
    config = write_config(tmp_path / "dedupe.yaml", _dedupe_config(tmp_path))
    result = invoke("link", str(config))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["labelled"]["true_links"] == 200
    assert evaluation["labelled"]["f1"] >= 0.9, evaluation["labelled"]
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert clusters.height == 800 and clusters.columns == ["id", "cluster_id"]
    # a cluster id is its smallest member: stable however the input is ordered
    smallest = clusters.group_by("cluster_id").agg(pl.col("id").min())
    assert (smallest["cluster_id"] == smallest["id"]).all()
    people = pl.read_parquet(tmp_path / "people.parquet")
    leaked = [v for v in identifying_values(people) if v in output_text(out)]
    assert not leaked


def test_saved_model_scores_a_new_batch_identically(tmp_path: Path) -> None:
    for name in ("left.csv", "right.csv"):
        shutil.copy(DEMO_DATA / name, tmp_path / name)
    raw = yaml.safe_load(DEMO.read_text())
    raw["inputs"][0]["path"], raw["inputs"][1]["path"] = "left.csv", "right.csv"
    for comparison in raw["comparisons"]:  # term frequencies depend on the batch: leave out
        comparison.pop("term_frequency", None)
    raw.pop("truth")
    raw["thresholds"] = {"match": 0.5, "review": 0.05}
    raw["save_model"] = "trained.json"
    raw["output"] = "first"
    write_config(tmp_path / "train.yaml", raw)
    assert invoke("link", str(tmp_path / "train.yaml")).exit_code == 0
    # a new batch: half of the right file, in another order
    right = pl.read_csv(tmp_path / "right.csv", infer_schema=False)
    right.slice(0, 150).reverse().write_csv(tmp_path / "batch.csv")
    # standardisation comes from the model when the scoring job gives none
    score = {key: raw[key] for key in ("mode", "inputs", "thresholds")}
    score["inputs"][1] = {**score["inputs"][1], "path": "batch.csv"}
    score |= {"model": "trained.json", "output": "second"}
    check = invoke("link", str(write_config(tmp_path / "score.yaml", score)), "--check")
    assert check.exit_code == 0, check.output
    clash = {**score, "standardise": {"names": ["surname"]}}
    check = invoke("link", str(write_config(tmp_path / "clash.yaml", clash)), "--check")
    assert check.exit_code == 2 and "differs from the model" in check.output
    result = invoke("link", str(write_config(tmp_path / "score.yaml", score)))
    assert result.exit_code == 0, result.output
    first = pl.read_parquet(tmp_path / "first" / "pairs.parquet")
    second = pl.read_parquet(tmp_path / "second" / "pairs.parquet")
    batch_ids = set(right.slice(0, 150)["rid"].to_list())
    expected = first.filter(pl.col("id_r").is_in(batch_ids))
    assert expected.height > 50
    joined = expected.join(second, on=["id_l", "id_r"], suffix="_new")
    assert joined.height == expected.height
    assert (joined["match_weight"] == joined["match_weight_new"]).all()
    assert (joined["gamma_dob"] == joined["gamma_dob_new"]).all()
    manifest = json.loads((tmp_path / "second" / "link-manifest.json").read_text())
    assert manifest["model"] == "loaded" and "model:trained.json" in manifest["inputs"]


def test_config_problems_are_listed_at_once(tmp_path: Path) -> None:
    bad = {
        "mode": "link",
        "inputs": [{"path": "a.csv", "id_column": "id"}],
        "comparisons": [
            {"type": "soundex", "column": "surname"},
            {"type": "jaro_winkler", "column": "town", "thresholds": [0.7, 0.9]},
            {"type": "exact", "column": "sex", "thresholds": [1]},
        ],
        "thresholds": {"match": 0.5, "review": 0.8},
        "output": "out",
        "colour": "blue",
    }
    result = invoke("link", str(write_config(tmp_path / "bad.yaml", bad)), "--check")
    assert result.exit_code == 2
    for where in (
        "comparisons[0].type",
        "comparisons[1]",
        "strictly decreasing",
        "comparisons[2]",
        "thresholds",
        "colour: unknown field",
    ):
        assert where in result.output, where
    fields_ok = {**bad, "comparisons": [{"type": "exact", "column": "sex"}]}
    fields_ok.pop("colour")
    fields_ok["thresholds"] = {"match": 0.5}
    result = invoke("link", str(write_config(tmp_path / "cross.yaml", fields_ok)), "--check")
    assert result.exit_code == 2
    assert "exactly 2 input(s)" in result.output
    assert "blocking: at least one blocking rule" in result.output


def test_missing_columns_and_files_are_config_errors(tmp_path: Path) -> None:
    pl.DataFrame({"id": ["1"], "surname": ["QUINTANILLA"]}).write_csv(tmp_path / "a.csv")
    config = {
        "mode": "dedupe",
        "inputs": [{"path": "a.csv", "id_column": "id"}],
        "comparisons": [{"type": "name", "column": "surname"}, {"type": "dob", "column": "dob"}],
        "blocking": [["postcode"]],
        "truth": {"path": "nowhere.csv"},
        "output": "out",
    }
    result = invoke("link", str(write_config(tmp_path / "c.yaml", config)), "--check")
    assert result.exit_code == 2
    assert "dob, postcode" in result.output and "nowhere.csv" in result.output
    assert "QUINTANILLA" not in result.output


def test_duplicate_ids_are_a_data_error_without_values(tmp_path: Path) -> None:
    pl.DataFrame(
        {"id": ["X-991", "X-991", "X-992"], "surname": ["QUINTANILLA", "QUINTANILLO", "OYELARAN"]}
    ).write_csv(tmp_path / "a.csv")
    config = {
        "mode": "dedupe",
        "inputs": [{"path": "a.csv", "id_column": "id"}],
        "comparisons": [{"type": "name", "column": "surname"}],
        "blocking": [["surname"]],
        "output": "out",
    }
    result = invoke("link", str(write_config(tmp_path / "c.yaml", config)))
    assert result.exit_code == 3
    assert "duplicated" in result.output
    assert "X-991" not in result.output and "QUINTANILLA" not in result.output


def test_help_ends_with_an_example() -> None:
    result = invoke("link", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "pprl link" in result.output.split("Example:")[1]


def test_broken_blocking_sql_is_a_config_error(tmp_path: Path) -> None:
    pl.DataFrame({"id": ["1", "2"], "surname": ["QUINTANILLA", "OYELARAN"]}).write_csv(
        tmp_path / "a.csv"
    )
    config = {
        "mode": "dedupe",
        "inputs": [{"path": "a.csv", "id_column": "id"}],
        "comparisons": [{"type": "name", "column": "surname"}],
        "blocking": [{"sql": "no_such_function(l.surname) = r.surname"}],
        "output": "out",
    }
    result = invoke("link", str(write_config(tmp_path / "c.yaml", config)))
    assert result.exit_code == 2, result.output
    assert "failed in DuckDB" in result.output and "QUINTANILLA" not in result.output


def test_missing_model_is_listed_with_other_problems(tmp_path: Path) -> None:
    config = {
        "mode": "dedupe",
        "inputs": [{"path": "absent.csv", "id_column": "id"}],
        "model": "absent-model.json",
        "output": "out",
    }
    result = invoke("link", str(write_config(tmp_path / "c.yaml", config)), "--check")
    assert result.exit_code == 2
    assert "absent.csv" in result.output and "absent-model.json" in result.output
