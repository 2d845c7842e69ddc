"""Turn per-tool measurements into the results table, the pprl/peer ratios and target checks."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3

#: The issue's targets. At 1M x 1M: pprl wall <= 0.5x Splink's, peak RSS <= 3 GiB, F1 at
#: pprl's automatic threshold >= Splink's best-threshold F1. Below 1M: pprl faster than each
#: peer with F1 at least as high: checked against the peer's headline F1 (its own threshold,
#: 0.5 for the peers) and, more strictly, against its best-threshold F1.
LARGE_SIZE = 1_000_000
LARGE_WALL_RATIO = 0.5
LARGE_RSS_BYTES = 3 * GIB


@dataclass
class ToolRun:
    """All runs of one tool at one size, plus the metrics of its last successful run."""

    tool: str
    size: int
    walls: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    rss_methods: list[str] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # calibration holds lists
    child: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and all(s == "ok" for s in self.statuses)

    @property
    def wall(self) -> float | None:
        return statistics.median(self.walls) if self.ok else None

    @property
    def cpu_seconds(self) -> float | None:
        return statistics.median(self.cpu) if self.ok and self.cpu else None

    @property
    def peak_rss(self) -> int | None:
        return int(statistics.median(self.rss)) if self.ok else None

    @property
    def headline(self) -> dict[str, float | int]:
        """Metrics at the tool's own threshold if it has one, else at the default."""
        return self.metrics.get("auto") or self.metrics.get("default") or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "size": self.size,
            "status": "ok" if self.ok else (self.statuses[-1] if self.statuses else "not run"),
            "wall_seconds_median": self.wall,
            "cpu_seconds_median": self.cpu_seconds,
            "peak_rss_bytes_median": self.peak_rss,
            "peak_rss_gib_median": None if self.peak_rss is None else self.peak_rss / GIB,
            "runs": [
                {
                    "wall_seconds": w,
                    "cpu_seconds": c,
                    "peak_rss_bytes": r,
                    "status": s,
                    "rss_method": m,
                }
                for w, c, r, s, m in zip(
                    self.walls, self.cpu, self.rss, self.statuses, self.rss_methods, strict=True
                )
            ],
            "metrics": self.metrics,
            "pairs_scored": self.child.get("pairs_scored"),
            "tool_threshold": self.child.get("threshold"),
            "phases_seconds_last_run": self.child.get("phases"),
            "versions": self.child.get("versions"),
            "notes": self.child.get("notes"),
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def compare_with_peers(runs: list[ToolRun]) -> dict[str, dict[str, Any]]:
    """pprl against each peer run at the same size: ratios, F1 differences, target checks."""
    pprl = next((r for r in runs if r.tool == "pprl" and r.ok), None)
    if pprl is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for peer in runs:
        if peer.tool == "pprl" or not peer.ok:
            continue
        f1 = float(pprl.headline.get("f1", 0.0))
        peer_f1 = float(peer.headline.get("f1", 0.0))
        peer_best = float(peer.headline.get("best_f1", 0.0))
        wall_ratio = _ratio(pprl.wall, peer.wall)
        rss_ratio = _ratio(pprl.peak_rss, peer.peak_rss)
        entry: dict[str, Any] = {
            "wall_ratio": wall_ratio,
            "cpu_ratio": _ratio(pprl.cpu_seconds, peer.cpu_seconds),
            "peak_rss_ratio": rss_ratio,
            "f1_minus_peer_f1": f1 - peer_f1,
            "f1_minus_peer_best_f1": f1 - peer_best,
        }
        if pprl.size >= LARGE_SIZE:
            entry["targets"] = {
                f"wall <= {LARGE_WALL_RATIO}x peer": wall_ratio is not None
                and wall_ratio <= LARGE_WALL_RATIO,
                "peak RSS <= 3 GiB": pprl.peak_rss is not None and pprl.peak_rss <= LARGE_RSS_BYTES,
                "F1 (auto) >= peer best-threshold F1": f1 >= peer_best,
            }
        else:
            entry["targets"] = {
                "faster than peer": wall_ratio is not None and wall_ratio < 1.0,
                "F1 >= peer F1": f1 >= peer_f1,
                "F1 >= peer best-threshold F1": f1 >= peer_best,
            }
        out[peer.tool] = entry
    return out


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(runs: list[ToolRun]) -> str:
    """A fixed-width table: one row per tool and size."""
    header = (
        f"{'tool':<14}{'size':>10}{'wall s':>9}{'CPU s':>8}{'RSS GiB':>9}{'thresh':>8}"
        f"{'prec':>7}{'recall':>8}{'F1':>7}{'bestF1':>8}{'pairs':>12}  status"
    )
    lines = [header, "-" * len(header)]
    for r in runs:
        h = r.headline
        rss = None if r.peak_rss is None else r.peak_rss / GIB
        lines.append(
            f"{r.tool:<14}{r.size:>10}{_fmt(r.wall, '.1f'):>9}{_fmt(r.cpu_seconds, '.1f'):>8}"
            f"{_fmt(rss, '.2f'):>9}"
            f"{_fmt(h.get('threshold'), '.3f'):>8}{_fmt(h.get('precision'), '.3f'):>7}"
            f"{_fmt(h.get('recall'), '.3f'):>8}{_fmt(h.get('f1'), '.3f'):>7}"
            f"{_fmt(h.get('best_f1'), '.3f'):>8}{_fmt(r.child.get('pairs_scored'), ','):>12}"
            f"  {'ok' if r.ok else (r.statuses[-1] if r.statuses else 'not run')}"
        )
    return "\n".join(lines)


def format_comparisons(size: int, comparisons: dict[str, dict[str, Any]]) -> str:
    lines = []
    for peer, c in comparisons.items():
        checks = ", ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in c["targets"].items())
        lines.append(
            f"pprl/{peer} @ {size}: wall x{_fmt(c['wall_ratio'], '.2f')}, "
            f"CPU x{_fmt(c['cpu_ratio'], '.2f')}, "
            f"RSS x{_fmt(c['peak_rss_ratio'], '.2f')}, "
            f"F1 {c['f1_minus_peer_f1']:+.3f} vs peer F1, "
            f"{c['f1_minus_peer_best_f1']:+.3f} vs peer best F1 | {checks}"
        )
    return "\n".join(lines)


def format_calibration(runs: list[ToolRun]) -> str:
    """One line per tool reporting its own view (lambda, precision estimate) vs the truth."""
    lines = []
    for r in runs:
        c = r.metrics.get("calibration")
        if not isinstance(c, dict):
            continue
        lines.append(
            f"{r.tool} @ {r.size}: lambda x{_fmt(c['lambda_ratio'], '.3f')} of the truth; "
            f"precision estimate {_fmt(c['precision_estimate'], '.3f')} vs true "
            f"{_fmt(c['precision_true'], '.3f')}; training warnings: "
            f"{', '.join(c['training_warnings']) or 'none'}"
        )
    return "\n".join(lines)
