"""Training passes are checked before their estimates are used (linkage/training.py).

The regression these tests pin came from the 1M x 1M benchmark: no prediction block could
train date of birth (one blocks on it, one constrains it), so a supplementary block was
chosen on two other fields. In the first block tried (postcode + surname) households
outnumbered the people, EM took "same household" for the match class (1.74M expected
matches among 1M records) and dob came out with m = 0.52 for "dates far apart": F1 at the
automatic threshold fell to 0.55. The same happens on 20,000 generated records with a block on
street + surname, which is what these tests use.
"""

from __future__ import annotations

import polars as pl
import pytest

from linkage import Linker, block_on
from linkage.blocking import BlockingRule
from linkage.training import Trainer
from synthetic import generate_person_pair
from tests.linkage._persons import person_settings, prepare_persons

N = 20_000
HOUSEHOLD_BLOCK = block_on("street", "surname")
PERSON_BLOCK = block_on("first_name", "town")
# a training block that leaves dob untrained (it blocks on dob)
ON_DOB = [block_on("first_name", "dob")]


@pytest.fixture(scope="module")
def persons() -> tuple[pl.DataFrame, pl.DataFrame]:
    left, right, _ = generate_person_pair(N, N, overlap=0.8, seed=3)
    return prepare_persons(left), prepare_persons(right)


def _linker(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    candidates: list[BlockingRule],
) -> Linker:
    monkeypatch.setattr(Trainer, "_supplementary_rules", lambda self, untrained: candidates)
    linker = Linker(person_settings(), *persons)
    linker.estimate_u(seed=2)
    return linker


def test_household_block_really_is_implausible(
    persons: tuple[pl.DataFrame, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the premise of the tests below: on these data EM in this block expects more matches
    # than there are records, and its dob estimate says dates of birth hardly matter
    linker = _linker(persons, monkeypatch, [])
    m, _, expected, _ = linker._trainer._em_pass(HOUSEHOLD_BLOCK, None)["dob"]
    assert expected > N
    assert m[0] > 0.3  # "more than 10 years apart" among supposed matches


def test_implausible_supplementary_pass_is_rejected_for_the_next(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    linker = _linker(persons, monkeypatch, [HOUSEHOLD_BLOCK, PERSON_BLOCK])
    with caplog.at_level("INFO", logger="linkage"):
        linker.estimate_m(ON_DOB)
    messages = [r.getMessage() for r in caplog.records]
    assert any(HOUSEHOLD_BLOCK.name in msg and "rejected" in msg for msg in messages)
    fallbacks = [w for w in linker.training_warnings if w.code == "fallback_pass"]
    assert [(w.comparison, w.rule) for w in fallbacks] == [("dob", PERSON_BLOCK.name)]
    rejected = [p for p in linker.diagnostics.passes if p.rule == HOUSEHOLD_BLOCK.name]
    assert [(p.kind, p.used) for p in rejected] == [("supplementary", False)]
    m = linker.parameters.comparisons["dob"].m
    assert m[0] is not None and m[0] < 0.01  # matches rarely have dates far apart
    assert m[-1] is not None and m[-1] > 0.9  # and mostly agree exactly


def test_no_plausible_supplementary_pass_keeps_previous_m(
    persons: tuple[pl.DataFrame, pl.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    linker = _linker(persons, monkeypatch, [HOUSEHOLD_BLOCK])
    before = list(linker.parameters.comparisons["dob"].m)
    with caplog.at_level("WARNING", logger="linkage"):
        linker.estimate_m(ON_DOB)
    assert linker.parameters.comparisons["dob"].m == before
    assert any(
        "m not estimated for" in r.getMessage() and "dob" in r.getMessage() for r in caplog.records
    )
    assert ("m_not_estimated", "dob") in [(w.code, w.comparison) for w in linker.training_warnings]


def test_default_training_on_dense_households_is_calibrated(
    persons: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    # end to end, no patching: lambda close to truth (0.8 N matches among N^2 pairs)
    linker = Linker(person_settings(), *persons)
    linker.train(seed=2)
    lam = linker.parameters.probability_two_random_records_match
    assert 0.7 < lam / (0.8 * N / N**2) < 1.4
