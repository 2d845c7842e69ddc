"""The de-identify stage on frames: per-source k-anonymity, then the linked view of the whole
delivery (and of earlier deliveries), suppression consistent in every file, typed columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipeline.config import PipelineConfig, parse_config
from pipeline.disclosure import IdentifierLeak, ReidentificationRiskExceeded
from pipeline.stages.deidentify import deidentify
from pipeline.stages.parts import Part, PartSet
from tests.pipeline.disclosure.linked_attack import violations

QIS = ["age_band", "sex_code", "ward"]
LINKAGE = {"mode": "link", "blocking": ["date_of_birth"], "comparisons": {"date_of_birth": "date"}}


def config(tmp_path: Path, *, linking: bool = True, **disclosure: Any) -> PipelineConfig:
    columns = {
        "nhs": "identifier:nhs",
        "dob": "date_of_birth",
        "sex_code": "attribute:category",
        "income": "attribute:integer",
    }
    doc: dict[str, Any] = {
        "project": "p",
        "environment": "e",
        "sources": [
            {"name": "hospital", "path": "h.csv", "columns": {**columns, "ward": "attribute"}},
            {"name": "gp", "path": "g.csv", "columns": columns},
        ],
        "linkage": LINKAGE if linking else {"mode": "none"},
        "keystore": {"path": "k"},
        "delivery": {"path": "out"},
        "approved_attributes": ["sex_code", "income", "ward"],
        "disclosure": {
            "derive": ["age_band"],
            "reference_date": "2026-01-01",
            "age_bands": [0, 40, 80],
            "quasi_identifiers": QIS,
            "k": 3,
            "suppression_budget": 0.6,
            **disclosure,
        },
    }
    return parse_config(doc, base_dir=tmp_path)


def pseudonymised(seed: int, people: int = 40) -> pl.DataFrame:
    """Rows as the pseudonymise stage leaves them: a hospital file (several episodes per
    person) and a GP register, overlapping, with person IDs and NHS pseudonyms."""
    rng = np.random.default_rng(seed)
    dob = [dt.date(1940 + int(y), 1, 1) for y in rng.integers(0, 80, people)]
    sex = rng.choice(["F", "M"], people).tolist()
    rows = []
    for person in range(people):
        in_hospital, in_gp = rng.random() < 0.7, rng.random() < 0.8
        if not (in_hospital or in_gp):
            in_gp = True
        for episode in range(int(rng.integers(1, 4)) if in_hospital else 0):
            rows.append(("hospital", person, episode, rng.choice(["W1", "W2"])))
        if in_gp:
            rows.append(("gp", person, 0, None))
    frame = pl.DataFrame(rows, schema=["_source", "person", "episode", "ward"], orient="row")
    return frame.with_columns(
        pl.lit("f.csv").alias("_file"),
        pl.int_range(2, frame.height + 2).alias("_row"),
        pl.format("P{}", "person").alias("person_id"),
        pl.lit(True).alias("linked"),
        pl.format("N{}", "person").alias("pid_nhs"),
        pl.lit(7, dtype=pl.UInt8).alias("record_key"),
        pl.col("person").replace_strict(dict(enumerate(dob))).alias("date_of_birth"),
        pl.col("person").replace_strict(dict(enumerate(sex))).alias("sex_code"),
        (pl.col("person") * 1000 + 17).cast(pl.Int64).alias("income"),
    ).drop("person", "episode")


def run(
    frame: pl.DataFrame,
    cfg: PipelineConfig,
    identifying: dict[str, pl.Series] | None = None,
    *,
    earlier: dict[str, pl.DataFrame] | None = None,
    chunk: int = 1_000_000,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The stage on ``frame`` (written as parts of ``chunk`` rows, per source in file and row
    order): every source's delivered rows in one frame (``_source`` as before delivery), and
    the disclosure summary."""
    folder = cfg.base_dir / f"run-{len(list(cfg.base_dir.glob('run-*')))}"
    parts, out = PartSet(folder / "in"), PartSet(folder / "out")
    parts.start()
    listed = []
    for n, source in enumerate(cfg.sources):
        rows = frame.filter(pl.col("_source") == source.name).sort("_file", "_row")
        for start in range(0, rows.height, chunk):
            name = f"{n:05d}-{start:07d}.parquet"
            part = parts.write(name, rows.slice(start, chunk))
            listed.append(Part(part.name, source.name, min(chunk, rows.height - start)))
    parts.finish(listed)
    summary = deidentify(parts, cfg, identifying or {}, out, earlier=earlier)
    files = [pl.read_parquet(out.path(p.name)) for p in out.parts()]
    extract = pl.concat(files, how="diagonal_relaxed").rename({"source_dataset": "_source"})
    return extract, summary


def delivered(extract: pl.DataFrame, config: PipelineConfig) -> dict[str, pl.DataFrame]:
    """The files the deliver stage writes from ``extract``."""
    out = {}
    for source in config.sources:
        foreign = set(config.approved_attributes) - set(source.attribute_columns())
        part = extract.filter(pl.col("_source") == source.name).drop(foreign, strict=False)
        out[source.name] = part
    return out


@pytest.mark.parametrize("seed", range(4))
def test_every_join_of_the_delivered_files_is_k_anonymous(tmp_path: Path, seed: int) -> None:
    cfg = config(tmp_path)
    frame = pseudonymised(seed)
    extract, summary = run(frame, cfg)
    files = delivered(extract, cfg)
    keys = ["person_id", "pid_nhs"]
    assert violations(files, QIS, 3, keys, list(files)) == []
    linked = summary["linked_k_anonymity"]
    assert linked["k"] == 3 and set(linked["unsafe_after"].values()) == {0}
    assert linked["records"] == frame.height == extract.height
    assert set(summary["linked_risk"]) >= {"key:person_id", "key:pid_nhs", "file:hospital"}
    # per-file k-anonymity alone counts episodes, not persons: the linked view is needed
    untreated, _ = run(frame, config(tmp_path, quasi_identifiers=[]))
    assert violations(delivered(untreated, cfg), QIS, 3, keys, list(files))


def test_suppression_is_consistent_across_a_persons_rows_and_files(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    extract, _ = run(pseudonymised(3), cfg)
    kept = extract.filter(pl.col("person_id").is_not_null())
    for q in QIS:
        within = (
            kept.filter(pl.col("_source") == "hospital")
            .group_by("person_id")
            .agg(pl.col(q).n_unique())
        )
        assert within[q].max() == 1, q  # one value (or one null) per person in a file
    shared = kept.group_by("person_id").agg(pl.col("age_band").n_unique(), pl.len())
    assert shared["age_band"].max() == 1  # age band: the same (or withheld) in both files


def test_values_keep_their_types_and_unlinked_rows_lose_linked_too(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    extract, summary = run(pseudonymised(1), cfg)
    assert extract.schema["income"] == pl.Int64
    assert extract.schema["sex_code"] == pl.Categorical
    assert extract.schema["ward"] == extract.schema["age_band"] == pl.String
    unlinked = extract.filter(pl.col("person_id").is_null())
    assert unlinked["linked"].null_count() == unlinked.height
    assert sum(summary["linked_k_anonymity"]["unlinked"].values()) == unlinked.height
    assert all(isinstance(n, int) for n in summary["linked_k_anonymity"]["unlinked"].values())


def test_earlier_deliveries_join_too_and_are_left_as_they_were(tmp_path: Path) -> None:
    cfg = config(tmp_path, suppression_budget=0.7)  # wards differ between episodes
    first, _ = run(pseudonymised(5, people=200), cfg)
    earlier = {f"run-1/{n}.parquet": f for n, f in delivered(first, cfg).items()}
    # a later batch: the same people again (new episodes), same person IDs and pseudonyms
    again = pseudonymised(5, people=200).filter(pl.col("_source") == "hospital")
    assert violations(
        {"hospital": delivered(run(again, cfg)[0], cfg)["hospital"], **earlier},
        QIS, 3, ["person_id", "pid_nhs"], ["hospital"],
    )  # fmt: skip  # treated alone, the new file's joins with the earlier ones break k
    second, summary = run(again, cfg, earlier=earlier)
    assert summary["linked_earlier"] == sorted(earlier)
    files = {"hospital": delivered(second, cfg)["hospital"], **earlier}
    assert violations(files, QIS, 3, ["person_id", "pid_nhs"], ["hospital"]) == []
    assert delivered(first, cfg)["gp"].equals(earlier["run-1/gp.parquet"])


def test_earlier_extracts_sharing_no_key_are_not_joined(tmp_path: Path) -> None:
    other = pl.DataFrame({"pid_chi": ["C1", "C2"], "age_band": ["0-39", "80+"]})
    _, summary = run(pseudonymised(6), config(tmp_path), earlier={"run-0/x": other})
    assert summary["linked_earlier"] == []


def test_without_linkage_the_pseudonyms_are_the_keys(tmp_path: Path) -> None:
    cfg = config(tmp_path, linking=False)
    frame = pseudonymised(2).drop("person_id", "linked")
    extract, summary = run(frame, cfg)
    assert "person_id" not in extract.columns
    assert set(summary["linked_k_anonymity"]["unsafe_after"]) == {
        "key:pid_nhs",
        "file:hospital",
        "file:gp",
    }
    assert violations(delivered(extract, cfg), QIS, 3, ["pid_nhs"], ["hospital", "gp"]) == []


def test_without_keys_each_file_is_risk_assessed_and_fails_closed(tmp_path: Path) -> None:
    frame = pseudonymised(2).drop("person_id", "linked", "pid_nhs")
    cfg = config(tmp_path, linking=False, risk={"max_expected_reidentifications": 0.5})
    with pytest.raises(ReidentificationRiskExceeded):
        run(frame, cfg)
    lenient = config(tmp_path, linking=False, risk={"max_individual_risk": 1.0})
    _, summary = run(frame, lenient)
    assert summary["linked_k_anonymity"] is None
    assert set(summary["linked_risk"]) == {"file:hospital", "file:gp"}


def test_the_risk_limit_fails_the_linked_delivery_closed(tmp_path: Path) -> None:
    cfg = config(tmp_path, risk={"max_expected_reidentifications": 0.01})
    with pytest.raises(ReidentificationRiskExceeded, match="expected re-identifications"):
        run(pseudonymised(0), cfg)


def test_l_diversity_from_the_pipeline_config_reaches_each_source(tmp_path: Path) -> None:
    cfg = config(
        tmp_path, quasi_identifiers=["age_band", "sex_code"], l_diversity=2, sensitive=["ward"]
    )
    extract, summary = run(pseudonymised(4, people=80), cfg)
    assert summary["k_anonymity"]["hospital"]["l_diversity"] == 2
    assert summary["k_anonymity"]["gp"]["l_diversity"] is None  # gp holds no ward
    hospital = extract.filter(pl.col("_source") == "hospital")
    from pipeline.disclosure import count_unsafe

    assert count_unsafe(hospital, ["age_band", "sex_code"], 3, sensitive="ward", l_diversity=2) == 0


def test_parts_of_any_size_give_the_same_delivery(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    frame = pseudonymised(7, people=120)
    whole, summary = run(frame, cfg)
    for chunk in (1, 7, 50):
        chunked, chunked_summary = run(frame, cfg, chunk=chunk)
        assert chunked.equals(whole)
        assert chunked_summary == summary  # risk sums exactly too (fsum)


def test_the_leak_check_sees_every_part(tmp_path: Path) -> None:
    cfg = config(tmp_path, quasi_identifiers=["age_band", "sex_code"])
    frame = pseudonymised(8)
    last = frame.filter(pl.col("_source") == "hospital")["_row"].max()
    leaky = frame.with_columns(
        pl.when(pl.col("_row") == last).then(pl.lit("Quintavalle")).otherwise("ward").alias("ward")
    )
    identifying = {"surname": pl.Series(["Quintavalle"])}
    run(frame, cfg, identifying, chunk=5)
    with pytest.raises(IdentifierLeak, match="ward"):
        run(leaky, cfg, identifying, chunk=5)
