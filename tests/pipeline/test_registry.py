"""The keyed entity registry on disk (pipeline.registry): parts, commits, lookups, conversion."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import LinkageSpec
from pipeline.entities import ENTITY, UID
from pipeline.errors import DataError
from pipeline.registry import (
    LEGACY_FILE,
    MANIFEST,
    REGISTRY_DIR,
    STD_PREFIX,
    Registry,
    read_registry,
)
from pipeline.stages.link_keys import BlockKeys
from pipeline.stages.link_records import standardise_view

SPEC = LinkageSpec.model_validate(
    {
        "mode": "link",
        "blocking": ["surname & date_of_birth", "identifier:nhs"],
        "comparisons": {"surname": "name", "date_of_birth": "date", "identifier:nhs": "identifier"},
    }
)
KEYS = BlockKeys.for_spec(SPEC)


def rows(source: str, file: str, people: list[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    """Registry rows (link view, each record an entity named after itself) of one file."""
    return pl.DataFrame(
        {
            UID: [f"{source}|{file}|{n}" for n in range(2, len(people) + 2)],
            "_source": [source] * len(people),
            "surname": [p[0] for p in people],
            "date_of_birth": pl.Series([p[1] for p in people]).str.to_date(),
            "id_nhs": [p[2] for p in people],
            ENTITY: [f"{source}|{file}|{n}" for n in range(2, len(people) + 2)],
        }
    )


FIRST = rows(
    "a",
    "f1",
    [("Quintavalle", "1961-03-14", "9434765919"), ("Oyelaran", "1978-11-02", None)],
)


def commit(registry: Registry, frame: pl.DataFrame) -> None:
    registry.commit([frame], frame.schema)


def test_a_batch_processed_again_replaces_its_rows(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, KEYS)
    commit(registry, FIRST)
    second = rows("b", "g1", [("Ravensworth", "1990-07-21", None)])
    commit(registry, second)
    commit(registry, FIRST.with_columns(pl.lit("a|f1|2").alias(ENTITY)))  # f1 again, linked
    stored = read_registry(tmp_path)
    assert stored is not None and stored.height == 3
    assert dict(zip(stored[UID], stored[ENTITY], strict=True)) == {
        "a|f1|2": "a|f1|2",
        "a|f1|3": "a|f1|2",
        "b|g1|2": "b|g1|2",
    }
    reopened = Registry.open(tmp_path, KEYS)
    assert sorted(p.rows for p in reopened.parts) == [1, 2]
    assert {p.name for p in (tmp_path / REGISTRY_DIR).iterdir()} == {
        MANIFEST,
        *(p.name for p in reopened.parts),
    }


def test_earlier_leaves_out_the_batchs_own_rows(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, KEYS)
    commit(registry, FIRST)
    commit(registry, rows("b", "g1", [("Ravensworth", "1990-07-21", None)]))
    earlier = registry.earlier(FIRST[UID])  # a rerun of f1: its rows are not history
    assert (earlier.records, earlier.sources, earlier.reprocessed) == (1, frozenset({"b"}), True)
    fresh = registry.earlier(pl.Series(UID, ["c|h1|2"]))
    assert (fresh.records, fresh.reprocessed) == (3, False)


def test_entities_held_by_records_outside_the_batch(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, KEYS)
    commit(registry, FIRST)
    # a later file's record joined the entity f1's first record founded
    commit(
        registry,
        rows("b", "g1", [("Quintavalle", "1961-03-14", None)]).with_columns(
            pl.lit("a|f1|2").alias(ENTITY)
        ),
    )
    names = pl.Series(["a|f1|2", "a|f1|3", "z|z|2"])
    assert registry.entities_held(names, FIRST[UID]).to_list() == ["a|f1|2"]
    assert sorted(registry.entities_held(names, pl.Series(UID, ["b|g1|2"]))) == [
        "a|f1|2",
        "a|f1|3",
    ]


def test_a_part_of_an_older_pprl_with_whole_number_entities_is_read_as_text(
    tmp_path: Path,
) -> None:
    """Until 2026-12-05 entities were numbered 1, 2, ... and parts held them as Int64, with
    the largest in the manifest. Read as text, they key the same person_ids as before."""
    commit(Registry.open(tmp_path, KEYS), FIRST)
    folder = tmp_path / REGISTRY_DIR
    manifest = json.loads((folder / MANIFEST).read_text())
    for part in manifest["parts"]:
        path = folder / part["name"]
        old = pl.read_parquet(path).with_columns(pl.Series(ENTITY, [7, 12], pl.Int64))
        old.write_parquet(path)
        part["last_entity"] = 12
    (folder / MANIFEST).write_text(json.dumps(manifest))
    registry = Registry.open(tmp_path, KEYS)
    assert registry.everything(pl.Series(UID, [], pl.String))[ENTITY].to_list() == ["7", "12"]
    commit(registry, rows("b", "g1", [("Ravensworth", "1990-07-21", None)]))
    stored = read_registry(tmp_path)
    assert stored is not None
    assert dict(zip(stored[UID], stored[ENTITY], strict=True)) == {
        "a|f1|2": "7",
        "a|f1|3": "12",
        "b|g1|2": "b|g1|2",
    }


def test_lookup_reads_only_records_sharing_a_key(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, KEYS)
    commit(registry, FIRST)
    batch = rows(
        "b",
        "g1",
        [
            ("QUINTAVALLE ", "1961-03-14", None),  # same surname (standardised) and date
            ("Someone", "2000-01-01", "9434765919"),  # same NHS number only
            ("Oyelaran", None, None),  # no date: its surname & date key is missing
        ],
    ).drop(ENTITY)
    found = registry.lookup(KEYS.hashes(batch), batch[UID])
    assert sorted(found[UID]) == ["a|f1|2"]
    assert found.schema[ENTITY] == pl.String
    assert not any(c.startswith("_key_") for c in found.columns)
    assert registry.everything(batch[UID]).height == 2


def test_a_killed_runs_unlisted_part_is_removed_on_open(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, KEYS)
    commit(registry, FIRST)
    stray = tmp_path / REGISTRY_DIR / "part-000009-0.parquet"
    FIRST.write_parquet(stray)
    Registry.open(tmp_path, KEYS)
    assert not stray.exists()
    assert read_registry(tmp_path).height == 2  # type: ignore[union-attr]


def test_an_older_single_file_registry_is_converted(tmp_path: Path) -> None:
    legacy = FIRST.with_columns(pl.Series(ENTITY, [1, 2]))  # entity numbers then
    legacy.write_parquet(tmp_path / LEGACY_FILE)
    registry = Registry.open(tmp_path, KEYS)
    assert not (tmp_path / LEGACY_FILE).exists()
    stored = read_registry(tmp_path)
    expected = legacy.with_columns(pl.col(ENTITY).cast(pl.String))
    assert stored is not None and stored.sort(UID).equals(expected.sort(UID))
    assert registry.lookup(KEYS.hashes(FIRST.drop(ENTITY)), pl.Series([], dtype=pl.String)).height


def test_changed_keys_are_computed_again(tmp_path: Path) -> None:
    commit(Registry.open(tmp_path, KEYS), FIRST)
    fewer = BlockKeys(((KEYS.keys[1]),))  # the NHS number only
    registry = Registry.open(tmp_path, fewer)
    manifest = json.loads((tmp_path / REGISTRY_DIR / MANIFEST).read_text())
    assert manifest["index"] == fewer.fingerprint
    batch = rows("b", "g1", [("Quintavalle", "1961-03-14", None)]).drop(ENTITY)
    assert registry.lookup(fewer.hashes(batch), batch[UID]).height == 0  # no surname key now


@pytest.mark.parametrize("content", [b"{not json", b'{"format": "other"}'])
def test_an_unreadable_manifest_is_a_data_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / REGISTRY_DIR).mkdir()
    (tmp_path / REGISTRY_DIR / MANIFEST).write_bytes(content)
    with pytest.raises(DataError, match=r"registry/manifest\.json"):
        Registry.open(tmp_path, KEYS)


def test_an_unreadable_legacy_file_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / LEGACY_FILE).write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"entities\.parquet: unreadable"):
        Registry.open(tmp_path, KEYS)


def test_rows_keep_their_standardised_columns_and_an_older_registry_gets_them(
    tmp_path: Path,
) -> None:
    older = BlockKeys(KEYS.keys)  # as pprl kept rows before: keys only
    commit(Registry.open(tmp_path, older), FIRST)
    assert not any(c.startswith(STD_PREFIX) for c in _stored_columns(tmp_path))
    registry = Registry.open(tmp_path, KEYS)  # the fingerprint differs: rewritten
    assert {c for c in _stored_columns(tmp_path) if c.startswith(STD_PREFIX)} == {
        f"{STD_PREFIX}{c}" for c in KEYS.stored
    }
    found = registry.everything(pl.Series(UID, [], pl.String)).sort(UID)
    expected = standardise_view(FIRST.drop(ENTITY)).sort(UID)
    for column in KEYS.stored:
        assert found[f"{STD_PREFIX}{column}"].equals(
            expected[column].cast(pl.String).alias(f"{STD_PREFIX}{column}")
        )
    assert found["surname"].to_list() == FIRST.sort(UID)["surname"].to_list()  # as given
    assert found[f"{STD_PREFIX}surname"].to_list() != found["surname"].to_list()
    assert read_registry(tmp_path).columns == FIRST.columns  # type: ignore[union-attr]


def _stored_columns(work: Path) -> list[str]:
    manifest = json.loads((work / REGISTRY_DIR / MANIFEST).read_text())
    return [
        c
        for p in manifest["parts"]
        for c in pl.read_parquet_schema(work / REGISTRY_DIR / p["name"])
    ]
