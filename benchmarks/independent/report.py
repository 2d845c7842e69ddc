"""The side-by-side table of the independent benchmark."""

from __future__ import annotations

from typing import Any

HEADER = (
    f"{'task':<22}{'tool':<14}{'thresh':>7}{'prec':>6}{'rec':>6}{'F1':>6}{'bestF1':>7}"
    f"{'lam x':>8}{'estP':>6}{'FPhh':>6}{'clP':>6}{'clR':>6}{'clOwnP':>7}"
    f"{'wall':>7}{'CPU':>6}{'GiB':>6}{'pairs':>9}"
)


def _f(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def tool_row(task: str, r: dict[str, Any]) -> str:
    """One line: quality at the tool's own threshold, calibration, clusters, cost."""
    if r.get("status") != "ok":
        return f"{task:<22}{r['tool']:<14}  {r.get('status', 'not run')}"
    pairs = r["pairs"]
    estimate = r.get("own_precision_estimate")
    if estimate is None:
        estimate = pairs.get("implied_precision")
    clusters = r.get("clusters_at_threshold") or {}
    own = r.get("clusters_own_default") or {}
    return (
        f"{task:<22}{r['tool']:<14}{_f(r['threshold'], '.3f'):>7}"
        f"{_f(pairs['precision'], '.3f'):>6}{_f(pairs['recall'], '.3f'):>6}"
        f"{_f(pairs['f1'], '.3f'):>6}{_f(pairs['best_f1'], '.3f'):>7}"
        f"{_f(r.get('lambda_ratio'), '.3g'):>8}{_f(estimate, '.2f'):>6}"
        f"{_f(r['false_positives'].get('same_household_share'), '.2f'):>6}"
        f"{_f(clusters.get('cluster_precision'), '.2f'):>6}"
        f"{_f(clusters.get('cluster_recall'), '.2f'):>6}"
        f"{_f(own.get('cluster_precision'), '.2f'):>7}"
        f"{_f(r['wall_seconds'], '.1f'):>7}{_f(r['cpu_seconds'], '.1f'):>6}"
        f"{_f(r['peak_rss_gib'], '.2f'):>6}{_f(r.get('pairs_scored'), ','):>9}"
    )


LEGEND = (
    "prec/rec/F1 at the tool's own threshold (pprl automatic, peers 0.5); bestF1 over every "
    "threshold; lam x = lambda estimate / truth; estP = the tool's own precision estimate "
    "(pprl: posterior_summary; peers: mean probability of linked pairs); FPhh = share of false "
    "positives in the same household; clP/clR = pairwise cluster precision/recall of connected "
    "components at the tool's threshold (dedupe); clOwnP = precision of pprl's own "
    "Linker.cluster at its defaults (automatic threshold)."
)


def format_table(results: list[dict[str, Any]]) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    for entry in results:
        name = entry["task"]["name"] + ("*" if entry["meta"].get("quick") else "")
        lines += [tool_row(name, r) for r in entry["tools"]]
    lines.append(LEGEND)
    return "\n".join(lines)
