"""``pprl link`` deduplicating several files in one input: ``source_column``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from linkage.cluster import component_minimum
from pipeline.errors import ConfigError
from pipeline.linkconfig import parse_link_config
from pipeline.linkjob import run_link_job
from tests.linkage.test_linker import people_in_two_files

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def _job(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A dedupe job over make_people's records: each person's first record from file
    ``a``, repeats from file ``b``, and for 40 people a namesake in ``a`` born a day later."""
    records, _ = people_in_two_files(500, 11, column="file", files=("a", "b"), twins=40)
    records.write_csv(tmp_path / "people.csv")
    raw: dict[str, Any] = {
        "mode": "dedupe",
        "inputs": [{"path": "people.csv", "id_column": "id"}],
        "comparisons": [
            {"type": "name", "column": "first_name"},
            {"type": "name", "column": "surname", "term_frequency": True},
            {"type": "dob", "column": "dob", "date_format": "%Y%m%d"},
            {"type": "postcode", "column": "postcode"},
        ],
        "blocking": [["surname"], ["dob"]],
        "source_column": "file",
        "output": "out",
    }
    return raw | overrides


def _second_links_not_implied(pairs: pl.DataFrame, files: pl.DataFrame) -> int:
    """Matches of a record to a second record of one file whose two records the other
    matches do not join (the rule keeps a second link only when they do)."""
    ends = pl.concat(
        [
            pairs.select(pl.col("id_l").alias("id"), pl.col("id_r").alias("other")),
            pairs.select(pl.col("id_r").alias("id"), pl.col("id_l").alias("other")),
        ]
    ).join(files.rename({"id": "other"}), on="other")
    twice = ends.join(
        ends.group_by("id", "file").len().filter(pl.col("len") > 1), on=["id", "file"]
    )
    ids = pl.concat([pairs["id_l"], pairs["id_r"]]).unique().sort()
    not_implied = 0
    for record, other in twice.select("id", "other").iter_rows():
        edge = {record, other}
        rest = pairs.filter(~(pl.col("id_l").is_in(edge) & pl.col("id_r").is_in(edge)))
        a = ids.search_sorted(rest["id_l"]).to_numpy()
        b = ids.search_sorted(rest["id_r"]).to_numpy()
        group = component_minimum(ids.len(), a, b)
        at = ids.search_sorted(pl.Series([record, other])).to_numpy()
        not_implied += int(group[at[0]] != group[at[1]])
    return not_implied


def test_a_dedupe_by_source_links_each_record_once_per_file(tmp_path: Path) -> None:
    raw = _job(tmp_path)
    (tmp_path / "job.json").write_text(json.dumps(raw))
    result = run_link_job(tmp_path / "job.json", output=tmp_path / "out")
    pairs = pl.read_parquet(result.output / "pairs.parquet")
    matches = pairs.filter(pl.col("decision") == "match").select(
        pl.col("id_l").cast(pl.Int64), pl.col("id_r").cast(pl.Int64)
    )
    files = pl.read_csv(tmp_path / "people.csv").select("id", "file")
    assert matches.height > 100
    # a record's second match to one file only where its other matches already join the two
    assert _second_links_not_implied(matches, files) == 0
    # without the source column the namesakes take a second link to one file
    (tmp_path / "plain.json").write_text(json.dumps({**raw, "source_column": None}))
    plain = run_link_job(tmp_path / "plain.json", output=tmp_path / "plain")
    plain_pairs = pl.read_parquet(plain.output / "pairs.parquet")
    plain_matches = plain_pairs.filter(pl.col("decision") == "match").select(
        pl.col("id_l").cast(pl.Int64), pl.col("id_r").cast(pl.Int64)
    )
    assert _second_links_not_implied(plain_matches, files) > 0
    evaluation = json.loads((result.output / "evaluation.json").read_text())
    assert evaluation["thresholds"]["one_link_per_source"] is True


def test_source_column_is_for_dedupe_only(tmp_path: Path) -> None:
    raw = _job(tmp_path, mode="link")
    raw["inputs"] = raw["inputs"] * 2
    with pytest.raises(ConfigError, match="source_column applies to dedupe_only"):
        parse_link_config(raw, base_dir=tmp_path)


def test_source_column_cannot_come_with_a_saved_model(tmp_path: Path) -> None:
    raw = _job(tmp_path, model="model.json")
    for key in ("comparisons", "blocking"):
        raw.pop(key)
    with pytest.raises(ConfigError, match="remove source_column"):
        parse_link_config(raw, base_dir=tmp_path)


def test_a_missing_source_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps(_job(tmp_path, source_column="origin")))
    with pytest.raises(ConfigError, match=r"'people\.csv' has no column\(s\) origin"):
        run_link_job(tmp_path / "job.json", output=tmp_path / "out")
