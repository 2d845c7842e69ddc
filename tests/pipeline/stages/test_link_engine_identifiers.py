"""Identifiers as linkage evidence through the real engine (pipeline/stages/link_engine.py):
shared valid identifiers link, differing ones count strongly against, ``match: auto``."""

from __future__ import annotations

import math

import polars as pl
import pytest

from linkage import Linker
from pipeline.config import LinkageSpec
from pipeline.stages.link import UID, link_batch, linkage_view
from pipeline.stages.link_engine import (
    MAX_IDENTIFIER_DISAGREEMENT,
    _bind,
    _bound_identifier_disagreement,
    facade_linker,
)
from pipeline.stages.link_records import LinkRecords
from pseudonym.identifiers import check
from synthetic.persons import generate_person_pair
from tests.pipeline.runner_support import generated_link_side, make_nhs

TWIN_A, TWIN_B = make_nhs(10_001), make_nhs(10_002)

ROLES = ["first_name", "surname", "date_of_birth", "postcode", "sex"]
SPEC = {
    "mode": "link",
    "blocking": ["identifier:nhs", "date_of_birth", "surname & postcode"],
    "comparisons": {
        "identifier:nhs": "identifier",
        "first_name": "name",
        "surname": "name",
        "date_of_birth": "date",
        "postcode": "postcode",
    },
    "thresholds": {"match": "auto", "review": 0.5},
}


def _records(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame as the link stage receives it (accounting columns instead of ``_uid``)."""
    parts = frame[UID].str.split("|")
    return frame.drop(UID).with_columns(
        _file=parts.list.get(1), _row=parts.list.get(2).cast(pl.Int64)
    )


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    gp, hospital, _ = generate_person_pair(500, 400, overlap=0.8, seed=11)
    view = pl.concat([generated_link_side(gp, "gp"), generated_link_side(hospital, "hospital")])
    shared = view.drop_nulls("id_nhs").group_by("id_nhs").agg(pl.col("_source").n_unique())
    number = shared.filter(pl.col("_source") == 2)["id_nhs"].sort()[0]
    # the same person with every other field changed: only the NHS number says it is them
    changed = {"first_name": "ZEPHANIAH", "surname": "QUORNDON", "date_of_birth": "1901-01-01",
               "postcode": "ZZ9 9ZZ", "sex": "X"}  # fmt: skip
    view = view.with_columns(
        pl.when((pl.col("_source") == "hospital") & (pl.col("id_nhs") == number))
        .then(pl.lit(value))
        .otherwise(pl.col(role))
        .alias(role)
        for role, value in changed.items()
    )
    # twins: same surname, birth date and postcode, different first names and NHS numbers
    twin = {"surname": "ABERNETHY", "date_of_birth": "1990-05-17", "postcode": "AB1 2CD"}
    twins = pl.DataFrame(
        [
            ("hospital|f.csv|9001", "hospital", TWIN_A, "MORAG", "F"),
            ("gp|f.csv|9001", "gp", TWIN_A, "MORAG", "F"),
            ("gp|f.csv|9002", "gp", TWIN_B, "ISLA", "F"),
        ],
        schema=[UID, "_source", "id_nhs", "first_name", "sex"],
        orient="row",
    ).with_columns(**{k: pl.lit(v) for k, v in twin.items()})
    return pl.concat([view, twins.select(view.columns)])


def test_shared_numbers_link_and_differing_ones_keep_twins_apart(people: pl.DataFrame) -> None:
    assert check("nhs", pl.Series([TWIN_A, TWIN_B]))["reason"].is_null().all()
    assert people["id_nhs"].value_counts().filter(pl.col("id_nhs") == TWIN_B)["count"][0] == 1
    records = _records(people)
    outcome = link_batch(linkage_view(records), LinkageSpec.model_validate(SPEC), facade_linker)
    linked = records.with_columns(pl.format("{}|{}|{}", "_source", "_file", "_row").alias(UID))
    linked = linked.join(outcome.assigned, on=UID)
    entity = dict(zip(linked[UID], linked["_entity"], strict=True))
    with_numbers = linked.drop_nulls("id_nhs")
    per_number = with_numbers.group_by("id_nhs").agg(pl.col("_entity").n_unique())
    assert (per_number["_entity"] == 1).all()  # every number: one person
    per_person = with_numbers.group_by("_entity", "_source").agg(pl.col("id_nhs").n_unique())
    assert (per_person["id_nhs"] == 1).all()  # every person: one number per source
    assert entity["hospital|f.csv|9001"] == entity["gp|f.csv|9001"]
    assert entity["gp|f.csv|9002"] != entity["hospital|f.csv|9001"]  # the twin
    changed = linked.filter(pl.col("surname") == "QUORNDON")
    assert changed.height == 1 and bool(changed["linked"][0])  # linked on its number alone
    assert outcome.counts["identifier_links"] == with_numbers.height - per_number.height
    assert 0.0 < (outcome.match_threshold or 0.0) < 1.0


def test_auto_uses_the_models_threshold_and_review_follows_it_down(
    people: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Linker, "auto_threshold", lambda self: 0.42)
    auto = facade_linker(people, LinkageSpec.model_validate(SPEC))
    assert (auto.match, auto.review) == (0.42, 0.42)
    assert auto.pairs["match_probability"].min() >= 0.42
    fixed = {**SPEC, "thresholds": {"match": 0.95, "review": 0.5}}
    given = facade_linker(people, LinkageSpec.model_validate(fixed))
    assert (given.match, given.review) == (0.95, 0.5)
    assert given.pairs["match_probability"].min() >= 0.5


def test_a_differing_valid_identifier_counts_at_least_ten_bits_against(
    people: pl.DataFrame,
) -> None:
    spec = LinkageSpec.model_validate(SPEC)
    linker, _ = _bind(LinkRecords.from_view(people, spec), spec)
    try:
        linker.train()
        params = linker.parameters.comparisons["id_nhs"]
        params.m = [0.05, 0.95]  # as EM learns it when its match class takes in households
        before = linker.parameters.probability_two_random_records_match
        _bound_identifier_disagreement(linker, spec)
        assert params.m == pytest.approx([MAX_IDENTIFIER_DISAGREEMENT, 1 - 1e-3])
        u_other = params.u[0] or 1.0
        assert linker.parameters.weights("id_nhs")[0] == pytest.approx(
            math.log2(MAX_IDENTIFIER_DISAGREEMENT / u_other)
        )
        assert linker.parameters.weights("id_nhs")[0] < -9.9
        assert linker.parameters.probability_two_random_records_match != before
        params.m = [1e-4, 1 - 1e-4]  # already stronger: left alone
        _bound_identifier_disagreement(linker, spec)
        assert params.m == [1e-4, 1 - 1e-4]
    finally:
        linker.close()
