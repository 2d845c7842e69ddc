"""Training the business model: identifier disagreement counted on pairs another identifier
confirmed, pairs that are each other's only candidate, capped and floored levels, and a
names-only run trained without EM on the hard generator's data."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import polars as pl
import pytest

from benchmarks.business.hard import generate
from linkage import Linker
from linkage.company_names import CompanyNameComparison
from linkage.model import PROBABILITY_FLOOR
from pipeline.business.columns import IncomingColumns
from pipeline.business.register_link import link_to_register
from pipeline.business.training import (
    WORDS_ADDED_M,
    NameCounts,
    _capped,
    _floored,
    _only_each_other,
    held_once_lifts,
    identifier_disagreement,
    set_held_once,
)
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser


def test_identifier_disagreement_uses_pairs_another_identifier_confirmed() -> None:
    confirmed = pl.DataFrame(
        {
            "uid": [0, 1, 2, 3, 4],
            "reg_uid": [0, 1, 2, 3, 4],
            "method": ["crn", "vat", "crn+vat", "vat", "vat"],
        }
    )
    incoming = pl.DataFrame(
        {
            "uid": [0, 1, 2, 3, 4],
            "crn_norm": ["01234567", "11111111", "02222222", None, "04444444"],
            "vat_norm": ["100000001", "200000002", "300000003", "400000004", "500000005"],
        }
    )
    register = pl.DataFrame(
        {
            "uid": [0, 1, 2, 3, 4],
            "crn_norm": ["01234567", "98765432", "02222222", "03333333", "04444454"],
            "vat_norm": ["900000009", "200000002", "300000003", "400000004", "500000005"],
        }
    )
    got = identifier_disagreement(confirmed, incoming, register, ["crn", "vat"])
    # crn: pairs 1 and 2 (a VAT confirmed them; pair 3 has no incoming CRN; pair 4's CRNs are
    # one keystroke apart, a slip, scored like a missing CRN), pair 1 disagrees;
    # vat: pairs 0 and 2 (a CRN confirmed them), pair 0 disagrees
    assert got == {"crn": (2, 1), "vat": (2, 1)}


def test_only_each_other() -> None:
    words = pl.Series([[]] * 4, dtype=pl.List(pl.String))
    incoming = pl.DataFrame(
        {"uid": [0, 1, 2, 3], "postcode_std": ["A1", "B2", "B2", "C3"], "name_words": words}
    )
    register = pl.DataFrame(
        {"uid": [0, 1, 2, 3], "postcode_std": ["A1", "B2", "C3", "C3"], "name_words": words}
    )
    got = _only_each_other(incoming, register, ["postcode_std"])
    assert got.rows() == [(0, 0)]  # B2 has two records, C3 two register rows


def test_capped_and_floored_levels_keep_a_distribution() -> None:
    assert _capped([0.1, 0.3, 0.6], 0, 0.01) == pytest.approx([0.01, 0.33, 0.66])
    assert _capped([0.001, 0.3, 0.699], 0, 0.01)[0] == 0.001
    assert _floored([0.0, 0.5, 0.5], 0, 0.02) == pytest.approx([0.02, 0.49, 0.49])


def test_a_names_only_run_learns_m_from_agreement(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = generate(6000, 1500, seed=5)
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    outcome = link_to_register(
        data.incoming.drop("crn", "vat", "paye"),
        data.register,
        Pseudonymiser.from_keystore(keystore, "project"),
        incoming_columns=IncomingColumns(key="incoming_id"),
    )
    training = outcome.facts["probabilistic"]
    assert isinstance(training, dict) and training["labelled_pairs"] == 0
    assert str(training["m_from"]).startswith("pairs alone at their postcode")
    assert int(training["pairs_alone_at_postcode"]) > 100
    links = outcome.results.filter(pl.col("status") == "matched_probabilistic")
    judged = links.join(data.truth.rename({"incoming_id": "key"}), on="key", suffix="_true")
    precision = (judged["entref"] == judged["entref_true"]).fill_null(False).mean()
    recall = (judged["entref"] == judged["entref_true"]).sum() / data.truth["entref"].count()
    assert precision is not None and precision >= 0.95 and recall >= 0.75
    assert WORDS_ADDED_M <= 0.001


def test_held_once_lift_restores_what_the_probability_floor_cuts() -> None:
    """The held-once u is a Good-Turing frequency, below the engine's floor for unseen levels
    at a large register: the lift is the bits the floor would take from its weight."""
    comparison = CompanyNameComparison(
        "name_core", trading_column=None, held_column="name_held", words_column="name_words",
        name="company_name",
    )  # fmt: skip
    once = comparison.level_info()[1].gamma  # the level after the null level
    u = [0.1] * len(comparison.level_info())

    def linker(u_once: float) -> Linker:
        held = list(u)
        held[once] = u_once
        parameters = SimpleNamespace(comparisons={"company_name": SimpleNamespace(u=held)})
        return cast(Linker, SimpleNamespace(comparisons=[comparison], parameters=parameters))

    assert held_once_lifts(linker(PROBABILITY_FLOOR / 8)) == [(once, pytest.approx(3.0))]
    assert held_once_lifts(linker(PROBABILITY_FLOOR * 2)) == [(once, 0.0)]
    assert held_once_lifts(linker(0.0)) == [(once, 0.0)]


def test_rare_levels_share_m_with_the_levels_they_refine() -> None:
    """A held-once name is the exact level's rare part, a name one keystroke from one the
    similar-names level's: each pair of levels gets their summed m (rarity changes u, not m);
    the held-once u is the Good-Turing frequency, the near level keeps its own."""
    comparison = CompanyNameComparison(
        "name_core", trading_column=None, held_column="name_held", words_column="name_words",
        compact_column="name_compact", name="company_name",
    )  # fmt: skip
    labels = {i.label.split(" ")[1]: i.gamma for i in comparison.level_info()}
    once, near = labels["exact,"], labels["one"]
    exact, similar = comparison.tf_gamma, labels["jaro-winkler"]
    assert exact is not None and len({once, near, exact, similar}) == 4
    m = [0.01 * (g + 1) for g in range(len(comparison.level_info()) - 1)]
    u = [0.001] * len(m)
    parameters = SimpleNamespace(m=list(m), u=list(u))
    linker = SimpleNamespace(
        comparisons=[comparison],
        parameters=SimpleNamespace(comparisons={"company_name": parameters}),
    )
    facts = set_held_once(cast(Linker, linker), NameCounts(rows=1000, held_once=800, held_twice=40))
    assert parameters.m[once] == parameters.m[exact] == pytest.approx(m[once] + m[exact])
    assert parameters.m[near] == parameters.m[similar] == pytest.approx(m[near] + m[similar])
    assert parameters.u[once] == pytest.approx(2 * 40 / 800 / 1000) == facts["frequency"]
    assert parameters.u[near] == u[near]
