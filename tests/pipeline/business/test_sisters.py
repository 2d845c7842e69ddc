"""Sister companies on the hard generator's data (small): "X LTD" and "X HOLDINGS LTD" at one
address are told apart by the record's own words, unregistered sisters are not linked to a
registered one, and a valid CRN the register lacks never links by name to another company."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.business.hard import HardDataset, generate
from benchmarks.business.hard_score import crn_conflicts, judge, metrics
from pipeline.business.columns import IncomingColumns
from pipeline.business.register_link import MATCHED, link_to_register
from pseudonym.keys import generate_master_key
from pseudonym.keystore import Keystore
from pseudonym.tokens import Pseudonymiser


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[HardDataset, pl.DataFrame]:
    data = generate(6000, 1500, seed=5)
    keystore = Keystore.create(tmp_path_factory.mktemp("ks"), master=generate_master_key())
    keystore.add_environment("project")
    pseudonymiser = Pseudonymiser.from_keystore(keystore, "project")
    outcome = link_to_register(
        data.incoming,
        data.register,
        pseudonymiser,
        incoming_columns=IncomingColumns(key="incoming_id"),
    )
    return data, outcome.results.rename({"key": "incoming_id"})


def test_sisters_are_told_apart(linked: tuple[HardDataset, pl.DataFrame]) -> None:
    data, results = linked
    links = results.filter(pl.col("status").is_in(list(MATCHED))).select("incoming_id", "entref")
    conflicts = crn_conflicts(data.incoming, data.register, links)
    scored = metrics(judge(links, data.truth, data.register_truth, conflicts))
    overall, groups = scored["overall"], scored["by_group"]
    assert isinstance(overall, dict) and isinstance(groups, dict)
    assert overall["precision"] >= 0.97 and overall["recall"] >= 0.88
    assert overall["sister_wrong_share_of_incoming"] <= 0.01
    assert overall["id_contradicted_wrong_links"] == 0
    # registered companies with a registered sister: linked, and to the right one
    with_sister = groups["in_register_with_registered_sister"]
    assert with_sister["recall"] >= 0.85 and with_sister["precision"] >= 0.98
    statuses = results.join(data.truth, on="incoming_id").filter(
        (pl.col("scenario") == "in_register") & (pl.col("sisters_in_register") > 0)
    )["status"]
    assert (statuses == "ambiguous").mean() <= 0.05  # type: ignore[operator]
