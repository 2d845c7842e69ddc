"""The link stage's records standardised chunk by chunk into Parquet files link exactly as the
whole view held in memory does (:mod:`pipeline.stages.link_records`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.config import LinkageSpec
from pipeline.stages.link import UID, StandardisedBatch, link_batch
from pipeline.stages.link_engine import facade_linker
from pipeline.stages.link_keys import BlockKeys
from pipeline.stages.link_records import LinkRecords, standardise_view
from synthetic.persons import generate_person_pair
from tests.pipeline.runner_support import generated_link_side

SPEC = LinkageSpec.model_validate(
    {
        "mode": "link",
        "blocking": ["identifier:nhs", "date_of_birth", "surname & postcode"],
        "comparisons": {
            "identifier:nhs": "identifier",
            "first_name": "name",
            "surname": "name",
            "date_of_birth": "date",
            "postcode": "postcode",
        },
        "thresholds": {"match": "auto", "review": 0.3},
    }
)


@pytest.fixture(scope="module")
def view() -> pl.DataFrame:
    gp, hospital, _ = generate_person_pair(600, 500, overlap=0.8, seed=5)
    # the hospital file holds no postcode: a role one source does not map
    hospital_view = generated_link_side(hospital, "hospital").drop("postcode")
    return pl.concat([generated_link_side(gp, "gp"), hospital_view], how="diagonal")


def _chunks(view: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """Chunks as prepared parts are: each from one source, in row order."""
    return [
        chunk
        for source in view.partition_by("_source", maintain_order=True)
        for chunk in source.iter_slices(size)
    ]


def test_records_in_files_link_as_the_whole_view_in_memory(
    view: pl.DataFrame, tmp_path: Path
) -> None:
    whole = link_batch(view, SPEC, facade_linker)
    batch = StandardisedBatch.of(_chunks(view, 97), SPEC, tmp_path / "records")
    assert all(isinstance(chunk, Path) for _, chunk in batch.records.chunks)
    assert len(batch.records.chunks) > 10
    chunked = link_batch(batch, SPEC, facade_linker)
    assert whole.pairs.height > 100 and whole.match_threshold is not None
    assert chunked.assigned.equals(whole.assigned)
    assert chunked.keys is not None and whole.keys is not None
    assert chunked.keys.equals(whole.keys)
    order = ["_uid_l", "_uid_r"]
    assert chunked.pairs.sort(order).equals(whole.pairs.sort(order))
    assert chunked.summary() == whole.summary()  # thresholds, counts, diagnostics, entities


def test_keys_hashed_from_the_standardised_chunks_equal_the_views(view: pl.DataFrame) -> None:
    keys = BlockKeys.for_spec(SPEC)
    assert keys.standardised_hashes(standardise_view(view)).equals(keys.hashes(view))


def test_the_self_match_sample_is_the_rows_dataframe_sample_draws(
    view: pl.DataFrame, tmp_path: Path
) -> None:
    records = StandardisedBatch.of(_chunks(view, 50), SPEC, tmp_path / "records").records
    everything = records.ids.select(UID, "_source").join(records.read(), on=UID)
    expected = everything.sample(200, seed=7).drop("_source")
    assert records.sample(200, seed=7).equals(expected)
    assert records.sample(5_000, seed=7).height == view.height  # all, when there are fewer


def test_each_side_holds_its_sources_records_once(view: pl.DataFrame, tmp_path: Path) -> None:
    records = StandardisedBatch.of(_chunks(view, 200), SPEC, tmp_path / "records").records
    left = records.side(["gp"], "left")
    right = records.side(["hospital"], "right")
    assert isinstance(left, str) and isinstance(right, str)
    left_rows, right_rows = pl.read_parquet(left), pl.read_parquet(right)
    assert left_rows[UID].str.starts_with("gp|").all()
    assert right_rows[UID].str.starts_with("hospital|").all()
    assert left_rows.height + right_rows.height == view.height
    assert right_rows["postcode"].is_null().all()  # not mapped by that source: null, same columns
    assert left_rows.columns == right_rows.columns
    in_memory = LinkRecords.from_view(view, SPEC)
    memory_left = in_memory.side(["gp"], "left")
    assert isinstance(memory_left, pl.DataFrame)
    assert memory_left.sort(UID).equals(left_rows.sort(UID))


def test_stored_columns_are_the_chunks_standardised_columns_in_order(
    view: pl.DataFrame, tmp_path: Path
) -> None:
    from pipeline.registry import STD_PREFIX

    records = StandardisedBatch.of(_chunks(view, 97), SPEC, tmp_path / "records").records
    stored = records.stored().collect()
    chunks = pl.concat([c.collect() for c in records.stored_chunks()])
    assert stored.equals(chunks)
    assert stored.columns == [UID, *(f"{STD_PREFIX}{c}" for c in records.columns)]
    ids = records.ids.select(UID)
    standard = ids.join(records.read(), on=UID, how="left", maintain_order="left")
    assert stored.get_column(UID).equals(records.ids.get_column(UID))
    for column in records.columns:
        assert stored.get_column(f"{STD_PREFIX}{column}").equals(
            standard.get_column(column), check_names=False
        )


def test_roles_the_spec_does_not_read_are_not_standardised(
    view: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address and a sex the spec neither compares nor blocks on are left out before
    standardising (the address was a third of the stage's standardising at 1M + 1M), and
    the records, keys and links are those of the view without them."""
    from pipeline.stages import link_records

    wider = view.with_columns(pl.format("{} HIGH ST", pl.col("postcode")).alias("address"))
    seen: list[set[str]] = []
    real = link_records.standardise_view

    def recording(frame: pl.DataFrame) -> pl.DataFrame:
        seen.append(set(frame.columns))
        return real(frame)

    monkeypatch.setattr(link_records, "standardise_view", recording)
    wide = StandardisedBatch.of(_chunks(wider, 97), SPEC, tmp_path / "wide")
    narrow = StandardisedBatch.of(_chunks(view.drop("sex"), 97), SPEC, tmp_path / "narrow")
    assert seen and all(not columns & {"address", "sex"} for columns in seen)
    assert wide.keys.equals(narrow.keys)
    assert wide.records.ids.equals(narrow.records.ids)
    assert wide.records.read().equals(narrow.records.read())
    monkeypatch.undo()
    linked = link_batch(wide, SPEC, facade_linker)
    assert linked.assigned.equals(link_batch(view, SPEC, facade_linker).assigned)
