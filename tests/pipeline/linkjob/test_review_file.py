"""A link job's review.csv (pipeline/linkjob/review_file.py): its columns with and without
--review-records, no record value unless asked, and the review page reading it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.leakscan import known_values, scan_paths
from pipeline.linkjob import run_link_job
from pipeline.linkjob.inputs import load_job, needed_columns, read_input, standardise
from pipeline.linkjob.run import MANIFEST_FILE
from pipeline.review.session import ReviewSession

DEMO = Path(__file__).resolve().parents[3] / "configs" / "linkage" / "link-demo.yaml"
# the demo's comparisons, in order: the fields a curator sees side by side
COMPARED = ["first_name", "surname", "dob", "postcode", "sex", "street", "house_number"]
VALUE_COLUMNS = [*COMPARED, "date_of_birth", "town"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo job written twice: as it comes, and with --review-records."""
    root = tmp_path_factory.mktemp("review-file")
    run_link_job(DEMO, output=root / "plain")
    run_link_job(DEMO, output=root / "records", review_records=True)
    return {"plain": root / "plain", "records": root / "records"}


def _standardised() -> list[pl.DataFrame]:
    cfg = load_job(DEMO)
    needed = needed_columns(cfg)
    return [standardise(read_input(cfg, i, needed), cfg.standardise) for i in range(2)]


def _input_values() -> set[str]:
    """Every value of the inputs' identifying columns, as read and as standardised."""
    raw = [
        pl.read_csv(DEMO.parent.parent / "link-data" / f"{side}.csv") for side in ("left", "right")
    ]
    return {
        v
        for frame in [*raw, *_standardised()]
        for v in known_values(frame, VALUE_COLUMNS)
        if not v.isdigit() or len(v) > 4  # house numbers are also weights' digits
    }


def test_the_default_review_file_holds_ids_scores_levels_and_an_empty_decision(
    outputs: dict[str, Path],
) -> None:
    out = outputs["plain"]
    review = pl.read_csv(out / "review.csv", infer_schema=False)
    levels = [f"level_{c}" for c in COMPARED]
    weights = [f"weight_{c}" for c in COMPARED]
    weights += ["weight_first_name term frequency", "weight_surname term frequency"]
    assert review.columns == [
        "key",
        "candidate",
        "match_weight",
        "match_probability",
        *levels,
        *weights,
        "decision",
    ]
    assert set(review["decision"].fill_null("").to_list()) == {""}
    pairs = pl.read_parquet(out / "pairs.parquet")
    band = pairs.filter(pl.col("decision") == "review").select("id_l", "id_r").rows()
    assert sorted(review.select("key", "candidate").rows()) == sorted(band)
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert review.height == evaluation["decisions"]["review"] > 0
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["record_values"] == {"review.csv": False, "link-report.html": False}
    assert "clerical_decisions" not in manifest and "clerical_decisions" not in evaluation


def test_no_input_value_in_the_default_outputs(outputs: dict[str, Path]) -> None:
    values = _input_values()
    assert len(values) > 500
    assert scan_paths([outputs["plain"] / "review.csv"], values, min_text_length=4) == []
    assert scan_paths([outputs["plain"]], values) == []


def test_review_records_puts_both_records_side_by_side_in_the_review_file_only(
    outputs: dict[str, Path],
) -> None:
    out = outputs["records"]
    review = pl.read_csv(out / "review.csv", infer_schema=False)
    sides = [f"{c}_{s}" for c in COMPARED for s in ("l", "r")]
    assert review.columns[:4] == ["key", "candidate", "match_weight", "match_probability"]
    assert review.columns[4 : 4 + len(sides)] == sides
    assert (
        review.columns[4 + len(sides) :] == pl.read_csv(outputs["plain"] / "review.csv").columns[4:]
    )
    # each side holds the standardised values the model compared, of the right record
    left, right = (f.rename({"unique_id": "id"}) for f in _standardised())
    for row in review.iter_rows(named=True):
        l_row = left.filter(pl.col("id") == row["key"]).row(0, named=True)
        r_row = right.filter(pl.col("id") == row["candidate"]).row(0, named=True)
        for column in COMPARED:
            assert row[f"{column}_l"] == l_row[column]
            assert row[f"{column}_r"] == r_row[column]
    # the values are there, and nowhere else
    values = _input_values()
    assert scan_paths([out / "review.csv"], values)
    others = [p for p in out.iterdir() if p.name != "review.csv"]
    assert scan_paths(others, values) == []
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["record_values"] == {"review.csv": True, "link-report.html": False}


def test_the_review_page_opens_a_link_review_file(outputs: dict[str, Path]) -> None:
    with_records = ReviewSession.open(outputs["records"] / "review.csv")
    view = with_records.view()
    assert view["has_records"]
    assert [f["label"] for f in view["pairs"][0]["fields"]] == COMPARED
    # the waterfall rebuilt from the file ends at the pair's weight
    weight = float(with_records.rows["match_weight"][0])
    assert with_records.waterfall(0)["cumulative_weight"][-1] == pytest.approx(weight, abs=1e-6)
    plain = ReviewSession.open(outputs["plain"] / "review.csv")
    assert not plain.has_records()
    assert [x["comparison"] for x in plain.view()["pairs"][0]["levels"]] == COMPARED
