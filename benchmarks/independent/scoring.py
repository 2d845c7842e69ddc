"""Scoring every tool's output the same way: pairs, calibration, false positives, clusters.

* pair metrics: :func:`benchmarks.linkage.metrics.evaluate_pairs` (recall over all true pairs,
  best-threshold sweep by weight where the tool writes one); dedupe pairs are unordered, so
  both sides are put in ``id_l < id_r`` order first. Where a tool marks its links (pprl's
  ``linked`` column, deduplicating several sources: one link per record and source), the
  figures at its threshold are those of its links; ``best_f1`` still sweeps every written
  pair's score (the rule not applied), ``best_f1_one_link`` sweeps the pairs the rule keeps
  (``one_link``) and ``best_f1_model`` the model's scores before the source priors
  (``match_weight_model``), so the gap can be taken against the best of the three;
* the model's own view: ``implied precision`` is the mean match probability of the pairs it
  links (what the tool believes its precision is), ``implied matches`` the sum of match
  probabilities over the written pairs (what it believes the number of matches is);
* false positives: the share whose two records are the same household (truth) or the same
  street address (same street number and street name);
* clusters: connected components over the linked pairs (what Splink's
  ``cluster_pairwise_predictions_at_threshold`` does), scored pairwise: precision is the share
  of record pairs put in one cluster that are one simulant, recall the share of a simulant's
  record pairs put in one cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from benchmarks.linkage.metrics import evaluate_pairs


def ordered(pairs: pl.DataFrame, link_type: str) -> pl.DataFrame:
    """Dedupe pairs as ``id_l < id_r`` (a link's sides keep their meaning)."""
    if link_type != "dedupe_only":
        return pairs
    lo = pl.min_horizontal("id_l", "id_r")
    hi = pl.max_horizontal("id_l", "id_r")
    return pairs.with_columns(lo.alias("id_l"), hi.alias("id_r"))


def pair_scores(pairs: pl.DataFrame, truth: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """Pair metrics at ``threshold`` and the tool's implied precision and matches."""
    metrics: dict[str, Any] = evaluate_pairs(pairs, truth, threshold=threshold).to_dict()
    p = pairs["match_probability"].cast(pl.Float64)
    linked = p.filter(p >= threshold)
    metrics["implied_precision"] = float(linked.mean()) if linked.len() else None  # type: ignore[arg-type]
    metrics["implied_matches"] = float(p.sum())
    return metrics


#: Headline figures taken from a tool's marked links (see the module docstring)
_AT_THRESHOLD = ("precision", "recall", "f1", "predicted_pairs", "implied_precision")


def linked_pair_scores(
    pairs: pl.DataFrame, truth: pl.DataFrame, threshold: float
) -> dict[str, Any]:
    """:func:`pair_scores` of pairs with ``linked``, ``one_link`` and ``match_weight_model``
    columns: headline figures from the links, the three best-threshold sweeps."""
    scores = pair_scores(pairs, truth, threshold)
    at = pair_scores(pairs.filter(pl.col("linked")), truth, threshold)
    scores |= {k: at[k] for k in _AT_THRESHOLD}
    one_link = evaluate_pairs(pairs.filter(pl.col("one_link")), truth, threshold=threshold)
    model = pairs.select(
        "id_l",
        "id_r",
        pl.col("match_weight_model").alias("match_weight"),
        pl.col("match_probability_model").alias("match_probability"),
    )
    scores["best_f1_one_link"] = one_link.best_f1
    scores["best_f1_model"] = evaluate_pairs(model, truth, threshold=threshold).best_f1
    return scores


def false_positive_profile(
    pairs: pl.DataFrame,
    threshold: float,
    truth: pl.DataFrame,
    entities: pl.DataFrame,
    addresses: pl.DataFrame | None,
) -> dict[str, Any]:
    """Linked non-matches: how many, and the share that are the same household / address."""
    linked = pairs.filter(pl.col("match_probability") >= threshold).select("id_l", "id_r")
    fp = linked.unique().join(truth, on=["id_l", "id_r"], how="anti")
    out: dict[str, Any] = {"false_positives": fp.height}
    if fp.height == 0:
        return out
    ent = entities.select("record_id", "household_id")
    fp = fp.join(ent.rename({"record_id": "id_l", "household_id": "h_l"}), on="id_l", how="left")
    fp = fp.join(ent.rename({"record_id": "id_r", "household_id": "h_r"}), on="id_r", how="left")
    if fp["h_l"].null_count() < fp.height:  # FEBRL has no households
        same_household = (pl.col("h_l") == pl.col("h_r")).fill_null(False).mean()
        out["same_household_share"] = float(fp.select(same_household).item())
    if addresses is not None:
        a = addresses.select("record_id", "street_number", "street_name")
        fp = fp.join(a.rename({"record_id": "id_l"}), on="id_l", how="left")
        fp = fp.join(a.rename({"record_id": "id_r"}), on="id_r", how="left", suffix="_r")
        same_address = (pl.col("street_number") == pl.col("street_number_r")) & (
            pl.col("street_name") == pl.col("street_name_r")
        )
        out["same_address_share"] = float(fp.select(same_address.fill_null(False).mean()).item())
    return out


def components(ids: pl.Series, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """``record_id, cluster`` by connected components over pairs at or above ``threshold``."""
    index = pl.DataFrame({"record_id": ids}).with_row_index("node")
    edges = pairs.filter(pl.col("match_probability") >= threshold).select("id_l", "id_r")
    edges = edges.join(index.rename({"record_id": "id_l", "node": "a"}), on="id_l")
    edges = edges.join(index.rename({"record_id": "id_r", "node": "b"}), on="id_r")
    n = index.height
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return index.select("record_id").with_columns(pl.Series("cluster", labels))


def _pairs_within(sizes: pl.Series) -> int:
    s = sizes.cast(pl.Int64)
    return int((s * (s - 1) // 2).sum())


def cluster_scores(assignment: pl.DataFrame, entities: pl.DataFrame) -> dict[str, Any]:
    """Pairwise precision/recall/F1 of ``record_id, cluster`` against simulant ids."""
    joined = assignment.join(entities.select("record_id", "simulant_id"), on="record_id")
    both = joined.group_by("cluster", "simulant_id").len()["len"]
    by_cluster = joined.group_by("cluster").len()["len"]
    by_entity = joined.group_by("simulant_id").len()["len"]
    tp, pred, true = _pairs_within(both), _pairs_within(by_cluster), _pairs_within(by_entity)
    precision = tp / pred if pred else 0.0
    recall = tp / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "cluster_precision": precision,
        "cluster_recall": recall,
        "cluster_f1": f1,
        "clusters": int(by_cluster.len()),
        "largest_cluster": int(by_cluster.max() or 0),  # type: ignore[arg-type]
        "true_entities": int(by_entity.len()),
    }
