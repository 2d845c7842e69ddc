"""The HTML report of one pipeline run: one self-contained page, written beside its manifest.

Built from the run manifest (counts, checksums, key IDs, settings, the model's m and u and
training passes) and the link stage's diagnostics (histograms of match weights), so it can
hold no record values: it is delivered. Each section is one function returning its lines;
every piece of text is escaped (:mod:`pipeline.html_blocks`); the linkage charts are in
:mod:`pipeline.run_report_linkage`. :func:`render_report` checks the page fetches nothing
(:func:`pipeline.charts.assert_offline`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from pipeline.charts import CHART_CSS, assert_offline
from pipeline.html_blocks import PAGE_CSS, escape, html_table, warnings_section
from pipeline.run_report_linkage import linkage_sections

Manifest = dict[str, Any]


def render_report(
    manifest: Manifest,
    probabilities: pl.Series,
    diagnostics: Mapping[str, Any] | None = None,
) -> str:
    """The whole report page for one run. ``probabilities`` are the scored pairs' (drawn
    when ``diagnostics`` hold no histogram of every candidate pair)."""
    parts = [
        *_heading(manifest),
        *_warnings(manifest),
        *_row_accounting(manifest),
        *_quarantine_reasons(manifest),
        *linkage_sections(manifest["linkage"], diagnostics or {}, probabilities),
        *_keys(manifest),
        *_disclosure_control(manifest),
        *_outputs(manifest),
        "</body></html>",
    ]
    page = "\n".join(parts) + "\n"
    assert_offline(page, source="run report")
    return page


def _heading(manifest: Manifest) -> list[str]:
    project, environment = escape(manifest["project"]), escape(manifest["environment"])
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>pprl run {escape(manifest['run_id'])}</title>"
        f"<style>{PAGE_CSS}{CHART_CSS}</style></head><body>",
        f"<h1>pprl run report: {project} / {environment}</h1>",
        html_table(
            ["run", "created (UTC)", "pprl version", "config sha256", "input files", "executor"],
            [
                [
                    manifest["run_id"],
                    manifest.get("created", "-"),
                    manifest["pprl_version"],
                    manifest["config_sha256"][:16],
                    len(manifest["inputs"]),
                    execution_text(manifest.get("execution", {"executor": "local"})),
                ]
            ],
        ),
    ]


def execution_text(execution: Mapping[str, Any]) -> str:
    """Where the run's stages ran, from the manifest's ``execution`` section."""
    if execution.get("executor") != "dask":
        return str(execution.get("executor", "local"))
    if execution.get("cluster") != "local":
        return f"dask cluster: {execution['workers']} workers, {execution['threads']} threads"
    limit = execution.get("memory_limit_bytes")
    return (
        f"dask LocalCluster: {execution['workers']} workers x "
        f"{execution['threads_per_worker']} threads, "
        + ("processes" if execution["processes"] else "threads of pprl")
        + (f", {limit / 2**30:g} GiB each" if limit else "")
    )


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
    by_stage = [
        sum(s["quarantined_by_stage"][stage] for s in manifest["sources"].values())
        for stage in ("ingest", "identifiers")
    ]
    total = [
        "total",
        len(manifest["inputs"]),
        totals["input_rows"],
        *by_stage,
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
        if k not in _DISCLOSURE_RESULTS
    ]
    return [
        "<h2>Disclosure control</h2>",
        html_table(["setting", "value"], settings),
        _k_anonymity(disclosure.get("k_anonymity", {})),
        *_linked_results(disclosure),
    ]


# results reported in their own tables rather than as settings
_DISCLOSURE_RESULTS = ("k_anonymity", "linked_k_anonymity", "linked_risk")


def _linked_results(disclosure: dict[str, Any]) -> list[str]:
    """The linked view's k-anonymity and re-identification risk, when the run assessed them
    (counts and risks only), each as a flat table of its figures."""
    parts = []
    for key, title in (
        ("linked_k_anonymity", "k-anonymity of the linked view (files joined on person_id)"),
        ("linked_risk", "Re-identification risk of the linked view"),
    ):
        found = disclosure.get(key)
        if found:
            parts += [f"<h3>{escape(title)}</h3>", html_table(["figure", "value"], _flat(found))]
    return parts


def _flat(value: object, prefix: str = "") -> list[list[object]]:
    """Rows ``[dotted.key, value]`` of a nested mapping (lists joined as text)."""
    if isinstance(value, dict):
        rows: list[list[object]] = []
        for k, v in value.items():
            rows += _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(value, list):
        return [[prefix, ", ".join(map(str, value))]]
    return [[prefix, "-" if value is None else value]]


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
