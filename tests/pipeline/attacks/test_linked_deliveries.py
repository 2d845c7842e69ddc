"""Attack on what researchers receive: the pipeline runs on random multi-source inputs (two
batches, so the second delivery joins the first), then an intruder joins every combination of
the delivered files, this delivery's and the earlier one's, on every shared key.

Targets: no joined row matches fewer than k persons on the quasi-identifiers, and the expected
re-identifications of every join stay within the configured limit; or the run fails closed
(exit 3) and delivers nothing. ``PPRL_HYPOTHESIS_PROFILE=thorough`` runs many more examples.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from pipeline.config import load_config
from pipeline.disclosure import ReidentificationRiskExceeded, SuppressionBudgetExceeded
from pipeline.runner import run_pipeline
from tests.pipeline.attacks.inputs import (
    THOROUGH,
    Scenario,
    nhs_linker,
    quasi_identifiers,
    scenarios,
    write_batch,
    write_config,
)
from tests.pipeline.attacks.intruder import attack, deliveries
from tests.pipeline.runner_support import fake_services, make_keystore

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


@pytest.fixture(scope="module")
def keystore() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as root, pytest.MonkeyPatch.context() as patch:
        yield make_keystore(Path(root), patch)


def _run(root: Path, scenario: Scenario, keystore: Path, **changes: Any) -> str:
    """Run the pipeline; ``delivered``, or ``failed closed`` when disclosure control stopped
    it: a risk limit, or a file with fewer than k persons (no suppression can hide them)."""
    config = load_config(write_config(root, keystore, scenario, **changes))
    try:
        run_pipeline(config, services=fake_services(nhs_linker))
    except (ReidentificationRiskExceeded, SuppressionBudgetExceeded) as error:
        assert error.exit_code == 3
        return "failed closed"
    return "delivered"


def _check(delivered: list[dict[str, pl.DataFrame]], scenario: Scenario) -> list[str]:
    """Every join of the newest delivery (with the earlier ones) against k and the limit."""
    *older, current = delivered
    earlier = {name: frame for files in older for name, frame in files.items()}
    problems = []
    for join, smallest, expected in attack(current, earlier, quasi_identifiers(scenario)):
        if smallest < scenario.k:
            problems.append(f"{join}: a row matches {smallest} persons (k={scenario.k})")
        limit = scenario.max_expected
        if limit is not None and expected > limit + 1e-9:
            problems.append(f"{join}: {expected:.2f} expected re-identifications > {limit}")
    return problems


@settings(
    max_examples=60 if THOROUGH else 4,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_no_join_of_delivered_files_breaks_k_or_the_risk_limit(
    scenario: Scenario, keystore: Path
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_batch(root, scenario, 1, scenario.sources)
        if _run(root, scenario, keystore) == "failed closed":
            assert not list((root / "out").glob("run-*"))
            return
        assert _check(deliveries(root / "out"), scenario) == []
        write_batch(root, scenario, 2, scenario.sources[:1])  # new hospital episodes only
        if _run(root, scenario, keystore) == "failed closed":
            assert len(list((root / "out").glob("run-*"))) == 1
            return
        delivered = deliveries(root / "out")
        assert len(delivered) == 2
        assert _check(delivered, scenario) == []
        _manifest_counts_are_integers(root)


def _manifest_counts_are_integers(root: Path) -> None:
    for path in (root / "out").glob("run-*/manifest.json"):
        manifest = json.loads(path.read_text())
        linked = manifest["disclosure"]["linked_k_anonymity"]
        if linked is None:  # nothing delivered in this batch
            assert manifest["totals"]["delivered"] == 0
            continue
        assert set(linked["unsafe_after"].values()) == {0}
        _integers(linked)


FIXED = [
    Scenario(seed, ("hospital", "gp", "mental"), 70, k, ("age_band", "sex_code", "region"), None)
    for seed, k in ((11, 2), (12, 3), (13, 4))
]


@pytest.mark.parametrize("scenario", FIXED, ids=lambda s: f"seed{s.seed}-k{s.k}")
def test_the_property_is_not_vacuous(scenario: Scenario, keystore: Path, tmp_path: Path) -> None:
    # Untreated, the joins of these deliveries break k; treated, they are delivered (the
    # property above is not met by failing every run) and every join holds.
    write_batch(tmp_path, scenario, 1, scenario.sources)
    untreated = tmp_path / "untreated"
    write_batch(untreated, scenario, 1, scenario.sources)
    assert _run(untreated, scenario, keystore, quasi_identifiers=[], risk={}) == "delivered"
    attacked = attack(deliveries(untreated / "out")[0], {}, quasi_identifiers(scenario))
    assert min(smallest for _, smallest, _ in attacked) < scenario.k
    assert _run(tmp_path, scenario, keystore) == "delivered"
    assert _check(deliveries(tmp_path / "out"), scenario) == []


def _integers(node: Any) -> None:
    if isinstance(node, dict):
        for value in node.values():
            _integers(value)
    else:
        assert node is None or isinstance(node, int), node
