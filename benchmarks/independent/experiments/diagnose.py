"""EXPERIMENT: why pprl links household members on pseudopeople data, and what fixes it.

Trains pprl exactly as the benchmark does (``Linker.train()``, watched by
:mod:`benchmarks.independent.pprl_probe`), scores every candidate pair, and reports against
the truth:

1. per comparison level: the m pprl learned, u, the weight, the *oracle* m (level shares
   among the true matches among the candidates) and ``h`` (level shares among pairs of two
   different people of one household);
2. each EM pass: block, comparisons it trained, match rate, expected matches, whether the
   plausibility check kept it, and the true matches and pairs in that block;
3. lambda: pprl's estimate, the truth, and the expected matches vs true matches;
4. false positives at pprl's automatic threshold: how many are one household / one address,
   and the commonest false-positive patterns with each comparison's weight;
5. candidate fixes scored on the same candidate patterns (no term frequencies; the first row
   recomputes pprl's own model that way so the others compare like with like):
   oracle m; oracle m for the person-level fields only; Winkler's three-class EM (M/H/U).

Run: ``python -m benchmarks.independent.experiments.diagnose --tasks census_w2,dedupe_w2``
(writes ``benchmarks/results/independent_diagnosis.json``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.independent.data import DEFAULT_DATA_DIR, TaskData, build_task, ensure_sources
from benchmarks.independent.experiments.latent_classes import (
    lambda_fixed_point,
    latent_class_em,
    responsibilities,
    score_posterior,
    two_class_posterior,
)
from benchmarks.independent.pprl_probe import probe
from benchmarks.independent.run_pprl import settings_for
from benchmarks.independent.scoring import ordered
from benchmarks.independent.tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "independent_diagnosis.json"
#: Fields a household shares (Winkler's H class agrees on them); the rest are per person.
HOUSEHOLD_FIELDS = ("last_name", "street_number", "street_name", "unit_number")
PERSON_FIELDS = ("first_name", "middle_initial", "dob", "sex")


def train(data: TaskData, seed: int) -> tuple[Any, dict[str, Any]]:
    from linkage import Linker

    right = data.directory / "right.parquet" if data.task.link_type == "link_only" else None
    linker = Linker(settings_for(data.task), data.directory / "left.parquet", right)
    with probe(linker) as trace:
        linker.train(seed=seed + 1)
    return linker, trace.to_dict()


def labelled_candidates(linker: Any, data: TaskData) -> pl.DataFrame:
    """Every candidate pair with its gammas, pprl's score, ``is_match`` and ``same_household``."""
    scored = ordered(linker.predict(), data.task.link_type)
    truth = data.truth.with_columns(pl.lit(True).alias("is_match"))
    ent = data.entities.select("record_id", "household_id")
    out = scored.join(truth, on=["id_l", "id_r"], how="left").with_columns(
        pl.col("is_match").fill_null(False)
    )
    out = out.join(ent.rename({"record_id": "id_l", "household_id": "h_l"}), on="id_l")
    out = out.join(ent.rename({"record_id": "id_r", "household_id": "h_r"}), on="id_r")
    same = (pl.col("h_l") == pl.col("h_r")).fill_null(False) & ~pl.col("is_match")
    out = out.with_columns(same.alias("same_household")).drop("h_l", "h_r")
    return out.join(rules_mask(data), on=["id_l", "id_r"], how="left")


def rules_mask(data: TaskData) -> pl.DataFrame:
    """``id_l, id_r, rules_mask``: bit k set when the pair agrees on every column of
    blocking rule k (as pprl's own gamma table records it)."""
    left = pl.read_parquet(data.directory / "left.parquet")
    link = data.task.link_type == "link_only"
    right = pl.read_parquet(data.directory / "right.parquet") if link else left
    found = []
    for k, rule in enumerate(data.task.blocking):
        cols = list(rule)
        pairs = (
            left.drop_nulls(cols)
            .select("record_id", *cols)
            .join(right.drop_nulls(cols).select("record_id", *cols), on=cols, suffix="_r")
        )
        pairs = ordered(
            pairs.select(pl.col("record_id").alias("id_l"), pl.col("record_id_r").alias("id_r")),
            data.task.link_type,
        ).filter(pl.col("id_l") != pl.col("id_r"))
        found.append(pairs.unique().with_columns(pl.lit(1 << k, dtype=pl.Int64).alias("bit")))
    both = pl.concat(found)
    return both.group_by("id_l", "id_r").agg(pl.col("bit").sum().alias("rules_mask"))


def _shares(g: pl.Series, n_levels: int) -> list[float]:
    arr = g.to_numpy()
    arr = arr[arr >= 0]
    tallies = np.bincount(arr, minlength=n_levels).astype(float)
    return (tallies / tallies.sum()).tolist() if tallies.sum() else [float("nan")] * n_levels


def level_table(linker: Any, cand: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    matches = cand.filter("is_match")
    household = cand.filter("same_household")
    table = {}
    for c in linker.comparisons:
        p = linker.parameters.comparisons[c.name]
        k = len(p.m)
        oracle = _shares(matches[c.gamma_column], k)
        h = _shares(household[c.gamma_column], k)
        table[c.name] = [
            {
                "level": p.labels[g],
                "m": p.m[g],
                "u": p.u[g],
                "weight": float(np.log2(max(p.m[g], 1e-6) / max(p.u[g], 1e-6))),
                "m_oracle": oracle[g],
                "weight_oracle": float(np.log2(max(oracle[g], 1e-6) / max(p.u[g], 1e-6))),
                "h_household": h[g],
            }
            for g in range(k)
        ]
    return table


def _rule_columns(name: str) -> list[str]:
    inside = re.search(r"\((.*)\)", name)
    return [c.strip() for c in inside.group(1).split(",")] if inside else []


def block_truth(data: TaskData, columns: list[str]) -> dict[str, int]:
    """Pairs in a block on ``columns`` and the true matches among them."""
    left = pl.read_parquet(data.directory / "left.parquet")
    link = data.task.link_type == "link_only"
    right = pl.read_parquet(data.directory / "right.parquet") if link else left
    key_l = left.drop_nulls(columns).group_by(columns).len()
    key_r = right.drop_nulls(columns).group_by(columns).len()
    sizes = key_l.join(key_r, on=columns, suffix="_r")
    if link:
        pairs = int((sizes["len"] * sizes["len_r"]).sum())
    else:
        pairs = int((sizes["len"] * (sizes["len"] - 1) // 2).sum())
    t = data.truth.join(left.select("record_id", *columns), left_on="id_l", right_on="record_id")
    t = t.join(right.select("record_id", *columns), left_on="id_r", right_on="record_id")
    agree = pl.all_horizontal([pl.col(c) == pl.col(f"{c}_right") for c in columns])
    return {"pairs": pairs, "true_matches": int(t.filter(agree.fill_null(False)).height)}


def pass_table(data: TaskData, trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Every EM pass with what it estimated, whether its estimates were used, and the truth."""
    kept = trace["kept_expected_matches"]
    supplementary = {
        n: e["expected"] for s in trace["supplementary"] for n, e in s["estimates"].items()
    }
    rows = []
    for p in trace["passes"]:
        est = p["estimates"]
        if not est:
            continue
        first = next(iter(est.values()))
        used = [
            n
            for n in est
            if first["expected"] in kept.get(n, []) or supplementary.get(n) == first["expected"]
        ]
        rows.append(
            {
                "rule": p["rule"],
                "trained": sorted(est),
                "match_rate": first["rate"],
                "expected_matches": first["expected"],
                "kept_for": sorted(used),
                **block_truth(data, _rule_columns(p["rule"])),
            }
        )
    return rows


def block_consistency(
    data: TaskData, trace: dict[str, Any], cand: pl.DataFrame
) -> list[dict[str, Any]]:
    """Per prediction block: matches its own EM pass expected, matches the final model
    expects among the same pairs, and the truth. A model that fits agrees with its passes."""
    rows = []
    for k, rule in enumerate(data.task.blocking):
        in_block = cand.filter((pl.col("rules_mask") & (1 << k)) > 0)
        name = "block_on(" + ", ".join(rule) + ")"
        est: dict[str, Any] = next(
            (p["estimates"] for p in trace["passes"] if p["rule"] == name), {}
        )
        rows.append(
            {
                "rule": name,
                "pairs": in_block.height,
                "pass_expected": next(iter(est.values()))["expected"] if est else None,
                "final_expected": float(in_block["match_probability"].sum()),
                "true_matches": int(in_block["is_match"].sum()),
            }
        )
    return rows


def per_record_matches(cand: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Expected matches per record (sum of match probabilities) against the truth."""
    out = {}
    for side in ("id_l", "id_r"):
        s = cand.group_by(side).agg(
            pl.col("match_probability").sum().alias("expected"),
            pl.col("is_match").sum().alias("true"),
        )
        out[side] = {
            "records_expecting_over_1.5": int((s["expected"] > 1.5).sum()),
            "records_with_over_1_true": int((s["true"] > 1).sum()),
            "max_expected": float(s["expected"].max() or 0.0),  # type: ignore[arg-type]
            "max_true": int(s["true"].max() or 0),  # type: ignore[arg-type]
        }
    return out


def false_positive_table(
    linker: Any, cand: pl.DataFrame, threshold: float, top: int = 5
) -> dict[str, Any]:
    fp = cand.filter((pl.col("match_probability") >= threshold) & ~pl.col("is_match"))
    surname = next((c for c in linker.comparisons if c.name == "last_name"), None)
    surname_gamma = surname.gamma_column if surname is not None else None
    top_surname = len(linker.parameters.comparisons["last_name"].m) - 1 if surname else 0
    gammas = [c.gamma_column for c in linker.comparisons]
    patterns = fp.group_by(gammas).len().sort("len", descending=True).head(top)
    rows = []
    for row in patterns.iter_rows(named=True):
        parts = {}
        for c in linker.comparisons:
            g = row[c.gamma_column]
            p = linker.parameters.comparisons[c.name]
            parts[c.name] = (
                "null" if g < 0 else f"{p.labels[g]} ({np.log2(max(p.m[g], 1e-6) / p.u[g]):+.1f})"
            )
        rows.append({"count": row["len"], "levels": parts})
    return {
        "threshold": threshold,
        "false_positives": fp.height,
        "same_household_share": float(fp.select(pl.col("same_household").mean()).item() or 0.0),
        "same_household_other_surname_share": float(
            fp.select(
                (pl.col("same_household") & (pl.col(surname_gamma) != top_surname)).mean()
            ).item()
            or 0.0
        )
        if surname_gamma
        else None,
        "top_patterns": rows,
    }


def candidate_fixes(linker: Any, cand: pl.DataFrame, data: TaskData) -> dict[str, Any]:
    """Score alternative models on the same candidate patterns (module docstring, 5)."""
    names = [c.name for c in linker.comparisons]
    gammas = [c.gamma_column for c in linker.comparisons]
    agg = cand.group_by(gammas).agg(pl.len().alias("n"), pl.col("is_match").sum().alias("tp"))
    patterns = agg.select(gammas).to_numpy().astype(np.int64)
    counts, tps = agg["n"].to_numpy().astype(float), agg["tp"].to_numpy().astype(float)
    n_true, total = data.truth.height, int(data.meta["total_pairs"])
    params = linker.parameters.comparisons
    m = [np.asarray(params[n].m, dtype=float) for n in names]
    u = [np.asarray(params[n].u, dtype=float) for n in names]
    oracle = []
    for j in range(len(names)):
        valid = patterns[:, j] >= 0
        t = np.bincount(patterns[valid, j], weights=tps[valid], minlength=len(m[j]))
        oracle.append(np.maximum(t / max(t.sum(), 1.0), 1e-6))

    def two_class(m_: list[np.ndarray], lam: float | None = None) -> dict[str, float]:
        lam = lambda_fixed_point(patterns, counts, m_, u, total) if lam is None else lam
        return score_posterior(
            two_class_posterior(patterns, m_, u, lam), counts, tps, n_true, total
        ).as_dict()

    person = [n in PERSON_FIELDS for n in names]
    out = {
        "pprl_as_trained_no_tf": two_class(
            m, linker.parameters.probability_two_random_records_match
        ),
        "oracle_m": two_class(oracle),
        "oracle_m_true_lambda": two_class(oracle, n_true / total),
        "oracle_m_person_fields_only": two_class(
            [o if p else mm for o, mm, p in zip(oracle, m, person, strict=True)]
        ),
    }
    out["three_class_mhu"] = three_class(patterns, counts, tps, names, m, u, n_true, total)
    out["three_class_mhu_per_block"] = three_class_per_block(cand, linker, data, m, u)
    return out


def _fixed_by_rules(linker: Any, rules: tuple[tuple[str, ...], ...], mask: int) -> list[bool]:
    """Comparisons every pair with ``mask`` agrees on by construction (columns blocked on)."""
    blocked = {c for k, r in enumerate(rules) if mask >> k & 1 for c in r}
    return [set(c.columns()) <= blocked for c in linker.comparisons]


def three_class_per_block(
    cand: pl.DataFrame, linker: Any, data: TaskData, m: list[np.ndarray], u: list[np.ndarray]
) -> dict[str, Any]:
    """M/H/U with the class shares estimated per blocking stratum (the set of rules a pair
    satisfies) and, within a stratum, the comparisons the block fixes left out (for every
    class): being in the block is given, so only the other comparisons are evidence. This
    is the scoring-time counterpart of pprl's per-pass training, which holds blocked
    comparisons fixed."""
    names = [c.name for c in linker.comparisons]
    gammas = [c.gamma_column for c in linker.comparisons]
    agg = cand.group_by([*gammas, "rules_mask"]).agg(
        pl.len().alias("n"), pl.col("is_match").sum().alias("tp")
    )
    patterns = agg.select(gammas).to_numpy().astype(np.int64)
    masks = agg["rules_mask"].to_numpy().astype(np.int64)
    strata_keys, strata = np.unique(masks, return_inverse=True)
    for s, key in enumerate(strata_keys):
        fixed = _fixed_by_rules(linker, data.task.blocking, int(key))
        rows = strata == s
        patterns[np.ix_(rows, np.flatnonzero(fixed))] = -1
    counts, tps = agg["n"].to_numpy().astype(float), agg["tp"].to_numpy().astype(float)
    h0 = [mm if n in HOUSEHOLD_FIELDS else uu for n, mm, uu in zip(names, m, u, strict=True)]
    fit = latent_class_em(
        patterns,
        counts,
        [m, h0, u],
        np.array([0.05, 0.25, 0.70]),
        fixed=[False, False, True],
        strata=strata.astype(np.int64),
    )
    p_match = responsibilities(patterns, fit.probs, fit.shares, strata.astype(np.int64))[:, 0]
    score: dict[str, Any] = dict(
        score_posterior(
            p_match, counts, tps, data.truth.height, int(data.meta["total_pairs"])
        ).as_dict()
    )
    score["converged"] = fit.converged
    score["iterations"] = fit.iterations
    score["strata"] = len(strata_keys)
    return score


def three_class(
    patterns: np.ndarray,
    counts: np.ndarray,
    tps: np.ndarray,
    names: list[str],
    m: list[np.ndarray],
    u: list[np.ndarray],
    n_true: int,
    total: int,
) -> dict[str, Any]:
    """Winkler's M/H/U on all candidates, no labels: U fixed at the random-pair u; M starts
    at pprl's m; H starts at M for household fields and at u for the person fields."""
    h0 = [mm if n in HOUSEHOLD_FIELDS else uu for n, mm, uu in zip(names, m, u, strict=True)]
    fit = latent_class_em(
        patterns, counts, [m, h0, u], np.array([0.05, 0.25, 0.70]), fixed=[False, False, True]
    )
    p_match = responsibilities(patterns, fit.probs, fit.shares)[:, 0]
    score: dict[str, Any] = dict(score_posterior(p_match, counts, tps, n_true, total).as_dict())
    score["converged"] = fit.converged
    score["iterations"] = fit.iterations
    score["class_shares_among_candidates"] = [round(float(s), 5) for s in fit.shares[0]]
    score["m"] = {
        n: [round(float(v), 4) for v in p] for n, p in zip(names, fit.probs[0], strict=True)
    }
    score["h"] = {
        n: [round(float(v), 4) for v in p] for n, p in zip(names, fit.probs[1], strict=True)
    }
    return score


def diagnose(name: str, data_dir: Path, seed: int, quick: bool) -> dict[str, Any]:
    sources = ensure_sources(data_dir, seed)
    data = build_task(TASKS[name], sources, data_dir, quick=quick, seed=seed)
    linker, trace = train(data, seed)
    try:
        cand = labelled_candidates(linker, data)
        summary = linker.posterior_summary()
        lam = linker.parameters.probability_two_random_records_match
        result = {
            "task": name,
            "meta": data.meta,
            "true_matches_in_candidates": int(cand["is_match"].sum()),
            "same_household_pairs_in_candidates": int(cand["same_household"].sum()),
            "lambda": {
                "estimate": lam,
                "truth": data.meta["true_lambda"],
                "ratio": lam / data.meta["true_lambda"],
                "expected_matches": summary.expected_matches,
            },
            "unsupervised_precision_estimate": summary.expected_precision,
            "dependencies": sorted(linker.parameters.dependencies),
            "passes": pass_table(data, trace),
            "block_consistency": block_consistency(data, trace, cand),
            "per_record_expected_matches": per_record_matches(cand),
            "training_log": trace["log"],
            "levels": level_table(linker, cand),
            "false_positives": false_positive_table(linker, cand, summary.auto_threshold),
            "candidate_fixes": candidate_fixes(linker, cand, data),
        }
    finally:
        linker.close()
    return result


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\n=== {r['task']}: lambda x{r['lambda']['ratio']:.2f}, "
        f"expected matches {r['lambda']['expected_matches']:.0f} vs "
        f"{r['true_matches_in_candidates']} true in candidates; "
        f"dependencies {r['dependencies'] or 'none'}"
    )
    for p in r["passes"]:
        print(
            f"  pass {p['rule']:<42} rate {p['match_rate']:.3f} expects "
            f"{p['expected_matches']:>8.0f} | truth {p['true_matches']:>6} of {p['pairs']:>7} "
            f"pairs | kept for {','.join(p['kept_for']) or '-'}"
        )
    for b in r["block_consistency"]:
        pe = "-" if b["pass_expected"] is None else f"{b['pass_expected']:.0f}"
        print(
            f"  block {b['rule']:<40} its pass expects {pe:>7}, final model "
            f"{b['final_expected']:>8.0f}, truth {b['true_matches']:>6}"
        )
    for side, v in r["per_record_expected_matches"].items():
        print(
            f"  {side}: {v['records_expecting_over_1.5']} records expect > 1.5 matches "
            f"(truly > 1: {v['records_with_over_1_true']}); max {v['max_expected']:.1f} "
            f"(true {v['max_true']})"
        )
    for name, levels in r["levels"].items():
        cells = "  ".join(
            f"{lv['level'].replace(name, '').strip()[:14]}: w {lv['weight']:+.1f} / "
            f"oracle {lv['weight_oracle']:+.1f} (h {lv['h_household']:.2f})"
            for lv in levels
        )
        print(f"  {name:<15} {cells}")
    fp = r["false_positives"]
    print(
        f"  FP at auto {fp['threshold']:.3f}: {fp['false_positives']}, "
        f"{fp['same_household_share']:.1%} same household, "
        f"{fp['same_household_other_surname_share'] or 0:.1%} same household other surname"
    )
    for row in fp["top_patterns"][:3]:
        print(f"    {row['count']:>6} x {row['levels']}")
    for fix, s in r["candidate_fixes"].items():
        print(
            f"  {fix:<30} F1 auto {s['f1']:.3f} (P {s['precision']:.3f} est "
            f"{s['estimated_precision']:.3f}) best {s['best_f1']:.3f} lambda x"
            f"{s['lambda_estimate'] / r['lambda']['truth']:.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="census_ssa,census_w2,dedupe_w2,dedupe_census_acs_cps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = p.parse_args(argv)
    results = []
    for name in args.tasks.split(","):
        results.append(diagnose(name, args.data_dir, args.seed, args.quick))
        print_report(results[-1])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {"experiment": "diagnose", "seed": args.seed, "tasks": results}, indent=1, default=float
        )
    )
    tmp.replace(args.output)
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
