"""The hard business generator: deterministic, the promised composition, identifiers pprl
accepts, and truth that agrees with the register; and the scoring's error kinds."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.business.hard import HardDataset, generate
from benchmarks.business.hard.names import same_as_key
from benchmarks.business.hard.vocab import AGENT_ADDRESSES
from benchmarks.business.hard_score import judge, metrics
from pseudonym.identifiers import check

N_REGISTER, N_INCOMING = 4000, 600


@pytest.fixture(scope="module")
def data() -> HardDataset:
    return generate(N_REGISTER, N_INCOMING, seed=11)


def test_same_seed_same_data_other_seed_other_data(data: HardDataset) -> None:
    again = generate(N_REGISTER, N_INCOMING, seed=11)
    assert again.register.equals(data.register)
    assert again.incoming.equals(data.incoming)
    assert again.truth.equals(data.truth)
    other = generate(N_REGISTER, N_INCOMING, seed=12)
    assert not other.incoming.equals(data.incoming)


def test_sizes_and_share_in_register(data: HardDataset) -> None:
    assert data.register.height == N_REGISTER
    assert data.incoming.height == data.truth.height == N_INCOMING
    assert data.truth["entref"].is_not_null().sum() == round(0.8 * N_INCOMING)
    scenarios = set(data.truth["scenario"].unique())
    assert scenarios == {"in_register", "unregistered_sibling", "namesake", "outside"}


@pytest.mark.parametrize("id_type", ["crn", "vat", "paye"])
def test_register_identifiers_are_valid_and_distinct(data: HardDataset, id_type: str) -> None:
    values = data.register[id_type].drop_nulls()
    assert values.len() > N_REGISTER * 0.1
    result = check(id_type, values)
    assert result["reason"].null_count() == values.len()
    assert values.n_unique() == values.len()


def test_live_company_names_are_distinct_as_companies_house_requires(data: HardDataset) -> None:
    live = data.register.filter((pl.col("status") != "dissolved") & pl.col("crn").is_not_null())
    keys = [same_as_key(name) for name in live["legal_name"]]
    assert len(set(keys)) == len(keys)


def test_sisters_share_an_address_and_agents_hold_many(data: HardDataset) -> None:
    register = data.register.join(data.register_truth, on="entref")
    by_family = register.group_by("family_id").agg(
        pl.len().alias("n"), pl.col("postcode").n_unique().alias("postcodes")
    )
    families = by_family.filter(pl.col("n") > 1)
    assert families.height > N_REGISTER * 0.05
    assert (families["postcodes"] == 1).mean() > 0.8  # type: ignore[operator]
    agent_lines = {f"{line}" for line, _, _ in AGENT_ADDRESSES}
    busiest = register.group_by("address").len().sort("len", descending=True).row(0)
    assert busiest[0] in agent_lines and busiest[1] >= 5


def test_truth_agrees_with_the_register(data: HardDataset) -> None:
    truth = data.truth.join(
        data.register_truth.rename({"family_id": "reg_family", "company_id": "reg_company"}),
        on="entref",
        how="left",
    )
    in_register = truth.filter(pl.col("entref").is_not_null())
    assert (in_register["reg_company"] == in_register["company_id"]).all()
    siblings = truth.filter(pl.col("scenario") == "unregistered_sibling")
    registered_families = set(data.register_truth["family_id"])
    assert siblings.height > 0
    assert all(f in registered_families for f in siblings["family_id"])
    given = data.incoming.join(data.truth, on="incoming_id").filter(
        pl.col("ids_given").str.contains("crn") & ~pl.col("id_mistyped")
    )
    valid = check("crn", given["crn"])
    assert valid["reason"].null_count() == given.height


def test_judge_names_each_kind_of_wrong_link() -> None:
    truth = pl.DataFrame(
        {
            "incoming_id": ["a", "b", "c", "d", "e"],
            "entref": ["E1", None, "E3", "E4", "E5"],
            "family_id": [1, 2, 3, 4, 5],
            "stem": ["X", "Y", "Z", "W", "V"],
        }
    )
    register_truth = pl.DataFrame(
        {
            "entref": ["E1", "E2", "E3", "E4", "E5", "E9"],
            "family_id": [1, 2, 3, 4, 5, 8],
            "stem": ["X", "Y", "Z", "W", "V", "Z"],
        }
    )
    links = pl.DataFrame({"incoming_id": ["a", "b", "c", "d"], "entref": ["E1", "E2", "E9", "E5"]})
    crns = links.select("incoming_id", linked_entref="entref", id_contradicted=pl.lit(False))
    judged = judge(links, truth, register_truth, crns)
    assert judged.sort("incoming_id")["error"].to_list() == [
        None,
        "sister",
        "namesake",
        "other",
        None,
    ]
    overall = metrics(
        judged.with_columns(
            scenario=pl.lit("in_register"),
            sisters_in_register=0,
            namesakes_in_register=0,
            address_kind=pl.lit("registered"),
            name_variations=pl.lit(""),
            ids_given=pl.lit(""),
            status=pl.lit("active"),
        )
    )["overall"]
    assert overall["precision"] == 0.25 and overall["recall"] == 0.25  # type: ignore[index]
    assert overall["sister_wrong_share_of_incoming"] == 0.2  # type: ignore[index]


def test_pprl_statuses_are_counted_per_group_not_the_company_status() -> None:
    from benchmarks.business.hard_bench import statuses_by_group

    truth = pl.DataFrame(
        {
            "incoming_id": ["a", "b", "c"],
            "status": ["active", "dissolved", "active"],  # the company's register status
            "scenario": ["in_register", "in_register", "outside"],
            "sisters_in_register": [1, 0, 0],
            "namesakes_in_register": [0, 0, 0],
            "address_kind": ["registered"] * 3,
            "name_variations": [""] * 3,
            "ids_given": [""] * 3,
        }
    )
    results = pl.DataFrame(
        {"incoming_id": ["a", "b", "c"], "status": ["review", "matched_exact", "not_found"]}
    )
    counts = statuses_by_group(results, truth)
    assert counts["all"] == {"matched_exact": 1, "not_found": 1, "review": 1}
    assert counts["in_register_with_registered_sister"] == {"review": 1}
    assert counts["dissolved"] == {"matched_exact": 1}
