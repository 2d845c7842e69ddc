"""The HTML report of one pipeline run: one self-contained page, written beside its manifest.

Built from the run manifest (counts, checksums, key IDs, settings) and the pairs' match
probabilities (drawn as match weights), so it can hold no record values. Each section is one
function returning its lines; every piece of text is escaped (:mod:`pipeline.html_blocks`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.html_blocks import PAGE_CSS, escape, histogram_svg, html_table, warnings_section

Manifest = dict[str, Any]


def render_report(manifest: Manifest, probabilities: pl.Series) -> str:
    """The whole report page for one run."""
    parts = [
        *_heading(manifest),
        *_warnings(manifest),
        *_row_accounting(manifest),
        *_quarantine_reasons(manifest),
        *_linkage_quality(manifest, probabilities),
        *_keys(manifest),
        *_disclosure_control(manifest),
        *_outputs(manifest),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _heading(manifest: Manifest) -> list[str]:
    project, environment = escape(manifest["project"]), escape(manifest["environment"])
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>pprl run {escape(manifest['run_id'])}</title><style>{PAGE_CSS}</style>"
        "</head><body>",
        f"<h1>pprl run report: {project} / {environment}</h1>",
        html_table(
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
    ]


def _warnings(manifest: Manifest) -> list[str]:
    """Linkage problems first: they qualify every count and probability below."""
    return warnings_section(manifest.get("warnings", []), subject="this run")


_ACCOUNTING_HEADERS = [
    "source",
    "files",
    "input rows",
    "quarantined at ingest",
    "quarantined at identifiers",
    "delivered",
    "linked",
    "unlinked",
    "delivered with an invalid ID nulled",
]


def _row_accounting(manifest: Manifest) -> list[str]:
    totals = manifest["totals"]
    balanced = totals["input_rows"] == totals["delivered"] + totals["quarantined"]
    rows: list[list[object]] = [
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
    total = [
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
    return [
        "<h2>Row accounting</h2>",
        html_table(_ACCOUNTING_HEADERS, [*rows, total]),
        f'<p class="{"ok" if balanced else "bad"}">input rows = delivered + quarantined: '
        f"{'yes' if balanced else 'NO'}</p>",
    ]


def _quarantine_reasons(manifest: Manifest) -> list[str]:
    reasons = manifest["quarantine_reasons"]
    if not reasons:
        return ["<h2>Quarantine reasons</h2>", "<p>No rows quarantined.</p>"]
    rows = [[q["stage"], q["reason"], q["rows"]] for q in reasons]
    return ["<h2>Quarantine reasons</h2>", html_table(["stage", "reason", "rows"], rows)]


def _linkage_quality(manifest: Manifest, probabilities: pl.Series) -> list[str]:
    linkage = manifest["linkage"]
    match = linkage["match_threshold"]
    headers = [
        "mode",
        "pairs scored",
        "pairs matched",
        "pairs for review",
        "match threshold",
        "review threshold",
        "records linked",
    ]
    row = [
        linkage["mode"],
        linkage["pairs_scored"],
        linkage["pairs_matched"],
        linkage["pairs_for_review"],
        _threshold(match, linkage.get("match_threshold_setting")),
        "-" if linkage["review_threshold"] is None else linkage["review_threshold"],
        f"{linkage['match_rate']:.1%}",
    ]
    histogram = (
        histogram_svg(probabilities, threshold=float(match))
        if len(probabilities) and match is not None
        else "<p>No pairs were scored.</p>"
    )
    return [
        "<h2>Linkage quality</h2>",
        html_table(headers, [row]),
        histogram,
        *_identifier_links(linkage),
    ]


def _threshold(value: float | None, setting: object) -> object:
    """A threshold as used, saying when the model chose it."""
    if value is None:
        return "-"
    return f"{value:.4g} (auto)" if setting == "auto" else value


def _identifier_links(linkage: dict[str, Any]) -> list[str]:
    if "identifier_links" not in linkage:
        return []
    rows = [
        ["records linked by a shared valid identifier", linkage["identifier_links"]],
        [
            "links refused: two identifiers of one type from one source in one person",
            linkage.get("links_refused_by_identifier_constraint", 0),
        ],
        [
            "groups sharing an identifier that disagree on another",
            linkage.get("identifier_conflicts_kept", 0),
        ],
    ]
    return ["<h3>Identifiers</h3>", html_table(["what", "count"], rows)]


def _keys(manifest: Manifest) -> list[str]:
    key_ids = manifest["key_ids"]
    if not key_ids:
        return ["<h2>Keys</h2>", "<p>No key IDs reported.</p>"]
    return ["<h2>Keys</h2>", html_table(["identifier type", "key ID"], sorted(key_ids.items()))]


def _disclosure_control(manifest: Manifest) -> list[str]:
    disclosure = manifest["disclosure"]
    settings = [
        [k, ", ".join(map(str, v)) if isinstance(v, list) else v]
        for k, v in sorted(disclosure.items())
        if k != "k_anonymity"
    ]
    return [
        "<h2>Disclosure control</h2>",
        html_table(["setting", "value"], settings),
        _k_anonymity(disclosure.get("k_anonymity", {})),
    ]


_K_ANONYMITY_HEADERS = [
    "source",
    "k",
    "records",
    "unsafe before",
    "unsafe after",
    "records suppressed",
    "generalisation",
]


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
    return html_table(_K_ANONYMITY_HEADERS, rows)


def _outputs(manifest: Manifest) -> list[str]:
    rows = [[name, o["rows"], o["sha256"]] for name, o in sorted(manifest["outputs"].items())]
    return ["<h2>Outputs</h2>", html_table(["file", "rows", "sha256"], rows)]
