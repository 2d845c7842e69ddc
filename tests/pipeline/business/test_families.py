"""Sister companies at one postcode (:mod:`pipeline.business.families`): a record whose name
core and postcode agree with a register row's, but whose distinguishing words differ from it,
is scored by its words against the register's own families, not by core and postcode counted
as independent evidence. Without it an unregistered "X HOLDINGS LTD" scored about 0.6 against
the registered "X LTD" at its address, and the automatic threshold linked it."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from benchmarks.business.hard import generate
from benchmarks.business.hard_score import crn_conflicts, judge, metrics
from linkage.model import ModelParameters
from pipeline.business.columns import IncomingColumns
from pipeline.business.families import (
    family_weights,
    fit_match_share,
    register_family_relations,
)
from pipeline.business.probabilistic import comparisons
from pipeline.business.register_link import MATCHED, link_to_register
from pipeline.business.settings import MatchSettings
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser


def _register(rows: list[tuple[str, list[str], str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name_core": [r[0] for r in rows],
            "name_words": [r[1] for r in rows],
            "postcode_std": [r[2] for r in rows],
        },
        schema_overrides={"name_words": pl.List(pl.String)},
    )


@pytest.mark.parametrize(
    ("left", "right", "relation"),
    [
        ([], ["HOLDINGS"], "fewer"),
        (["HOLDINGS"], [], "other"),
        (["GROUP"], ["HOLDINGS"], "other"),
        (["HOLDINGS"], ["HOLDINGS"], "same"),
        ([], [], "none"),
        (["GROUP"], ["GROUP", "HOLDINGS"], "fewer"),
    ],
)
def test_family_relations_follow_the_words_levels(
    left: list[str], right: list[str], relation: str
) -> None:
    register = _register([("ACME", left, "AB1 2CD"), ("ACME", right, "AB1 2CD")])
    relations = register_family_relations(register)["relation"].to_list()
    mirrored = {"fewer": "other", "other": None, "same": "same", "none": "none"}[relation]
    assert relations[0] == relation
    if mirrored is not None:
        assert relations[1] == mirrored


def test_only_rows_with_the_same_core_at_the_same_postcode_are_a_family() -> None:
    register = _register(
        [
            ("ACME", [], "AB1 2CD"),
            ("ACME", ["HOLDINGS"], "AB1 2CD"),
            ("ACME", ["GROUP"], "ZZ9 9ZZ"),  # elsewhere: a namesake, not the family
            ("BOLT", ["GROUP"], "AB1 2CD"),  # same office, another core
            ("CRANE", [], None),
        ]
    )
    assert sorted(register_family_relations(register)["relation"].to_list()) == [
        "fewer",
        "other",
    ]


@pytest.mark.parametrize("share", [0.05, 0.3, 0.8])
def test_the_match_share_is_recovered_from_a_mixture_with_known_m_and_u(share: float) -> None:
    m = {0: 0.001, 1: 0.02, 2: 0.7, 3: 0.279}
    u = {0: 0.6, 1: 0.35, 2: 0.04, 3: 0.01}
    rng = random.Random(7)
    counts = dict.fromkeys(m, 0)
    levels = list(m)
    for _ in range(40_000):
        source = m if rng.random() < share else u
        counts[rng.choices(levels, weights=[source[g] for g in levels])[0]] += 1
    assert fit_match_share(counts, m, u) == pytest.approx(share, abs=0.02)


def _model() -> tuple[list, ModelParameters]:
    compared = comparisons(0.001, [], (10, 100))
    parameters = ModelParameters.initial(compared, 1e-5)
    for p in parameters.comparisons.values():
        p.u = [1.0 / len(p.m)] * len(p.m)
    return compared, parameters


def _gammas(compared: list) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for c in compared:
        out[c.name] = {info.label: info.gamma for info in c.level_info()}
    return out


def test_a_differing_word_at_the_same_core_and_postcode_is_scored_against_families() -> None:
    compared, parameters = _model()
    g = _gammas(compared)
    exact = g["company_name"]["name_core exact"]
    at_postcode = g["location"]["postcode_std exact"]
    other_words = g["company_words"]["all other"]
    no_words = g["company_words"][
        "name_words no words on either side (best of legal/trading_words)"
    ]
    elsewhere = g["location"]["all other"]
    rows = [  # (name, words, location): in the family state or not
        (exact, other_words, at_postcode),
        (exact, no_words, at_postcode),
        (exact, other_words, elsewhere),
    ] * 20
    pairs = pl.DataFrame(
        {
            "gamma_company_name": [r[0] for r in rows],
            "gamma_company_words": [r[1] for r in rows],
            "gamma_location": [r[2] for r in rows],
            "gamma_legal_form": [-1] * len(rows),
            "match_weight": [5.0] * len(rows),
        },
        schema_overrides={c: pl.Int8 for c in ("gamma_company_name", "gamma_company_words")},
    )
    register = _register([("ACME", [], "AB1 2CD"), ("ACME", ["HOLDINGS"], "AB1 2CD")] * 20)
    family = family_weights(pairs, register, compared, parameters, min_pairs=30)
    assert family is not None
    scored = pairs.with_columns(
        pl.when(family.in_family())
        .then(family.weight())
        .otherwise(pl.col("match_weight"))
        .alias("match_weight")
    )["match_weight"].to_list()
    m = parameters.comparisons["company_words"].m[other_words]
    expected = math.log2(family.lambda_ / (1 - family.lambda_)) + math.log2(
        m / family.words_u[other_words]
    )
    assert scored[0] == pytest.approx(expected)
    assert scored[1] == 5.0  # the words agree: the model's own weight
    assert scored[2] == 5.0  # elsewhere: not a family at one office
    too_few = family_weights(pairs.head(10), register, compared, parameters, min_pairs=30)
    assert too_few is None


def test_unregistered_sisters_stay_unlinked_at_the_automatic_threshold(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = generate(6000, 1500, seed=5)
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    outcome = link_to_register(
        data.incoming,
        data.register,
        Pseudonymiser.from_keystore(keystore, "project"),
        incoming_columns=IncomingColumns(key="incoming_id"),
        settings=MatchSettings(match_threshold="auto"),
    )
    results = outcome.results.rename({"key": "incoming_id"})
    links = results.filter(pl.col("status").is_in(list(MATCHED))).select("incoming_id", "entref")
    conflicts = crn_conflicts(data.incoming, data.register, links)
    overall = metrics(judge(links, data.truth, data.register_truth, conflicts))["overall"]
    assert isinstance(overall, dict)
    assert overall["sister_wrong_share_of_incoming"] <= 0.01  # 1.8% without the family scoring
    assert overall["precision"] >= 0.98
    families = outcome.facts["probabilistic"]["families"]  # type: ignore[index]
    assert families is not None and families["words_bits"]["0"] < -8
