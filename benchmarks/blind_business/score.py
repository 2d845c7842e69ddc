"""Score links against the blind data's truth: precision, recall, F1, sister-company links.

A link is a (incoming_id, entref) pair a tool accepted. True links are the truth rows with an
entref (80% of incoming). A *sister link* is a link to a register company of the same group as
the record's business (same family) that is not the business itself; records of unregistered
group members count too, since any link they get to their group is to a sister.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class Score:
    links: int
    correct: int
    true_links: int
    precision: float
    recall: float
    f1: float
    sister_links: int
    sister_links_pct_of_incoming: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Truth:
    """Per incoming record: the true entref ("" when not in the register) and its group."""

    records: pl.DataFrame  # incoming_id, true_entref, family, category
    register_family: pl.DataFrame  # entref, linked_family

    @classmethod
    def load(cls, data: Path) -> Truth:
        detail = pl.read_parquet(data / "truth_detail.parquet")
        meta = pl.read_parquet(data / "register_meta.parquet")
        return cls(
            detail.select(
                "incoming_id", pl.col("entref").alias("true_entref"), "family", "category"
            ),
            meta.select("entref", pl.col("family").alias("linked_family")),
        )


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def score_links(links: pl.DataFrame, truth: Truth) -> Score:
    """``links``: incoming_id, entref (one row per linked record)."""
    joined = (
        links.select("incoming_id", "entref")
        .join(truth.records, on="incoming_id", how="left")
        .join(truth.register_family, on="entref", how="left")
    )
    correct = int((joined["entref"] == joined["true_entref"]).sum())
    sisters = joined.filter(
        (pl.col("entref") != pl.col("true_entref"))
        & (pl.col("family") >= 0)
        & (pl.col("linked_family") == pl.col("family"))
    ).height
    true_links = int((truth.records["true_entref"] != "").sum())
    precision = _ratio(correct, links.height)
    recall = _ratio(correct, true_links)
    return Score(
        links=links.height,
        correct=correct,
        true_links=true_links,
        precision=precision,
        recall=recall,
        f1=_ratio(2 * precision * recall, precision + recall),
        sister_links=sisters,
        sister_links_pct_of_incoming=100 * _ratio(sisters, truth.records.height),
    )


def best_threshold(candidates: pl.DataFrame, truth: Truth) -> tuple[float, Score]:
    """The probability threshold with the highest F1 over each record's best candidate
    (``candidates``: incoming_id, entref, match_probability)."""
    true_links = int((truth.records["true_entref"] != "").sum())
    ranked = (
        candidates.join(truth.records, on="incoming_id", how="left")
        .with_columns((pl.col("entref") == pl.col("true_entref")).cast(pl.Int64).alias("ok"))
        .sort("match_probability", descending=True)
        .with_columns(pl.col("ok").cum_sum().alias("tp"), pl.int_range(1, pl.len() + 1).alias("n"))
        # a threshold keeps every pair at or above it: score the last row of each tie
        .group_by("match_probability")
        .agg(pl.col("tp").max(), pl.col("n").max())
        .with_columns(
            (2 * pl.col("tp") / (pl.col("n") + true_links)).alias("f1")  # 2TP / (links + true)
        )
        .sort("f1", "match_probability", descending=True)
    )
    threshold = float(ranked["match_probability"][0])
    return threshold, score_links(above(candidates, threshold), truth)


def above(candidates: pl.DataFrame, threshold: float) -> pl.DataFrame:
    return candidates.filter(pl.col("match_probability") >= threshold)


def by_category(links: pl.DataFrame, truth: Truth) -> dict[str, dict[str, int]]:
    """Per kind of incoming record (the generator's category): records, linked, correct."""
    judged = truth.records.join(
        links.select("incoming_id", pl.col("entref").alias("linked")), on="incoming_id", how="left"
    )
    table = (
        judged.group_by("category")
        .agg(
            pl.len().alias("records"),
            pl.col("linked").is_not_null().sum().alias("linked"),
            (pl.col("linked") == pl.col("true_entref")).sum().alias("correct"),
        )
        .sort("records", descending=True)
    )
    return {row.pop("category"): row for row in table.iter_rows(named=True)}
