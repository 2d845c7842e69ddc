"""Dependent comparisons (address parts given postcode) on synthetic people in households.

The data come from ``synthetic.generate_person_pair``: household members share a
postcode, house number, street, town and mostly a surname, and a person who moves changes all
of them. Under the independence assumption these households became false matches (F1 ~0.5 on
the linkage benchmark); the tests below check the dependence model fixes that and that its
parts (conditional weights in SQL, Python and the waterfall; persistence) agree.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from linkage import Linker
from linkage.comparisons import ExactComparison
from linkage.errors import SettingsError
from linkage.model import Dependency, ModelParameters, expectation_maximisation
from synthetic import generate_person_pair
from tests.linkage._helpers import assert_scorers_agree, exact_model
from tests.linkage._persons import person_settings, prepare_persons

N = 4000
ADDRESS_PARTS = {"house_number", "street", "town"}


@pytest.fixture(scope="module")
def households() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    left, right, truth = generate_person_pair(N, N, overlap=0.8, seed=11)
    truth = truth.rename({"record_id_left": "id_l", "record_id_right": "id_r"})
    return prepare_persons(left), prepare_persons(right), truth


@pytest.fixture(scope="module")
def trained(households: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> Linker:
    linker = Linker(person_settings(), households[0], households[1])
    linker.train(seed=12)
    return linker


def test_address_parts_depend_on_postcode(trained: Linker) -> None:
    deps = trained.parameters.dependencies
    assert set(deps) >= ADDRESS_PARTS
    assert {deps[name].anchor for name in ADDRESS_PARTS} == {("postcode",)}
    # a household's surname is counted once with its house number (linkage/household_keys.py)
    assert deps["surname"].anchor == ("postcode", "house_number")
    for name in ADDRESS_PARTS:
        dep = deps[name]
        u = trained.parameters.comparisons[name].u
        # among non-matches sharing a postcode, agreeing on the rest is far more common
        assert dep.u_top[-1] > 5 * (u[-1] or 0.0)


def test_households_are_not_matches(
    trained: Linker, households: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    truth = households[2]
    pairs = trained.predict(threshold=1e-4)
    with_deps = trained.evaluate(pairs, truth, trained.auto_threshold())
    lam = trained.parameters.probability_two_random_records_match
    true_lam = truth.height / (N * N)

    # the same trained model without its dependencies: the independence assumption
    trained.parameters.dependencies, saved = {}, trained.parameters.dependencies
    try:
        trained.estimate_lambda()
        independent = trained.evaluate(
            trained.predict(threshold=1e-4), truth, trained.auto_threshold()
        )
    finally:
        trained.parameters.dependencies = saved
        trained.estimate_lambda()

    assert with_deps.f1 >= 0.93, with_deps
    assert with_deps.precision >= 0.9 and with_deps.recall >= 0.9, with_deps
    assert with_deps.f1 >= independent.f1 + 0.2, (with_deps, independent)
    assert 0.7 * true_lam <= lam <= 1.4 * true_lam


def test_sql_weights_match_python(
    trained: Linker, households: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    """Predicted weights (SQL) equal the model's Python log2 Bayes factors plus the prior
    (comparisons without term-frequency adjustments, which only SQL applies)."""
    linker = Linker(
        person_settings(tf=False), households[0], households[1], parameters=trained.parameters
    )
    pairs = linker.predict(threshold=None)
    names = [c.name for c in linker.comparisons]
    patterns = pairs.select([c.gamma_column for c in linker.comparisons]).to_numpy()
    expected = linker.parameters.log2_bayes_factors(names, patterns.astype(np.int64))
    expected += linker.parameters.prior_weight()
    assert set(pairs["gamma_postcode"].unique()) >= {-1, 0, 4}  # every branch is exercised
    assert np.allclose(pairs["match_weight"].cast(pl.Float64).to_numpy(), expected)
    linker.close()


def test_waterfall_adds_up_with_dependencies(trained: Linker) -> None:
    pairs = trained.predict(threshold=0.01)
    sample = (
        pairs.filter(pl.col("gamma_postcode") != 4)
        .head(50)
        .vstack(pairs.filter(pl.col("gamma_postcode") == 4).head(50))
    )
    steps = trained.explain(sample)
    last = steps.group_by("id_l", "id_r").agg(pl.col("cumulative_weight").last())
    joined = last.join(sample.select("id_l", "id_r", "match_weight"), on=["id_l", "id_r"])
    assert joined.height == sample.height
    assert np.allclose(joined["cumulative_weight"], joined["match_weight"])


def test_model_round_trip_keeps_dependencies(trained: Linker) -> None:
    data = trained.parameters.to_dict()
    again = ModelParameters.from_dict(data)
    assert again.dependencies == trained.parameters.dependencies
    legacy = {k: v for k, v in data.items() if k != "dependencies"}
    assert ModelParameters.from_dict(legacy).dependencies == {}


@pytest.mark.parametrize(
    ("anchor_gamma", "expected"),
    [(1, "top"), (0, "other"), (-1, "plain")],
)
def test_conditional_weight_branches(anchor_gamma: int, expected: str) -> None:
    params = ModelParameters.from_dict(
        {
            "probability_two_random_records_match": 0.01,
            "comparisons": [
                {
                    "name": "a",
                    "levels": [
                        {"gamma": 0, "label": "else", "m": 0.1, "u": 0.9},
                        {"gamma": 1, "label": "exact", "m": 0.9, "u": 0.1},
                    ],
                },
                {
                    "name": "b",
                    "levels": [
                        {"gamma": 0, "label": "else", "m": 0.2, "u": 0.8},
                        {"gamma": 1, "label": "exact", "m": 0.8, "u": 0.2},
                    ],
                },
            ],
        }
    )
    params.dependencies["b"] = Dependency(
        ("a",), (1,), [0.1, 0.9], [0.5, 0.5], [0.7, 0.3], [0.99, 0.01]
    )
    got = params.log2_bayes_factors(["a", "b"], np.array([[anchor_gamma, 1]]))[0]
    a_weight = {1: np.log2(9.0), 0: np.log2(0.1 / 0.9), -1: 0.0}[anchor_gamma]
    b_weight = {
        "top": np.log2(0.9 / 0.5),
        "other": np.log2(0.3 / 0.01),
        "plain": np.log2(0.8 / 0.2),
    }[expected]
    assert got == pytest.approx(a_weight + b_weight)


def _three_exact_comparisons() -> tuple[list[ExactComparison], ModelParameters]:
    """Comparisons postcode, house and street (exact: gammas -1, 0, 1) and a model where
    street depends on the key postcode + house, with a partial state given postcode alone."""
    comparisons, params = exact_model(("postcode", "house", "street"), 0.9, 0.01, 1e-3)
    on_key = Dependency(("postcode", "house"), (1, 1), [0.1, 0.9], [0.2, 0.8], [0.3, 0.7], U3)
    given_postcode = Dependency(("postcode",), (1,), [0.15, 0.85], [0.4, 0.6], [0.1, 0.9], U3)
    params.dependencies["street"] = on_key.given_prefix(1, given_postcode)
    return comparisons, params


U3 = [0.995, 0.005]
#: (postcode, house) gammas -> street's state: key at top, postcode alone (house different
#: or null), postcode different (other), postcode null (ordinary m/u)
STREET_STATES = {
    (1, 1): ("top", 0.9 / 0.8),
    (1, 0): ("partial", 0.85 / 0.6),
    (1, -1): ("partial", 0.85 / 0.6),
    (0, 1): ("other", 0.7 / 0.005),
    (0, -1): ("plain", 0.9 / 0.01),
    (-1, 1): ("plain", 0.9 / 0.01),
}


def test_a_household_key_dependent_uses_its_anchor_prefix_where_only_that_agrees() -> None:
    """Street given the household key (postcode + house): a pair of neighbours (same postcode,
    another house number or none) has street at its u given the postcode alone, not at its
    unconditional u (the 3M x 3M household links: ~7 bits counted twice), in the numpy, SQL
    and waterfall scorers alike."""
    comparisons, params = _three_exact_comparisons()
    rows = [(*anchor, 1) for anchor in STREET_STATES]
    patterns = np.array(rows, dtype=np.int64)
    anchor_weights = np.array(
        [
            sum(
                np.log2(0.9 / 0.01) if g == 1 else np.log2(0.1 / 0.99) if g == 0 else 0.0 for g in a
            )
            for a in STREET_STATES
        ]
    )
    street = np.log2([bf for _, bf in STREET_STATES.values()])
    expected = params.prior_weight() + anchor_weights + street
    assert_scorers_agree(comparisons, params, patterns, expected)


def test_a_partial_state_round_trips_and_needs_a_shorter_prefix() -> None:
    _, params = _three_exact_comparisons()
    again = ModelParameters.from_dict(params.to_dict())
    assert again.dependencies == params.dependencies
    assert again.dependencies["street"].prefix == 1
    dep = params.dependencies["street"]
    with pytest.raises(SettingsError, match="shorter prefix"):
        Dependency(dep.anchor, dep.anchor_top, *([0.5, 0.5],) * 4, prefix=2)


def test_em_holds_comparisons_not_free() -> None:
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 2, size=(200, 2))
    counts = rng.integers(1, 50, size=200).astype(float)
    m0 = [np.array([0.3, 0.7]), np.array([0.4, 0.6])]
    u0 = [np.array([0.8, 0.2]), np.array([0.7, 0.3])]
    result = expectation_maximisation(
        patterns, counts, m0, u0, 0.2, estimate_u=True, free_m=[False, True]
    )
    assert np.array_equal(result.m[0], m0[0]) and np.array_equal(result.u[0], u0[0])
    assert not np.allclose(result.m[1], m0[1])


def test_agreement_counts_are_counted_once(
    households: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training asks for the pairs agreeing on an anchor's columns many times (each anchor,
    joint and household key, and again after refine_m): each set is counted once, from the
    stored comparison vectors where a prediction block holds its pairs (every set here but
    two), and the count kept is the tables' count."""
    from linkage.blocking import agreement_count_sql
    from linkage.tables import LEFT_TABLE, RIGHT_TABLE

    linker = Linker(person_settings(), households[0], households[1])
    asked: list[str] = []
    rows = linker.backend.rows

    def counting(sql: str) -> list[tuple[object, ...]]:
        asked.append(sql)
        return rows(sql)

    monkeypatch.setattr(linker.backend, "rows", counting)
    linker.train(seed=12)
    counts = [sql for sql in asked if "sum(a.n * b.n)" in sql]
    kept = linker._trainer._agreeing
    assert len(kept) >= 2 and len(counts) == len(set(counts))
    unstored = [
        key
        for key in kept
        if linker._trainer._stored_agreeing(frozenset(key[0]), frozenset(key[1])) is None
    ]
    # no prediction rule blocks on these columns: counted by SQL, once each (house number
    # alone: whether the pairs sharing it are few enough to judge postcode's near level,
    # linkage/near_tops.py)
    unstored_expected = [
        (("first_name",), ()),
        (("house_number",), ()),
        (("house_number",), ("postcode",)),
    ]
    assert sorted(unstored) == unstored_expected
    assert len(counts) == len(unstored)
    for (columns, present), n in kept.items():
        sql = agreement_count_sql(columns, "link_only", LEFT_TABLE, RIGHT_TABLE, present=present)
        assert n == rows(sql)[0][0]
