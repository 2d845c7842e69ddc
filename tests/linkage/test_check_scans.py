"""The model checks and the posterior summary scan the comparison vectors as few times as
they can: at 3M x 3M each scan of the 328M vectors took ~16-21 s (benchmarks/
SCALING_linkage.md). The histogram is computed once for the checks and the summary; the
per-record checks share one scan of the pairs worth counting."""

from __future__ import annotations

import polars as pl
import pytest

from linkage import Linker
from linkage import evaluate as evaluation
from linkage.checks import LIKELY_PAIRS
from linkage.link_checks import one_to_one_check
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
    histogram = evaluation.histogram_sql(linker.scored_sql())
    assert asked.count(histogram) == 1
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
