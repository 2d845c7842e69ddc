"""Library-level runner tests with injected services: what the linker sees, linked accounting."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.config import LinkageSpec, load_config
from pipeline.registry import Registry, read_registry
from pipeline.runner import run_pipeline
from pipeline.stages.link import PAIRS_SCHEMA, UID, link_batch, linkage_view
from pipeline.stages.link_keys import BlockKeys
from pipeline.stages.link_records import LinkRecords
from pipeline.stages.services import LinkResult
from tests.pipeline.runner_support import (
    HEADER,
    deliveries,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

LINKAGE = {
    "mode": "dedupe",
    "blocking": ["surname"],
    "comparisons": {"first_name": "jaro_winkler", "date_of_birth": "exact"},
    "thresholds": {"match": 0.9, "review": 0.5},
}


class RecordingLinker:
    """Links records sharing every compared value; remembers every column it was shown."""

    def __init__(self) -> None:
        self.seen_columns: list[str] = []

    def __call__(
        self, records: LinkRecords, spec: LinkageSpec, decisions: pl.DataFrame | None
    ) -> LinkResult:
        view = records.read().join(records.ids, on=UID, suffix="_id")
        self.seen_columns = list(view.columns)
        person = pl.concat_str("first_name", "surname", "date_of_birth", separator="|")
        clusters = view.select(UID, pl.coalesce(person, UID).alias("cluster"))
        members = clusters.group_by("cluster").agg(pl.col(UID).sort())
        linked = [
            (a, b)
            for ids in members[UID].to_list()
            for i, a in enumerate(ids)
            for b in ids[i + 1 :]
        ]
        other = view[UID].sort().to_list()[:2]
        rows = [(a, b, 0.97) for a, b in linked]
        rows += [(other[0], other[1], 0.6), (other[1], other[0], 0.2)]
        pairs = pl.DataFrame(rows, schema=["_uid_l", "_uid_r", "match_probability"], orient="row")
        return LinkResult(clusters, pairs, match=0.9, review=0.5)


@pytest.fixture
def config_path(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    keystore = make_keystore(tmp_path, monkeypatch)
    first = people_rows(0, 6)
    second = people_rows(3, 6)  # rows 3-5 of the first file appear again: same people
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, first)
    write_csv(tmp_path / "in/hospital/b.csv", HEADER, second)
    return write_config(tmp_path, keystore, linkage=LINKAGE)


def test_linker_reads_identifiers_only_and_links_are_accounted(config_path) -> None:  # type: ignore[no-untyped-def]
    linker = RecordingLinker()
    summary = run_pipeline(load_config(config_path), services=fake_services(linker))
    assert summary.status == "delivered"
    assert "ethnicity" not in linker.seen_columns and "region_code" not in linker.seen_columns
    assert not any(c.startswith("_row") or c == "_file" for c in linker.seen_columns)
    # what the spec compares or blocks on, not every identifier the sources hold
    assert {"first_name", "surname", "date_of_birth"} <= set(linker.seen_columns)
    assert "id_nhs" not in linker.seen_columns and "postcode" not in linker.seen_columns
    manifest = summary.manifest
    totals = manifest["totals"]
    assert totals["linked"] == 6  # three people, each seen twice
    assert totals["delivered"] == totals["linked"] + totals["unlinked"] == 12
    assert manifest["linkage"]["pairs_scored"] == 5
    assert manifest["linkage"]["pairs_matched"] == 3
    assert manifest["linkage"]["pairs_for_review"] == 1
    assert manifest["linkage"]["match_rate"] == pytest.approx(0.5)
    assert summary.delivery_dir is not None
    extract = pl.read_parquet(summary.delivery_dir / "hospital.parquet")
    assert extract.columns[:3] == ["source_dataset", "person_id", "linked"]
    assert not [c for c in extract.columns if c.startswith("_")]
    # a person seen in both files gets one person_id and one pseudonym
    per_person = extract.group_by("person_id").agg(pl.col("pid_nhs").n_unique(), pl.len())
    assert per_person.filter(pl.col("len") == 2).height == 3
    assert (per_person["pid_nhs"] == 1).all()
    report = (summary.delivery_dir / "report.html").read_text()
    assert "<svg" in report and "match threshold" in report


def test_linkage_view_drops_attributes_and_accounting_details() -> None:
    frame = pl.DataFrame(
        {
            "_source": ["s"],
            "_file": ["f.csv"],
            "_row": [2],
            "id_nhs": ["4000000004"],
            "surname": ["X"],
            "ethnicity": ["A"],
            "income": [1],
        }
    )
    view = linkage_view(frame)
    assert view.columns == [UID, "_source", "id_nhs", "surname"]


def test_entity_ids_are_deterministic_whatever_the_linker_labels() -> None:
    frame = pl.DataFrame(
        {"_source": ["s"] * 4, "_file": ["f"] * 4, "_row": [2, 3, 4, 5], "surname": list("abab")}
    )

    def labels(names: list[str]):  # type: ignore[no-untyped-def]
        def linker(
            records: LinkRecords, spec: LinkageSpec, decisions: pl.DataFrame | None
        ) -> LinkResult:
            surname = pl.col("surname").str.to_lowercase()  # as standardised
            clusters = records.read().select(
                UID, surname.replace({"a": names[0], "b": names[1]}).alias("cluster")
            )
            return LinkResult(clusters, pl.DataFrame(schema=PAIRS_SCHEMA), 0.9, 0.5)

        return linker

    spec = LinkageSpec.model_validate(LINKAGE)
    one = link_batch(linkage_view(frame), spec, labels(["x", "y"])).assigned
    two = link_batch(linkage_view(frame), spec, labels(["9", "1"])).assigned
    assert one["_entity"].to_list() == two["_entity"].to_list() == ["s|f|2", "s|f|3"] * 2
    assert one["linked"].all()


def test_a_batch_processed_again_founds_no_entity_under_an_id_a_later_record_holds(
    tmp_path: Path,
) -> None:
    spec = LinkageSpec.model_validate(LINKAGE)
    registry = Registry.open(tmp_path, BlockKeys.for_spec(spec))

    def batch(source: str, rows: int) -> pl.DataFrame:
        return linkage_view(
            pl.DataFrame(
                {"_source": [source] * rows, "_file": ["f"] * rows, "_row": range(2, rows + 2)}
            ).with_columns(pl.lit("Ng").alias("surname"))
        )

    def linker(together: bool):  # type: ignore[no-untyped-def]
        def link(records: LinkRecords, spec: LinkageSpec, decisions: object) -> LinkResult:
            ids = records.ids.get_column(UID)
            label = pl.lit(0) if together else pl.col(UID).rank("dense")
            clusters = ids.to_frame().with_columns(label.cast(pl.Int64).alias("cluster"))
            return LinkResult(clusters, pl.DataFrame(schema=PAIRS_SCHEMA), 0.9, 0.5)

        return link

    def run(view: pl.DataFrame, together: bool) -> pl.DataFrame:
        assigned = link_batch(view, spec, linker(together), registry).assigned
        rows = view.hstack(assigned.select("_entity"))
        registry.commit([rows], rows.schema)
        return assigned

    first = run(batch("a", 1), together=True)
    assert first["_entity"].to_list() == ["a|f|2"]
    assert run(batch("b", 1), together=True)["_entity"].to_list() == ["a|f|2"]  # joins it
    again = run(batch("a", 1), together=False)  # a|f|2 processed again, no longer linked
    assert again["_entity"].to_list() == ["a|f|2~1"]
    stored = read_registry(tmp_path)
    assert stored is not None
    assert dict(zip(stored[UID], stored["_entity"], strict=True)) == {
        "a|f|2": "a|f|2~1",
        "b|f|2": "a|f|2",
    }


def test_linker_that_drops_records_is_an_error() -> None:
    frame = pl.DataFrame({"_source": ["s"] * 2, "_file": ["f"] * 2, "_row": [2, 3]})

    def lossy(records: LinkRecords, spec: LinkageSpec, decisions: object) -> LinkResult:
        clusters = records.ids.head(1).select(UID, pl.col(UID).alias("cluster"))
        return LinkResult(clusters, pl.DataFrame(schema=PAIRS_SCHEMA), 0.9, 0.5)

    with pytest.raises(ValueError, match="did not return a cluster for every record"):
        link_batch(linkage_view(frame), LinkageSpec.model_validate(LINKAGE), lossy)


def test_derived_attributes_are_generalised_and_k_anonymous(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 20))
    disclosure = {
        "derive": ["age_band", "year_of_birth"],
        "reference_date": "2026-01-01",
        "age_bands": [0, 30, 60],
        "quasi_identifiers": ["age_band", "ethnicity"],
        "k": 2,
    }
    path = write_config(tmp_path, keystore, disclosure=disclosure)
    summary = run_pipeline(load_config(path), services=fake_services())
    assert summary.delivery_dir is not None
    extract = pl.read_parquet(summary.delivery_dir / "hospital.parquet")
    assert set(extract["age_band"].drop_nulls()) <= {"0-29", "30-59", "60+"}
    assert set(extract["year_of_birth"].drop_nulls()) <= {"1961", "1978", "1990", "1985", "2001"}
    counts = extract.group_by("age_band", "ethnicity").len()
    assert counts["len"].min() >= 2
    report = summary.manifest["disclosure"]["k_anonymity"]["hospital"]
    assert report["unsafe_after"] == 0 and report["records"] == 20
    html = (summary.delivery_dir / "report.html").read_text()
    assert "unsafe before" in html


def test_k_anonymity_fails_closed_beyond_the_suppression_budget(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipeline.disclosure import SuppressionBudgetExceeded

    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 5))
    disclosure = {
        "quasi_identifiers": ["ethnicity", "region_code"],
        "k": 5,
        "suppression_budget": 0.0,
    }
    path = write_config(
        tmp_path, keystore, disclosure=disclosure, approved_attributes=["ethnicity", "region_code"]
    )
    with pytest.raises(SuppressionBudgetExceeded):
        run_pipeline(load_config(path), services=fake_services())
    assert deliveries(tmp_path) == []


def test_keep_row_nulls_invalid_identifiers_but_keeps_the_record(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    keystore = make_keystore(tmp_path, monkeypatch)
    rows = people_rows(0, 6)
    rows[2][0] = "1234567890"  # fails mod 11
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, rows)
    from tests.pipeline.runner_support import COLUMNS

    source = {
        "name": "hospital",
        "path": "in/hospital/*.csv",
        "columns": COLUMNS,
        "invalid_identifiers": "keep_row",
    }
    path = write_config(tmp_path, keystore, sources=[source])
    summary = run_pipeline(load_config(path), services=fake_services())
    totals = summary.manifest["totals"]
    assert totals["delivered"] == 6 and totals["quarantined"] == 0
    assert totals["identifiers_nulled"] == 1
    assert summary.delivery_dir is not None
    extract = pl.read_parquet(summary.delivery_dir / "hospital.parquet")
    assert extract["pid_nhs"].null_count() == 1
    problems = pl.read_parquet(summary.delivery_dir / "quarantine.parquet")
    assert problems.select("row", "stage", "reason", "column").rows() == [
        (3, "identifiers_nulled", "nhs:bad_check_digit", "nhs_no")  # file line 4
    ]
    assert "1234567890" not in (summary.delivery_dir / "report.html").read_text()
