"""Stable entity ids across runs (pipeline/entities.py) and the person_id pseudonym.

Literal cases for the numbering rule, the registry's replace-by-record behaviour, and end to
end: the same inputs give unrelated person_ids in two environments and the same person_ids
in one environment whether they arrive in one run or in two.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.entities import ENTITY, EXISTING, MERGED, UID, assign_entities, rename_held
from tests.pipeline.runner_support import (
    ENVIRONMENT,
    demo_config,
    demo_workspace,
    without_chart_rendering,
)


def _clusters(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({UID: list(mapping), "cluster": list(mapping.values())})


def _by_uid(frame: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(frame[UID].to_list(), frame[column].to_list(), strict=True))


def test_first_run_names_each_cluster_after_its_smallest_record() -> None:
    out = assign_entities(_clusters({"s|f|3": "x", "s|f|2": "y", "s|f|4": "x"}), None)
    assert _by_uid(out, ENTITY) == {"s|f|2": "s|f|2", "s|f|3": "s|f|3", "s|f|4": "s|f|3"}
    assert _by_uid(out, "linked") == {"s|f|2": False, "s|f|3": True, "s|f|4": True}
    assert not out[EXISTING].any() and not out[MERGED].any()


def test_new_records_join_earlier_entities_and_fresh_ones_are_named_by_their_records() -> None:
    history = pl.DataFrame({UID: ["a|1|2", "a|1|3"], "_source": ["a", "a"], ENTITY: [7, 4]})
    clusters = _clusters({"a|1|2": "c1", "b|9|2": "c1", "b|9|3": "c2", "a|1|3": "c3"})
    out = assign_entities(clusters, history)
    assert set(out[UID]) == {"b|9|2", "b|9|3"}  # earlier records are not re-labelled
    # the whole numbers of an older registry are read as the text pseudonymise always keyed
    assert _by_uid(out, ENTITY) == {"b|9|2": "7", "b|9|3": "b|9|3"}
    assert _by_uid(out, EXISTING) == {"b|9|2": True, "b|9|3": False}
    assert _by_uid(out, "linked") == {"b|9|2": True, "b|9|3": False}


def test_a_record_joining_two_earlier_entities_takes_the_smaller_and_is_marked_merged() -> None:
    history = pl.DataFrame(
        {UID: ["a|1|2", "a|1|3"], "_source": ["a", "a"], ENTITY: ["a|1|2", "a|0|9"]}
    )
    out = assign_entities(_clusters({"a|1|2": "c", "a|1|3": "c", "b|1|2": "c"}), history)
    assert _by_uid(out, ENTITY) == {"b|1|2": "a|0|9"}
    assert _by_uid(out, MERGED) == {"b|1|2": True}


def test_a_new_entity_keeps_its_id_when_other_records_link_differently() -> None:
    """The reason entities are named by a record: numbered in sequence, one cluster split in
    two moved every later new entity's number, and so its person_id."""
    together = {"b|1|2": "p", "b|1|3": "p", "b|1|4": "q", "b|1|5": "r"}
    apart = {**together, "b|1|3": "s"}
    one = _by_uid(assign_entities(_clusters(together), None), ENTITY)
    two = _by_uid(assign_entities(_clusters(apart), None), ENTITY)
    assert {u for u in one if one[u] != two[u]} == {"b|1|3"}


def test_a_batch_processed_again_does_not_reuse_an_id_later_records_hold() -> None:
    # b|1|2 founded an entity in its first run, and a later run's record joined it; processed
    # again, b|1|2 no longer links to that record, so its new entity needs another id
    assigned = assign_entities(_clusters({"b|1|2": "x", "b|1|3": "y"}), None)
    held = pl.Series(["b|1|2", "b|1|2~1"])
    renamed = rename_held(assigned, held)
    assert _by_uid(renamed, ENTITY) == {"b|1|2": "b|1|2~2", "b|1|3": "b|1|3"}
    assert rename_held(assigned, pl.Series([], dtype=pl.String)).equals(assigned)


def test_an_entity_an_earlier_record_holds_is_not_renamed() -> None:
    history = pl.DataFrame({UID: ["a|1|2"], "_source": ["a"], ENTITY: ["b|1|2"]})
    assigned = assign_entities(_clusters({"a|1|2": "c", "b|1|2": "c"}), history)
    assert _by_uid(rename_held(assigned, pl.Series(["b|1|2"])), ENTITY) == {"b|1|2": "b|1|2"}


# --- end to end ---------------------------------------------------------------------------------


def _delivered(root: Path, name: str) -> pl.DataFrame:
    runs = sorted((root / f"out-{name}").glob("run-*"), key=lambda p: p.stat().st_mtime)
    parts = [
        pl.read_parquet(f)
        for r in runs
        for f in sorted(r.glob("*.parquet"))
        if f.name != "quarantine.parquet"
    ]
    return pl.concat(parts, how="diagonal_relaxed")


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    without_chart_rendering(monkeypatch)  # the reports are not compared
    return demo_workspace(tmp_path, monkeypatch), tmp_path / "keys"


def test_person_ids_are_keyed_per_environment(demo: tuple[Path, Path]) -> None:
    root, keystore = demo
    for env in (ENVIRONMENT, "other"):
        result = CliRunner().invoke(cli, ["run", str(demo_config(root, keystore, env))])
        assert result.exit_code == 0, result.output
    one, two = _delivered(root, ENVIRONMENT), _delivered(root, "other")
    assert one.height == two.height > 0
    assert set(one["person_id"]).isdisjoint(two["person_id"])
    assert one["person_id"].str.starts_with(one["pid_nhs"].drop_nulls()[0].split("_")[0]).all()
    # the same grouping of records into people, under unrelated names
    pairs = one.select("person_id").with_columns(two["person_id"].alias("other"))
    assert pairs.unique().height == one["person_id"].n_unique() == two["person_id"].n_unique()


def test_same_person_ids_whether_files_arrive_in_one_run_or_two(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    root, keystore = demo
    together = demo_config(root, keystore, ENVIRONMENT)
    assert CliRunner().invoke(cli, ["run", str(together)]).exit_code == 0
    # the same environment and inputs, with the GP register arriving in a second, later run
    split = demo_config(root, keystore, ENVIRONMENT, "split")
    gp = root / "demo-data/gp/register.csv"
    gp.rename(tmp_path / "register.csv")
    result = CliRunner().invoke(cli, ["run", str(split)])
    assert result.exit_code == 0, result.output
    (tmp_path / "register.csv").rename(gp)
    result = CliRunner().invoke(cli, ["run", str(split)])
    assert result.exit_code == 0, result.output
    runs = sorted((root / "out-split").glob("run-*"), key=lambda p: p.stat().st_mtime)
    manifest = json.loads((runs[-1] / "manifest.json").read_text())
    assert manifest["linkage"]["entities"]["records_joining_earlier_entities"] > 20
    one = _delivered(root, ENVIRONMENT).sort("pid_nhs", "record_key")
    two = _delivered(root, "split").sort("pid_nhs", "record_key")
    both = one.join(
        two, on=["source_dataset", "pid_nhs", "record_key"], suffix="_split", nulls_equal=True
    )
    assert both.height == one.height == two.height
    # a GP record linked to hospital records of the earlier run carries their person_id
    gp_linked = both.filter((pl.col("source_dataset") == "gp") & pl.col("linked_split"))
    hospital_ids = set(both.filter(pl.col("source_dataset") == "hospital")["person_id_split"])
    assert gp_linked.height > 20
    assert set(gp_linked["person_id_split"]) <= hospital_ids
    # and the two routes agree on who is the same person for nearly every record
    agree = both.group_by("person_id").agg(pl.col("person_id_split").n_unique() == 1)
    assert agree["person_id_split"].mean() >= 0.9


def test_person_ids_are_the_same_when_the_files_are_processed_again(
    demo: tuple[Path, Path],
) -> None:
    """``--all`` after a config change links the same records again: every entity is named by
    the same first record, so the second delivery carries the first's person_ids."""
    root, keystore = demo
    config = demo_config(root, keystore, ENVIRONMENT)
    assert CliRunner().invoke(cli, ["run", str(config)]).exit_code == 0
    doc = yaml.safe_load(config.read_text())
    doc["approved_attributes"] = doc["approved_attributes"][1:]  # one attribute fewer
    config.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(cli, ["run", str(config), "--all"])
    assert result.exit_code == 0, result.output
    runs = sorted((root / f"out-{ENVIRONMENT}").glob("run-*"), key=lambda p: p.stat().st_mtime)
    assert len(runs) == 2
    for name in ("hospital.parquet", "gp.parquet"):
        columns = ["record_key", "pid_nhs", "person_id"]
        first = pl.read_parquet(runs[0] / name, columns=columns).sort(pl.all())
        again = pl.read_parquet(runs[1] / name, columns=columns).sort(pl.all())
        assert first.height > 20
        assert first.equals(again)
