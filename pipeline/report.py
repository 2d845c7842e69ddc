"""A self-contained HTML run report: inline CSS and SVG, no scripts, no external assets.

Built from a run manifest (counts, checksums, key IDs, settings) and the pairs' match
probabilities (drawn as match weights), so it can hold no record values. Every piece of text
is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import polars as pl

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:60rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem}
th{background:#f2f2f2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a6b2d}.bad{color:#a1260d}code{font-size:.9em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(v)}</td>' if isinstance(v, int | float) else f"<td>{_e(v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def match_weight(probability: float) -> float:
    """Match weight (log2 posterior odds, as Splink reports it) of a match probability."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


def histogram_svg(
    probabilities: pl.Series, *, threshold: float, bins: int = 20, width: int = 600
) -> str:
    """SVG bar chart of the pairs' match weights in ``bins`` equal bins, threshold marked.

    Weights are log2 posterior odds, ``log2(p / (1 - p))``; the match threshold is drawn at the
    weight of its probability.
    """
    height, pad = 220, 30
    weights = [match_weight(float(p)) for p in probabilities.drop_nulls().to_list()]
    cut = match_weight(threshold)
    low = math.floor(min([*weights, cut]))
    high = math.ceil(max([*weights, cut]))
    high = high if high > low else low + 1
    step = (high - low) / bins
    counts = [0] * bins
    for w in weights:
        counts[min(int((w - low) / step), bins - 1)] += 1
    top = max(counts) or 1
    span = width - 2 * pad
    bar_w = span / bins
    bars = []
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x = pad + i * bar_w
        label = f"weight {low + i * step:.1f} to {low + (i + 1) * step:.1f}: {c} pairs"
        bars.append(
            f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{bar_w - 1:.1f}" '
            f'height="{h:.1f}" fill="#4672b4"><title>{_e(label)}</title></rect>'
        )
    tx = pad + (cut - low) / (high - low) * span
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="match weight histogram">'
        + "".join(bars)
        + f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{pad - 10}" y2="{height - pad}" '
        'stroke="#a1260d" stroke-dasharray="4 3"/>'
        + f'<text x="{tx + 4:.1f}" y="{pad - 12}" font-size="11">match threshold '
        + f"{_e(threshold)} (weight {cut:.1f})</text>"
        + f'<text x="{pad}" y="{height - 8}" font-size="11">{low}</text>'
        + f'<text x="{width - pad - 10}" y="{height - 8}" font-size="11">{high}</text>'
        + f'<text x="{width / 2 - 40:.0f}" y="{height - 8}" font-size="11">match weight</text>'
        + f'<text x="{pad}" y="{pad - 12}" font-size="11">max {top}</text>'
        + "</svg>"
    )


def _k_anonymity(reports: dict[str, dict[str, Any]]) -> str:
    if not reports:
        return "<p>No k-anonymity step (no quasi-identifiers configured).</p>"
    rows = [
        [
            source,
            r["k"],
            r["records"],
            r["unsafe_before"],
            r["unsafe_after"],
            r["records_suppressed"],
            ", ".join(f"{q}: {level}" for q, level in sorted(r["levels"].items())),
        ]
        for source, r in sorted(reports.items())
    ]
    return _table(
        [
            "source",
            "k",
            "records",
            "unsafe before",
            "unsafe after",
            "records suppressed",
            "generalisation",
        ],
        rows,
    )


def render_report(manifest: dict[str, Any], probabilities: pl.Series) -> str:
    """The whole report page for one run."""
    totals = manifest["totals"]
    balanced = totals["input_rows"] == totals["delivered"] + totals["quarantined"]
    linkage = manifest["linkage"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>pprl run {_e(manifest['run_id'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>pprl run report: {_e(manifest['project'])} / {_e(manifest['environment'])}</h1>",
        _table(
            ["run", "pprl version", "config sha256", "input files"],
            [
                [
                    manifest["run_id"],
                    manifest["pprl_version"],
                    manifest["config_sha256"][:16],
                    len(manifest["inputs"]),
                ]
            ],
        ),
        "<h2>Row accounting</h2>",
        _table(
            [
                "source",
                "files",
                "input rows",
                "quarantined at ingest",
                "quarantined at identifiers",
                "delivered",
                "linked",
                "unlinked",
                "delivered with an invalid ID nulled",
            ],
            [
                [
                    name,
                    s["files"],
                    s["input_rows"],
                    s["quarantined_by_stage"]["ingest"],
                    s["quarantined_by_stage"]["identifiers"],
                    s["delivered"],
                    s["linked"],
                    s["unlinked"],
                    s.get("identifiers_nulled", 0),
                ]
                for name, s in sorted(manifest["sources"].items())
            ]
            + [
                [
                    "total",
                    len(manifest["inputs"]),
                    totals["input_rows"],
                    "",
                    "",
                    totals["delivered"],
                    totals["linked"],
                    totals["unlinked"],
                    totals.get("identifiers_nulled", 0),
                ]
            ],
        ),
        f'<p class="{"ok" if balanced else "bad"}">input rows = delivered + quarantined: '
        f"{'yes' if balanced else 'NO'}</p>",
        "<h2>Quarantine reasons</h2>",
        _table(
            ["stage", "reason", "rows"],
            [[q["stage"], q["reason"], q["rows"]] for q in manifest["quarantine_reasons"]],
        )
        if manifest["quarantine_reasons"]
        else "<p>No rows quarantined.</p>",
        "<h2>Linkage quality</h2>",
        _table(
            [
                "mode",
                "pairs scored",
                "pairs matched",
                "pairs for review",
                "match threshold",
                "review threshold",
                "records linked",
            ],
            [
                [
                    linkage["mode"],
                    linkage["pairs_scored"],
                    linkage["pairs_matched"],
                    linkage["pairs_for_review"],
                    linkage["match_threshold"],
                    linkage["review_threshold"],
                    f"{linkage['match_rate']:.1%}",
                ]
            ],
        ),
        histogram_svg(probabilities, threshold=float(linkage["match_threshold"]))
        if len(probabilities)
        else "<p>No pairs were scored.</p>",
        "<h2>Keys</h2>",
        _table(["identifier type", "key ID"], sorted(manifest["key_ids"].items()))
        if manifest["key_ids"]
        else "<p>No key IDs reported.</p>",
        "<h2>Disclosure control</h2>",
        _table(
            ["setting", "value"],
            [
                [k, ", ".join(map(str, v)) if isinstance(v, list) else v]
                for k, v in sorted(manifest["disclosure"].items())
                if k != "k_anonymity"
            ],
        ),
        _k_anonymity(manifest["disclosure"].get("k_anonymity", {})),
        "<h2>Outputs</h2>",
        _table(
            ["file", "rows", "sha256"],
            [[name, o["rows"], o["sha256"]] for name, o in sorted(manifest["outputs"].items())],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
