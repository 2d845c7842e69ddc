"""Smoke tests of the linkage benchmark harness logic (no Splink needed, well under 20 s)."""

from __future__ import annotations

import json
import re
import sys
from itertools import product
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks.linkage import harness
from benchmarks.linkage.data import normalise_truth, prepare
from benchmarks.linkage.measure import run_measured
from benchmarks.linkage.metrics import evaluate_pairs
from benchmarks.linkage.report import GIB, ToolRun, compare_with_peers, format_table
from benchmarks.linkage.spec import BLOCKING_RULES, BlockingRule
from benchmarks.linkage.standin_generator import generate_person_pair_standin


def _brute_force_best_f1(probs: np.ndarray, is_match: np.ndarray, n_true: int) -> float:
    best = 0.0
    for t in np.unique(probs):
        sel = probs >= t
        tp = int((is_match & sel).sum())
        if tp:
            p, r = tp / sel.sum(), tp / n_true
            best = max(best, 2 * p * r / (p + r))
    return best


def test_metrics_match_hand_counts_and_brute_force_sweep() -> None:
    rng = np.random.default_rng(7)
    n = 400
    truth = pl.DataFrame({"id_l": np.arange(100), "id_r": np.arange(100)})
    ids_l = rng.integers(0, 150, n)
    ids_r = np.where(rng.random(n) < 0.5, ids_l, rng.integers(0, 150, n))
    probs = np.round(rng.random(n), 2)  # rounding forces ties
    pred = pl.DataFrame({"id_l": ids_l, "id_r": ids_r, "match_probability": probs})
    m = evaluate_pairs(pred, truth, threshold=0.5)

    dedup = pred.group_by("id_l", "id_r").agg(pl.col("match_probability").max())
    is_match = ((dedup["id_l"] == dedup["id_r"]) & (dedup["id_l"] < 100)).to_numpy()
    p = dedup["match_probability"].to_numpy()
    tp = int((is_match & (p >= 0.5)).sum())
    assert m.predicted_pairs == int((p >= 0.5).sum())
    assert m.precision == pytest.approx(tp / (p >= 0.5).sum())
    assert m.recall == pytest.approx(tp / 100)
    assert m.best_f1 == pytest.approx(_brute_force_best_f1(p, is_match, 100))
    assert m.best_f1 >= m.f1


def test_best_f1_sweep_ranks_by_weight_where_probabilities_saturate() -> None:
    # weights of 54 and more all give probability 1.0 in float64; only the weight can
    # separate the true pairs from the false one
    truth = pl.DataFrame({"id_l": [1, 2], "id_r": [1, 2]})
    pred = pl.DataFrame({"id_l": [1, 3, 2], "id_r": [1, 4, 2], "match_weight": [80.0, 70.0, 60.0]})
    pred = pred.with_columns(match_probability=1 / (1 + 2.0 ** -pl.col("match_weight")))
    assert pred["match_probability"].n_unique() == 1
    by_weight = evaluate_pairs(pred, truth, threshold=0.5)
    by_probability = evaluate_pairs(pred.drop("match_weight"), truth, threshold=0.5)
    assert by_probability.best_f1 == pytest.approx(0.8)  # all three or nothing
    assert by_weight.best_f1 == pytest.approx(0.8)
    assert by_weight.best_weight == 60.0
    pred2 = pred.with_columns(match_weight=pl.Series([80.0, 60.0, 70.0]))
    best = evaluate_pairs(pred2, truth, threshold=0.5)
    assert best.best_f1 == pytest.approx(1.0) and best.best_weight == 70.0
    assert evaluate_pairs(pred2.drop("match_weight"), truth, threshold=0.5).best_f1 < 1.0


def test_metrics_join_ids_of_different_types_and_count_unreached_truth() -> None:
    truth = pl.DataFrame({"id_l": ["1", "2", "3"], "id_r": ["1", "2", "3"]})
    pred = pl.DataFrame({"id_l": [1, 2], "id_r": [1, 2], "match_probability": [0.9, 0.2]})
    m = evaluate_pairs(pred, truth, threshold=0.5)
    assert (m.precision, m.recall, m.true_pairs_in_output) == (1.0, pytest.approx(1 / 3), 2)


def test_blocking_rule_sql_and_validation() -> None:
    rule = BlockingRule(("surname", "dob_year"))
    assert rule.sql_condition() == 'l."surname" = r."surname" AND l."dob_year" = r."dob_year"'
    with pytest.raises(ValueError, match="unknown"):
        BlockingRule(("nhs_number",))
    assert all("nhs_number" not in r.columns for r in BLOCKING_RULES)


def test_prepare_cleans_and_derives_dob_year() -> None:
    raw = pl.DataFrame(
        {
            "record_id": [1, 2],
            "first_name": [" Ann ", ""],
            "surname": ["SMITH", None],
            "dob": pl.Series([None, "1980-02-03"]).str.to_date(),
            "postcode": ["ab1 2cd", " "],
            "house_number": [12, None],
            "street": ["High St", "x"],
            "town": ["Leeds", "y"],
            "nhs_number": ["x", "y"],
        }
    )
    out = prepare(raw)
    assert "nhs_number" not in out.columns
    assert out["first_name"].to_list() == ["ann", None]
    assert out["postcode"].to_list() == ["AB1 2CD", None]
    assert out["house_number"].to_list() == ["12", None]
    assert out["dob_year"].to_list() == [None, "1980"]


def test_standin_generator_truth_and_shuffled_ids() -> None:
    left, right, truth = generate_person_pair_standin(500, 400, overlap=0.8, seed=3)
    assert (left.height, right.height, truth.height) == (500, 400, 320)
    assert truth["id_l"].is_unique().all() and truth["id_r"].is_unique().all()
    # ids carry no match signal: true pairs do not share their numeric suffix
    same = (truth["id_l"].str.slice(1) == truth["id_r"].str.slice(1)).sum()
    assert same < 10
    assert normalise_truth(truth).columns == ["id_l", "id_r"]


def test_peak_rss_is_per_child_not_cumulative(tmp_path: Path) -> None:
    big = run_measured(
        [sys.executable, "-c", "b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096])"],
        cwd=tmp_path,
        log_path=tmp_path / "big.log",
        timeout=30,
    )
    small = run_measured(
        [sys.executable, "-c", "pass"], cwd=tmp_path, log_path=tmp_path / "small.log", timeout=30
    )
    assert big.status == small.status == "ok"
    assert big.peak_rss_bytes > 300 * 1024 * 1024
    spin = run_measured(
        [sys.executable, "-c", "sum(range(30_000_000))"],
        cwd=tmp_path,
        log_path=tmp_path / "spin.log",
        timeout=60,
    )
    assert spin.cpu_seconds > 0.2 > small.cpu_seconds
    assert small.peak_rss_bytes < 100 * 1024 * 1024
    slow = run_measured(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        cwd=tmp_path,
        log_path=tmp_path / "slow.log",
        timeout=0.5,
    )
    assert slow.status == "timeout" and slow.wall_seconds < 10
    failed = run_measured(
        [sys.executable, "-c", "raise SystemExit(3)"],
        cwd=tmp_path,
        log_path=tmp_path / "f.log",
        timeout=30,
    )
    assert (failed.status, failed.exit_code) == ("failed", 3)


def _run(tool: str, wall: float, rss_gib: float, f1: float, best: float, size: int) -> ToolRun:
    r = ToolRun(
        tool=tool,
        size=size,
        walls=[wall],
        rss=[int(rss_gib * GIB)],
        statuses=["ok"],
        rss_methods=["gnu-time"],
        cpu=[wall],
    )
    r.metrics = {"default": {"f1": f1, "best_f1": best, "threshold": 0.5}}
    return r


@pytest.mark.parametrize(
    ("wall", "rss", "f1"), list(product([40.0, 100.0], [2.0, 4.0], [0.95, 0.90]))
)
def test_large_size_targets(wall: float, rss: float, f1: float) -> None:
    runs = [
        _run("pprl", wall, rss, f1, f1, 1_000_000),
        _run("splink", 147.0, 9.7, 0.919, 0.943, 1_000_000),
    ]
    targets = compare_with_peers(runs)["splink"]["targets"]
    assert targets["wall <= 0.5x peer"] == (wall <= 73.5)
    assert targets["peak RSS <= 3 GiB"] == (rss <= 3)
    assert targets["F1 (auto) >= peer best-threshold F1"] == (f1 >= 0.943)


def test_small_size_comparison_and_table() -> None:
    runs = [
        _run("pprl", 10.0, 0.5, 0.93, 0.94, 100_000),
        _run("recordlinkage", 24.0, 0.5, 0.917, 0.92, 100_000),
        ToolRun(
            tool="splink",
            size=100_000,
            walls=[5.0],
            rss=[0],
            statuses=["failed"],
            rss_methods=["wait4"],
            cpu=[1.0],
        ),
    ]
    comp = compare_with_peers(runs)
    assert set(comp) == {"recordlinkage"}  # a failed peer gives no ratio
    assert comp["recordlinkage"]["wall_ratio"] == pytest.approx(10 / 24)
    assert all(comp["recordlinkage"]["targets"].values())
    stricter = compare_with_peers([runs[0], _run("splink", 30.0, 0.9, 0.44, 0.95, 100_000)])
    assert stricter["splink"]["targets"] == {
        "faster than peer": True,
        "F1 >= peer F1": True,
        "F1 >= peer best-threshold F1": False,
    }
    table = format_table(runs)
    assert "failed" in table and "0.930" in table


def test_harness_end_to_end_with_recordlinkage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "linkage.json"
    code = harness.main(
        [
            "--sizes",
            "1500",
            "--tools",
            "recordlinkage",
            "--runs",
            "1",
            "--data-dir",
            str(tmp_path / "data"),
            "--output",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    (size,) = result["sizes"]
    (rl,) = size["tools"]
    assert rl["status"] == "ok" and rl["peak_rss_bytes_median"] > 0
    metrics = rl["metrics"]["default"]
    assert metrics["true_pairs"] == size["true_pairs"] == 1200  # 0.8 overlap of 1500
    assert 0.0 < metrics["f1"] <= metrics["best_f1"] <= 1.0
    assert rl["pairs_scored"] > 0 and rl["versions"]["recordlinkage"]
    # Privacy: no input value appears in the printed table or the results file.
    (data_dir,) = (tmp_path / "data").glob("persons_*")
    left = pl.read_parquet(data_dir / "left.parquet")
    values = {
        v
        for col in ("first_name", "surname", "street", "postcode", "record_id")
        for v in left[col].drop_nulls().to_list()
        if len(v) >= 4
    }
    printed = capsys.readouterr().out + out.read_text()
    words = set(re.findall(r"[\w ]+", printed)) | set(re.findall(r"\w+", printed))
    assert not [v for v in values if v in words or (" " in v and v in printed)]
