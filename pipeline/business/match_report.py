"""Match-rate report: counts by status and method, and precision/recall against known truth.

Only counts and ratios: no key, identifier or name appears in the report.
"""

from __future__ import annotations

import polars as pl

from pipeline.business.deterministic import ENTREF
from pipeline.business.register_link import MATCHED, STATUSES
from pipeline.business.register_status import NOT_TRADING
from pipeline.review.decisions import KEY


def _ratio(a: int, b: int) -> float:
    return round(a / b, 6) if b else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 6) if p + r else 0.0


def match_report(results: pl.DataFrame, truth: pl.DataFrame | None = None) -> dict[str, object]:
    """Counts by status, by method, by (status, method) and, for linked records, by the
    register status of their enterprise; with ``truth`` (``key, entref``:
    the enterprise each incoming record really is, absent when it is in no register) also
    precision, recall and F1 overall and by method.

    Precision by method = correct / matched by that method. Recall by method = correct by that
    method / all true links (so the methods' recalls add up to the overall recall).
    """
    total = results.height
    by_status = {s: 0 for s in STATUSES}
    for status, n in results.group_by("status").len().sort("status").rows():
        by_status[str(status)] = int(n)
    by_method = {
        str(m if m is not None else "none"): int(n)
        for m, n in results.group_by("method").len().sort("method", nulls_last=True).rows()
    }
    cross = [
        {"status": s, "method": m, "records": int(n)}
        for s, m, n in results.group_by("status", "method")
        .len()
        .sort("status", "method", nulls_last=True)
        .rows()
    ]
    # a CRN request reports a match to a dissolved company as "dissolved": still a link
    matched = results.filter(pl.col("status").is_in([*MATCHED, *NOT_TRADING]))
    report: dict[str, object] = {
        "records": total,
        "by_status": by_status,
        "by_method": by_method,
        "by_status_and_method": cross,
        "match_rate": _ratio(matched.height, total),
    }
    if "register_status" in results.columns:
        report["linked_by_register_status"] = {
            str(s): int(n)
            for s, n in matched.group_by("register_status").len().sort("register_status").rows()
        }
    if truth is not None:
        report["truth"] = _truth_metrics(results, matched, truth)
    return report


def _truth_metrics(
    results: pl.DataFrame, matched: pl.DataFrame, truth: pl.DataFrame
) -> dict[str, object]:
    """Precision, recall and F1 of the matched records, overall and by method. A truth row
    with an empty entref says the record is not in the register: a link made for it is
    wrong, and it is not a link to find."""
    true = truth.select(
        pl.col(KEY).cast(pl.String), pl.col(ENTREF).cast(pl.String).alias("true_entref")
    ).unique(KEY)
    judged = matched.join(true, on=KEY, how="left").with_columns(
        (pl.col(ENTREF) == pl.col("true_entref")).fill_null(False).alias("correct")
    )
    true = true.filter(pl.col("true_entref").str.strip_chars().str.len_chars() > 0)
    n_true = true.height
    correct = int(judged["correct"].sum())
    precision, recall = _ratio(correct, judged.height), _ratio(correct, n_true)
    methods = {}
    for method, group in judged.group_by("method"):
        hits = int(group["correct"].sum())
        p, r = _ratio(hits, group.height), _ratio(hits, n_true)
        methods[str(method[0])] = {
            "matched": group.height,
            "correct": hits,
            "precision": p,
            "recall": r,
        }
    missed = true.join(matched.select(KEY), on=KEY, how="anti")
    missed_status = results.join(missed.select(KEY), on=KEY).group_by("status").len().rows()
    return {
        "true_links": n_true,
        "matched": judged.height,
        "correct": correct,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "by_method": dict(sorted(methods.items())),
        "true_links_not_matched_by_status": {str(s): int(n) for s, n in sorted(missed_status)},
    }
