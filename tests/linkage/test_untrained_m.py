"""m of a comparison no EM pass could train, estimated over all candidates under the whole
model (``Trainer.estimate_untrained_m``; issue 10, census vs W-2/1099).

Blocked as the census vs W-2/1099 task is (street number + street name, first name +
surname, first name + street name), no prediction pass can train surname: the address block
holds it fixed (households share it), the name block blocks on it and the first name + street
block holds it (the street goes with the household). Without a fallback block (here none is
offered; on pseudopeople's data none was plausible) surname kept its arbitrary starting m,
an exact surname at m 0.75 where matches agree on it 0.93 of the time, and on the benchmark
that cost 0.034 F1 at the automatic threshold.

The data come from ``benchmarks/independent/households.py`` as in
``test_surname_without_household.py``; the truth (which the linker never sees) gives each
level's share among the true matches the blocking finds.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchmarks.independent.households import household_link_pair
from linkage import Linker
from linkage.model import ComparisonParameters
from linkage.training import Trainer
from tests.linkage._persons import household_name_settings
from tests.linkage.test_surname_without_household import COLUMNS, _as_census_and_w2

UNTRAINED = "last_name"


def _files() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    left, right, truth = household_link_pair(4000, seed=4, move_rate=0.4)
    left, right = _as_census_and_w2(left, 1), _as_census_and_w2(right, 2)
    return left.select(COLUMNS), right.select(COLUMNS), truth


def _trained(monkeypatch: pytest.MonkeyPatch, files: tuple[pl.DataFrame, ...]) -> Linker:
    # no fallback block: surname is then trained by no pass at all
    monkeypatch.setattr(Trainer, "_supplementary_rules", lambda self, untrained: [])
    linker = Linker(household_name_settings("link_only"), files[0], files[1])
    linker.train(seed=1)
    return linker


@pytest.fixture(scope="module")
def files() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return _files()


def _true_m(linker: Linker, files: tuple[pl.DataFrame, ...]) -> np.ndarray:
    """Each level's share among the true matches among the candidate pairs."""
    found = (
        linker.predict(threshold=1e-9).select("id_l", "id_r").join(files[2], on=["id_l", "id_r"])
    )
    labelled = Linker(household_name_settings("link_only"), files[0], files[1])
    labelled.estimate_m_from_labelled_pairs(found)
    return np.asarray(labelled.parameters.comparisons[UNTRAINED].m, dtype=float)


def test_a_comparison_no_pass_trains_gets_its_m_from_all_candidates(
    monkeypatch: pytest.MonkeyPatch, files: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    linker = _trained(monkeypatch, files)
    trained_by = [p.rule for p in linker.diagnostics.passes if p.used and UNTRAINED in p.trained]
    assert trained_by == []  # the premise: no pass trained it
    warnings = {(w.code, w.comparison) for w in linker.training_warnings}
    assert ("m_not_estimated", UNTRAINED) not in warnings
    assert ("m_from_all_candidates", UNTRAINED) in warnings
    m = np.asarray(linker.parameters.comparisons[UNTRAINED].m, dtype=float)
    comparison = next(c for c in linker.comparisons if c.name == UNTRAINED)
    start = np.asarray(ComparisonParameters.initial(comparison).m, dtype=float)
    truth = _true_m(linker, files)
    # the starting m is far from the truth (0.75 vs 0.93 exact); the estimate is close
    assert np.max(np.abs(start - truth)) > 0.1
    assert np.max(np.abs(m - truth)) < 0.03
    # its dependencies (given the address) follow it: a match's surname does not move
    dep = linker.parameters.dependencies.get(UNTRAINED)
    if dep is not None:
        assert dep.m_top == pytest.approx(list(m))
        assert dep.m_other == pytest.approx(list(m))
    assert "m_not_estimated" not in linker.posterior_summary().unreliable_because


def test_an_estimate_expecting_more_matches_than_records_is_refused(
    monkeypatch: pytest.MonkeyPatch, files: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    # trained as above but stopped before the whole-model step: surname at its starting m
    monkeypatch.setattr(Trainer, "estimate_untrained_m", lambda self: [])
    linker = _trained(monkeypatch, files)
    monkeypatch.undo()
    params = linker.parameters
    before = (params.to_dict(), list(linker.training_warnings))
    assert ("m_not_estimated", UNTRAINED) in {(w.code, w.comparison) for w in before[1]}
    # a bound below any estimate: refused like a pass taking households for people, and
    # everything (m, dependencies, lambda, the warning) is left as it was
    monkeypatch.setattr(Trainer, "_max_matches", lambda self: 0.0)
    assert linker._trainer.estimate_untrained_m() == []
    assert (params.to_dict(), linker.training_warnings) == before
    monkeypatch.undo()
    assert linker._trainer.estimate_untrained_m() == [UNTRAINED]
    assert params.to_dict() != before[0]
