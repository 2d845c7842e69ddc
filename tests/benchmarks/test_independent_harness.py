"""Harness logic of the independent benchmark (no pseudopeople, Splink or timings needed)."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from benchmarks.independent import harness, sources
from benchmarks.independent.data import TaskData, build_task, tool_records, truth_pairs
from benchmarks.independent.experiments.latent_classes import (
    latent_class_em,
    responsibilities,
    score_posterior,
)
from benchmarks.independent.households import generate_population, household_dedupe
from benchmarks.independent.pprl_probe import probe
from benchmarks.independent.report import format_table
from benchmarks.independent.scoring import (
    cluster_scores,
    components,
    false_positive_profile,
    linked_pair_scores,
    ordered,
    pair_scores,
)
from benchmarks.independent.tasks import TASKS, Task

PERSON_COLUMNS = ("first_name", "middle_initial", "last_name", "street_number", "street_name")


def test_tasks_validate_and_round_trip(tmp_path: Path) -> None:
    for task in TASKS.values():
        task.write(tmp_path)
        assert Task.read(tmp_path) == task
    with pytest.raises(ValueError, match="not a field"):
        Task("bad", "link_only", ("a", "b"), (("first_name", "name"),), (("dob",),), (), ())
    with pytest.raises(ValueError, match="two sources"):
        Task("bad", "link_only", ("a",), (("x", "exact"),), (("x",),), (), ())


def test_sources_rewrite_dates_by_position_and_keep_noise_as_text() -> None:
    mdy = sources._dob_from_mdy(pd.Series(["05/06/1994", "07/71/1958", " ", None]))
    assert mdy.tolist()[:2] == ["1994-05-06", "1958-07-71"]
    assert mdy.isna().tolist()[2:] == [True, True]
    assert sources._dob_from_ymd(pd.Series(["19191204", "1919"])).tolist() == ["1919-12-04", "1919"]


def _raw_census(n_households: int, seed: int) -> pd.DataFrame:
    people = generate_population(n_households, seed=seed).to_pandas()
    y, m, d = (people["dob"].str.slice(a, b) for a, b in ((0, 4), (5, 7), (8, 10)))
    return pd.DataFrame(
        {
            "simulant_id": people["person_id"].astype(str),
            "household_id": people["household_id"].astype(str),
            "first_name": people["first_name"].str.title(),
            "middle_initial": "A",
            "last_name": people["last_name"],
            "date_of_birth": m + "/" + d + "/" + y,
            "sex": people["sex"],
            "street_number": people["street_number"],
            "street_name": people["street_name"],
            "unit_number": None,
        }
    )


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """census and W-2-like sources in the prepared layout, from the household generator."""
    out = tmp_path_factory.mktemp("sources")
    raw = _raw_census(150, seed=3)
    sources.prepare_source("census", raw, seed=1).to_parquet(out / "census.parquet")
    taxes = raw.sample(frac=0.6, random_state=2).rename(
        columns={c: f"mailing_address_{c}" for c in ("street_number", "street_name", "unit_number")}
    )
    sources.prepare_source("w2_1099", taxes, seed=2).to_parquet(out / "w2_1099.parquet")
    return out


def test_prepared_sources_hide_order_and_lower_case(source_dir: Path) -> None:
    census = pl.read_parquet(source_dir / "census.parquet")
    assert census["record_id"].str.starts_with("c").all()
    assert (census["first_name"] == census["first_name"].str.to_lowercase()).all()
    assert census["dob"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    # households are contiguous in the raw data; after the shuffle they are not
    first_rows = census.head(20)["household_id"]
    assert first_rows.n_unique() > 10


def test_build_task_keeps_truth_away_from_the_tools(source_dir: Path, tmp_path: Path) -> None:
    data = build_task(TASKS["census_w2"], source_dir, tmp_path, quick=False, seed=0)
    left = pl.read_parquet(data.directory / "left.parquet")
    assert set(left.columns) == {"record_id", *TASKS["census_w2"].columns}
    census = pl.read_parquet(source_dir / "census.parquet")
    taxes = pl.read_parquet(source_dir / "w2_1099.parquet")
    expected = census.join(taxes, on="simulant_id").height
    assert data.meta["true_pairs"] == expected == data.truth.height
    assert data.meta["true_lambda"] == pytest.approx(expected / (census.height * taxes.height))
    quick = build_task(TASKS["census_w2"], source_dir, tmp_path, quick=True, seed=0)
    kept = quick.entities.drop_nulls("household_id")
    full = data.entities.filter(
        pl.col("household_id").is_in(kept["household_id"].unique().to_list())
    )
    assert quick.entities.height < data.entities.height
    assert kept.height == full.height  # whole households are kept or dropped


def test_dedupe_truth_is_every_pair_within_a_simulant_once() -> None:
    frame = pl.DataFrame({"record_id": ["a", "b", "c", "d"], "simulant_id": ["1", "1", "1", "2"]})
    truth = truth_pairs(frame, None)
    assert sorted(truth.rows()) == [("a", "b"), ("a", "c"), ("b", "c")]


def _brute_force_clusters(assign: dict[str, int], entity: dict[str, str]) -> tuple[float, float]:
    pairs = list(combinations(sorted(assign), 2))
    same_cluster = {p for p in pairs if assign[p[0]] == assign[p[1]]}
    same_entity = {p for p in pairs if entity[p[0]] == entity[p[1]]}
    tp = len(same_cluster & same_entity)
    return tp / len(same_cluster), tp / len(same_entity)


def test_cluster_scores_match_a_brute_force_count() -> None:
    rng = np.random.default_rng(5)
    ids = [f"r{i}" for i in range(60)]
    entity = {r: f"e{rng.integers(0, 25)}" for r in ids}
    assign = {r: int(rng.integers(0, 20)) for r in ids}
    scores = cluster_scores(
        pl.DataFrame({"record_id": ids, "cluster": [assign[r] for r in ids]}),
        pl.DataFrame({"record_id": ids, "simulant_id": [entity[r] for r in ids]}),
    )
    precision, recall = _brute_force_clusters(assign, entity)
    assert scores["cluster_precision"] == pytest.approx(precision)
    assert scores["cluster_recall"] == pytest.approx(recall)


def test_components_join_pairs_at_or_above_the_threshold_only() -> None:
    pairs = pl.DataFrame(
        {"id_l": ["a", "b", "d"], "id_r": ["b", "c", "e"], "match_probability": [0.9, 0.5, 0.4]}
    )
    out = components(pl.Series(["a", "b", "c", "d", "e"]), pairs, 0.5)
    cluster = dict(out.iter_rows())
    assert cluster["a"] == cluster["b"] == cluster["c"]
    assert len({cluster["d"], cluster["e"], cluster["a"]}) == 3


def test_pair_scores_order_dedupe_pairs_and_profile_false_positives() -> None:
    truth = pl.DataFrame({"id_l": ["a"], "id_r": ["b"]})
    pairs = ordered(
        pl.DataFrame(
            {"id_l": ["b", "a", "c"], "id_r": ["a", "c", "d"], "match_probability": [0.9, 0.8, 0.1]}
        ),
        "dedupe_only",
    )
    scores = pair_scores(pairs, truth, 0.5)
    assert (scores["precision"], scores["recall"]) == (0.5, 1.0)
    assert scores["implied_precision"] == pytest.approx(0.85)
    entities = pl.DataFrame(
        {"record_id": ["a", "b", "c", "d"], "household_id": ["h1", "h1", "h1", "h2"]}
    )
    profile = false_positive_profile(pairs, 0.05, truth, entities, None)
    assert profile["false_positives"] == 2
    assert profile["same_household_share"] == pytest.approx(0.5)


def _fake_run(out: Path, pairs: pl.DataFrame, notes: dict[str, object]) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    pairs.write_parquet(out / "pairs.parquet")
    return {"threshold": None, "notes": notes}


def test_score_tool_reports_lambda_ratio_clusters_and_no_record_values(tmp_path: Path) -> None:
    records, truth = household_dedupe(40, seed=1, duplicate_rate=0.5)
    directory = tmp_path / "task"
    directory.mkdir()
    records.select(
        pl.col("record_id"),
        pl.col("person_id").cast(pl.String).alias("simulant_id"),
        pl.col("household_id").cast(pl.String),
    ).write_parquet(directory / "entities.parquet")
    truth.write_parquet(directory / "truth.parquet")
    n = records.height
    meta = {"true_lambda": truth.height / (n * (n - 1) // 2), "quick": False}
    data = TaskData(TASKS["dedupe_w2"], directory, meta)
    pairs = truth.with_columns(pl.lit(0.9).alias("match_probability"))
    child = _fake_run(tmp_path / "out", pairs, {"lambda_estimate": meta["true_lambda"] * 2})
    scored = harness.score_tool(data, tmp_path / "out", child)
    assert scored["pairs"]["f1"] == 1.0
    assert scored["lambda_ratio"] == pytest.approx(2.0)
    assert scored["clusters_at_threshold"]["cluster_precision"] == 1.0
    row = {
        "tool": "recordlinkage",
        "status": "ok",
        "wall_seconds": 1.0,
        "cpu_seconds": 1.0,
        "peak_rss_gib": 0.1,
        **scored,
    }
    table = format_table([{"task": TASKS["dedupe_w2"].to_dict(), "meta": meta, "tools": [row]}])
    text = table + json.dumps(scored)
    names = set(records["first_name"].drop_nulls()) | set(records["last_name"].drop_nulls())
    assert not [w for w in names if f" {w} " in f" {text} "]


def test_latent_class_em_recovers_three_known_classes() -> None:
    # P(agree) per comparison (first name, dob, sex, surname, address) in each class:
    # same person, same household (another person), anyone else
    agree = np.array(
        [
            [0.95, 0.9, 0.97, 0.95, 0.9],
            [0.05, 0.1, 0.5, 0.8, 0.98],
            [0.01, 0.02, 0.5, 0.01, 0.005],
        ]
    )
    shares = np.array([0.1, 0.3, 0.6])
    rng = np.random.default_rng(11)
    n = 60_000
    cls = rng.choice(3, size=n, p=shares)
    draws = (rng.random((n, 5)) < agree[cls]).astype(np.int64)
    patterns, inverse, counts = np.unique(draws, axis=0, return_inverse=True, return_counts=True)
    tp = np.bincount(inverse.ravel(), weights=(cls == 0).astype(float)).astype(np.float64)

    def levels(p: np.ndarray) -> list[np.ndarray]:
        return [np.array([1 - a, a]) for a in p]

    init = [levels(np.full(5, 0.8)), levels(np.array([0.2, 0.2, 0.5, 0.8, 0.8])), levels(agree[2])]
    fit = latent_class_em(
        patterns, counts.astype(float), init, np.array([0.2, 0.2, 0.6]), fixed=[False, False, True]
    )
    assert fit.converged
    assert fit.shares[0] == pytest.approx(shares, abs=0.02)
    for c in (0, 1):
        got = np.array([p[1] for p in fit.probs[c]])
        assert got == pytest.approx(agree[c], abs=0.03)
    p = responsibilities(patterns, fit.probs, fit.shares)[:, 0]
    score = score_posterior(p, counts.astype(np.float64), tp, int((cls == 0).sum()), n)
    assert score.best_f1 >= score.f1 > 0.9
    assert score.expected_matches == pytest.approx((cls == 0).sum(), rel=0.05)


def _numbers(value: object) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return [float(value)] if isinstance(value, int | float) else []


def test_probe_records_passes_without_changing_training() -> None:
    from benchmarks.independent.household_repro import settings
    from linkage import Linker

    people = generate_population(150, seed=4).drop("person_id", "household_id")
    people = people.with_row_index("record_id").with_columns(pl.col("record_id").cast(pl.String))
    linker = Linker(settings("dedupe_only", "split_address"), people)
    with probe(linker) as trace:
        linker.train(seed=2)
    watched = linker.parameters.to_dict()
    assert trace.passes and not trace.missing
    assert any("estimated lambda" in line for line in trace.log)
    assert "_em_pass" not in vars(linker._trainer)  # the instance is restored
    linker.close()
    again = Linker(settings("dedupe_only", "split_address"), people)
    again.train(seed=2)
    # DuckDB may sum in another order: equal to the last few bits
    assert _numbers(again.parameters.to_dict()) == pytest.approx(_numbers(watched), rel=1e-9)
    again.close()


def test_household_population_shares_surname_and_address_within_families() -> None:
    people = generate_population(400, seed=9)
    by_household = people.group_by("household_id").agg(
        pl.len().alias("size"),
        pl.col("street_name").n_unique().alias("streets"),
        pl.col("last_name").n_unique().alias("surnames"),
        pl.col("dob").n_unique().alias("dobs"),
    )
    assert (by_household["streets"] == 1).all()
    families = by_household.filter(pl.col("size") >= 3)
    shared = families.select((pl.col("surnames") < pl.col("size")).mean()).item()
    assert shared > 0.8  # shared surnames
    assert (families["dobs"] < families["size"]).any()  # twins


def test_linked_pairs_give_the_headline_and_three_best_sweeps() -> None:
    truth = pl.DataFrame({"id_l": ["a", "c"], "id_r": ["b", "d"]})
    pairs = pl.DataFrame(
        {
            "id_l": ["a", "a", "c"],
            "id_r": ["b", "e", "d"],
            "match_weight": [9.0, 8.0, 1.0],
            "match_probability": [0.99, 0.98, 0.6],
            "match_weight_model": [9.0, 8.0, 8.5],
            "match_probability_model": [0.99, 0.98, 0.985],
            "linked": [True, False, True],
            "one_link": [True, False, True],
        }
    )
    scores = linked_pair_scores(pairs, truth, 0.5)
    assert (scores["precision"], scores["recall"], scores["predicted_pairs"]) == (1.0, 1.0, 2)
    assert scores["best_f1"] == pytest.approx(0.8)  # every pair's score, no rule: a-e kept
    assert scores["best_f1_one_link"] == 1.0
    assert scores["best_f1_model"] == 1.0  # the model ranked c-d above a-e


def test_tool_records_add_the_source_to_folders_built_without_it(tmp_path: Path) -> None:
    task = TASKS["dedupe_census_acs_cps"]
    pl.DataFrame({"record_id": ["c01", "a01", "p01"]}).write_parquet(tmp_path / "left.parquet")
    assert tool_records(tmp_path, task)["source"].to_list() == ["census", "acs", "cps"]
    assert "source" not in tool_records(tmp_path, TASKS["dedupe_w2"]).columns
