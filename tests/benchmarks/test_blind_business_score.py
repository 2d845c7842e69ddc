"""Scoring of the blind business benchmark: precision/recall/F1, sister links, best threshold,
and the CRN request file the crn-request timing uses."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from benchmarks.blind_business import __main__ as harness
from benchmarks.blind_business import run_pprl
from benchmarks.blind_business.run_pprl import write_crn_requests
from benchmarks.blind_business.score import (
    Truth,
    above,
    best_threshold,
    by_category,
    score_links,
)

# four records: A and B in the register (A's group is family 1), C an unregistered member
# of family 1, D a business outside the register and outside any group
TRUTH = Truth(
    records=pl.DataFrame(
        {
            "incoming_id": ["A", "B", "C", "D"],
            "true_entref": ["e1", "e3", "", ""],
            "family": [1, -1, 1, -1],
            "category": ["family_member", "other", "unregistered_sibling", "other"],
        }
    ),
    register_family=pl.DataFrame(
        {"entref": ["e1", "e2", "e3", "e4"], "linked_family": [1, 1, -1, -1]}
    ),
)


def links(pairs: list[tuple[str, str]], probabilities: list[float] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"incoming_id": [p[0] for p in pairs], "entref": [p[1] for p in pairs]},
        schema={"incoming_id": pl.String, "entref": pl.String},
    )
    if probabilities is not None:
        frame = frame.with_columns(pl.Series("match_probability", probabilities))
    return frame


@pytest.mark.parametrize(
    ("pairs", "correct", "precision", "recall", "sisters"),
    [
        ([("A", "e1"), ("B", "e3")], 2, 1.0, 1.0, 0),
        ([("A", "e2"), ("B", "e3")], 1, 0.5, 0.5, 1),  # A linked to its sister
        ([("C", "e1"), ("D", "e4")], 0, 0.0, 0.0, 1),  # the unregistered member to its group
        ([("A", "e1")], 1, 1.0, 0.5, 0),
        ([], 0, 0.0, 0.0, 0),
    ],
)
def test_score_counts(
    pairs: list[tuple[str, str]], correct: int, precision: float, recall: float, sisters: int
) -> None:
    score = score_links(links(pairs), TRUTH)
    assert (score.correct, score.precision, score.recall) == (correct, precision, recall)
    assert score.sister_links == sisters
    assert score.sister_links_pct_of_incoming == 100 * sisters / 4
    expected_f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    assert score.f1 == pytest.approx(expected_f1)


def test_best_threshold_keeps_the_pairs_that_maximise_f1() -> None:
    candidates = links([("A", "e1"), ("B", "e3"), ("C", "e2"), ("D", "e4")], [0.9, 0.4, 0.6, 0.1])
    threshold, score = best_threshold(candidates, TRUTH)
    # 0.9: P 1 R .5 F1 .667; 0.6: P .5 R .5; 0.4: P .667 R 1 F1 .8; 0.1: P .5 R 1 F1 .667
    assert threshold == 0.4
    assert score.correct == 2 and score.links == 3
    assert above(candidates, 0.5).height == 2


def test_by_category_counts_links_and_correct_ones() -> None:
    table = by_category(links([("A", "e2"), ("B", "e3"), ("D", "e4")]), TRUTH)
    assert table == {
        "other": {"records": 2, "linked": 2, "correct": 1},
        "family_member": {"records": 1, "linked": 1, "correct": 0},
        "unregistered_sibling": {"records": 1, "linked": 0, "correct": 0},
    }


def test_crn_requests_mix_register_and_unknown_numbers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    register = [f"{n:08d}" for n in range(1, 200)] + ["SC000123", ""]
    pl.DataFrame({"crn": register}).write_parquet(data / "register.parquet")
    write_crn_requests(data, tmp_path / "requests.csv", 1_000, seed=3)
    requests = pl.read_csv(tmp_path / "requests.csv", infer_schema=False)
    assert requests.height == 1_000 and requests["request_id"].n_unique() == 1_000
    padded = requests["crn"].map_elements(
        lambda c: c.zfill(8) if c.isdigit() else c.upper(), return_dtype=pl.String
    )
    held = padded.is_in(pl.Series([c for c in register if c]).implode())
    assert held.sum() == 900
    assert (padded != requests["crn"]).sum() > 0  # some written without padding or in lower case


def test_previous_names_are_mapped_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_pprl, "pprl_command", lambda: "pprl")
    plain = run_pprl.link_register_argv(tmp_path, tmp_path / "out", "incoming_ids.csv")
    named = run_pprl.link_register_argv(
        tmp_path, tmp_path / "out", "incoming_ids.csv", previous_names=True
    )
    assert "--register-column" not in plain
    assert named[named.index("--register-column") + 1] == "previous_name=previous_name"
    assert [a for a in named if a not in ("--register-column", "previous_name=previous_name")] == (
        plain
    )
    with pytest.raises(SystemExit, match="needs --dataset unseen"):
        harness.run(tmp_path, tmp_path / "result.json", "blind", previous_names=True)


def test_pprl_only_verdicts_judge_only_pprls_own_targets() -> None:
    run = {"f1": 0.951, "recall": 0.84, "sister_links_pct_of_incoming": 0.3, "wall_s": 30.0}
    result: dict = {"pprl": {"ids": run, "names_only": run | {"f1": 0.90}}}
    own = harness._verdicts(result)
    assert own == {"f1_with_ids": [0.951, True], "sister_links_pct_of_incoming": [0.3, True]}

    peer = {"wall_s": 100.0, "at_0.5": {"recall": 0.9}}
    result |= {"splink": {"ids": peer, "names_only": peer}, "crn_request": {"wall_s": 3.6}}
    every = harness._verdicts(result)
    assert every["names_only_recall"] == [0.84, 0.9, False]
    assert every["wall_ratio_pprl_over_splink_ids"] == [0.3, True]
    assert every["crn_request_100k_seconds"] == [3.6, True]
