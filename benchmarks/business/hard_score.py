"""Scoring for the hard business benchmark: precision, recall, F1, and what the errors were.

A tool's answer is one row per incoming record it linked: ``incoming_id, entref``. Against the
truth (``truth.parquet``: the record's company, family, stem and scenario) and the register's
truth (``entref -> family_id, stem``) every wrong link is one of:

* ``sister``: a registered company of the record's own family (same group, not the company);
* ``namesake``: a company with the record's stem in another family (usually another town);
* ``other``: anything else.

Shares of wrong links are given per incoming record (the issue's target: links to a sister
that is not theirs <= 1% of incoming). ``id_contradicted`` counts wrong links where the record
carried a valid CRN that differs from the linked company's CRN.
"""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import check

#: Record groups reported separately: a name and a filter on the joined truth.
GROUPS: dict[str, pl.Expr] = {
    "in_register": pl.col("scenario") == "in_register",
    "in_register_with_registered_sister": (pl.col("scenario") == "in_register")
    & (pl.col("sisters_in_register") > 0),
    "in_register_with_registered_namesake": (pl.col("scenario") == "in_register")
    & (pl.col("namesakes_in_register") > 0),
    "unregistered_sibling": pl.col("scenario") == "unregistered_sibling",
    "namesake_not_registered": pl.col("scenario") == "namesake",
    "outside": pl.col("scenario") == "outside",
    "agent_registered": pl.col("address_kind").is_in(["agent", "trading"]),
    "moved": pl.col("address_kind") == "moved",
    "typo": pl.col("name_variations").str.contains("typo"),
    "trading_name": pl.col("name_variations").str.contains("trading_name_only|t_a"),
    "no_identifier_given": pl.col("ids_given") == "",
    "dissolved": pl.col("status") == "dissolved",
}


def judge(
    links: pl.DataFrame,
    truth: pl.DataFrame,
    register_truth: pl.DataFrame,
    crns: pl.DataFrame,
) -> pl.DataFrame:
    """Truth joined with each record's link (``linked_entref``) and its verdict ``error``:
    null when right or unlinked, else sister / namesake / other."""
    linked = links.select("incoming_id", linked_entref="entref").join(
        register_truth.select(
            linked_entref="entref", linked_family="family_id", linked_stem="stem"
        ),
        on="linked_entref",
        how="left",
    )
    judged = truth.join(linked, on="incoming_id", how="left").join(
        crns, on=["incoming_id", "linked_entref"], how="left"
    )
    wrong = pl.col("linked_entref").is_not_null() & (
        pl.col("entref").is_null() | (pl.col("linked_entref") != pl.col("entref"))
    )
    return judged.with_columns(
        error=pl.when(~wrong)
        .then(None)
        .when(pl.col("linked_family") == pl.col("family_id"))
        .then(pl.lit("sister"))
        .when(pl.col("linked_stem") == pl.col("stem"))
        .then(pl.lit("namesake"))
        .otherwise(pl.lit("other"))
    )


def crn_conflicts(
    incoming: pl.DataFrame, register: pl.DataFrame, links: pl.DataFrame
) -> pl.DataFrame:
    """``incoming_id, linked_entref, id_contradicted``: the record's valid CRN differs from
    the linked company's CRN."""
    inc = pl.DataFrame(
        {
            "incoming_id": incoming["incoming_id"],
            "crn_in": check("crn", incoming["crn"])["normalised"],
        }
    )
    reg = pl.DataFrame(
        {
            "linked_entref": register["entref"],
            "crn_reg": check("crn", register["crn"])["normalised"],
        }
    )
    pairs = links.select("incoming_id", linked_entref="entref")
    joined = pairs.join(inc, on="incoming_id").join(reg, on="linked_entref", how="left")
    contradicted = (
        pl.col("crn_in").is_not_null()
        & pl.col("crn_reg").is_not_null()
        & (pl.col("crn_in") != pl.col("crn_reg"))
    )
    return joined.select("incoming_id", "linked_entref", id_contradicted=contradicted)


def metrics(judged: pl.DataFrame) -> dict[str, object]:
    """Overall precision / recall / F1, wrong links by kind, and the same per record group."""
    n = judged.height
    overall = _prf(judged)
    errors = {
        kind: int((judged["error"] == kind).sum()) for kind in ("sister", "namesake", "other")
    }
    overall["wrong_links"] = errors
    overall["sister_wrong_share_of_incoming"] = round(errors["sister"] / n, 4) if n else 0.0
    overall["id_contradicted_wrong_links"] = int(
        (judged["error"].is_not_null() & judged["id_contradicted"].fill_null(False)).sum()
    )
    groups = {name: _prf(judged.filter(expr)) for name, expr in GROUPS.items()}
    return {"overall": overall, "by_group": groups}


def _prf(judged: pl.DataFrame) -> dict[str, object]:
    true_links = int(judged["entref"].is_not_null().sum())
    linked = int(judged["linked_entref"].is_not_null().sum())
    correct = int((judged["linked_entref"] == judged["entref"]).fill_null(False).sum())
    p = correct / linked if linked else 0.0
    r = correct / true_links if true_links else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "records": judged.height,
        "true_links": true_links,
        "linked": linked,
        "correct": correct,
        "wrong": linked - correct,
        "sister_wrong": int((judged["error"] == "sister").sum()),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
    }
