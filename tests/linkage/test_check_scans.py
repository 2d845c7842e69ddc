"""The model checks and the posterior summary scan the comparison vectors as few times as
they can: at 3M x 3M each scan of the 328M vectors took ~16-21 s (benchmarks/
SCALING_linkage.md). The histogram is computed once for the checks and the summary, from the
scoring patterns (0.7M rows for a partition's 42M pairs at 3M), not the pairs; the
per-record checks share one scan of the pairs worth counting."""

from __future__ import annotations

import polars as pl
import pytest

from linkage import Linker
from linkage import evaluate as evaluation
from linkage.checks import LIKELY_PAIRS
from linkage.link_checks import one_to_one_check
from linkage.tables import SCORING_TABLE
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons


@pytest.fixture(scope="module")
def linker_and_sql() -> tuple[Linker, list[str]]:
    left, right, _ = generate_person_pair(3000, 3000, overlap=0.8, seed=21)
    linker = Linker(person_settings(), prepare_persons(left), prepare_persons(right))
    asked: list[str] = []
    frame, rows = linker.backend.frame, linker.backend.rows

    def counting_frame(sql: str) -> pl.DataFrame:
        asked.append(sql)
        return frame(sql)

    def counting_rows(sql: str) -> list[tuple[object, ...]]:
        asked.append(sql)
        return rows(sql)

    linker.backend.frame = counting_frame  # type: ignore[method-assign]
    linker.backend.rows = counting_rows  # type: ignore[method-assign]
    linker.train(seed=4)
    linker.posterior_summary()
    return linker, asked


def test_the_histogram_is_scanned_once_for_the_checks_and_the_summary(
    linker_and_sql: tuple[Linker, list[str]],
) -> None:
    linker, asked = linker_and_sql
    assert linker._histogram is not None
    histogram = linker._histogram[0]
    assert asked.count(histogram) == 1
    assert len([sql for sql in asked if sql.startswith("SELECT min(match_probability)")]) == 1
    # a change of parameters is a new histogram
    linker.parameters.probability_two_random_records_match *= 2
    assert linker.posterior_histogram().height > 0
    assert linker._histogram is not None and linker._histogram[0] != histogram
    linker.parameters.probability_two_random_records_match /= 2


def test_the_one_to_one_check_from_the_likely_pairs_equals_a_full_scan(
    linker_and_sql: tuple[Linker, list[str]],
) -> None:
    linker, _ = linker_and_sql
    stored = linker.diagnostics.checks["one_to_one"]
    full = one_to_one_check(linker.backend, linker.scored_sql(), stored["threshold"])
    assert full.to_dict() == pytest.approx(stored)
    tables = [r[0] for r in linker.backend.con.execute("SHOW TABLES").fetchall()]
    assert LIKELY_PAIRS not in tables  # dropped after the checks


def test_the_histogram_of_scoring_patterns_is_the_histogram_of_the_pairs(
    linker_and_sql: tuple[Linker, list[str]],
) -> None:
    # each scoring pattern scored once and weighed by its count, against every pair scored
    linker, _ = linker_and_sql
    mine = linker.posterior_histogram().sort("probability")
    pairs = linker.backend.frame(evaluation.histogram_sql(linker.scored_sql()))
    pairs = pairs.sort("probability")
    assert mine.height == pairs.height > 100
    assert mine["probability"].to_list() == pairs["probability"].to_list()
    assert mine["pairs"].to_list() == pairs["pairs"].to_list()
    assert mine["sum_probability"].to_list() == pytest.approx(pairs["sum_probability"].to_list())
    summary, expected = (evaluation.posterior_summary(h) for h in (mine, pairs))
    assert summary.auto_threshold == expected.auto_threshold
    for field in ("expected_matches", "expected_precision", "expected_recall", "expected_f1"):
        assert getattr(summary, field) == pytest.approx(getattr(expected, field), rel=1e-12)


def test_scoring_alone_does_not_aggregate_the_vectors(
    linker_and_sql: tuple[Linker, list[str]],
) -> None:
    # a linker given trained parameters and asked only to score never builds the scoring
    # patterns (a GROUP BY over every vector); the histogram builds them once
    trained, _ = linker_and_sql
    left, right, _ = generate_person_pair(3000, 3000, overlap=0.8, seed=21)
    linker = Linker(
        person_settings(),
        prepare_persons(left),
        prepare_persons(right),
        parameters=trained.parameters,
    )
    pairs = linker.predict(threshold=0.5)
    assert pairs.height > 1000

    def tables() -> list[str]:
        return [r[0] for r in linker.backend.con.execute("SHOW TABLES").fetchall()]

    assert SCORING_TABLE not in tables()
    columns = ["probability", "pairs"]
    mine = linker.posterior_histogram().sort("probability").select(columns)
    assert mine.equals(trained.posterior_histogram().sort("probability").select(columns))
    assert SCORING_TABLE in tables()
