"""The disclosure report: pass / review / fail per cell and why, as JSON and as one HTML page.

Reports carry category labels, record counts of published cells, statuses and reasons. They
never carry a suppressed cell's value or count, nor any record-level value.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from pipeline.disclosure.check import TableCheckResult

SCHEMA_VERSION = 1


def report_dict(result: TableCheckResult, *, source: str | None = None) -> dict[str, Any]:
    """Machine-readable report; safe to release alongside the table."""
    spec, s = result.spec, result.settings
    cells = []
    for row in result.cells.iter_rows(named=True):
        withheld = row["suppression"] != ""
        cells.append(
            {
                "cell": {c: row[c] for c in spec.by},
                "status": row["status"],
                "reasons": list(row["reasons"]),
                "suppression": row["suppression"] or None,
                "published": None if withheld else row["published"],
            }
        )
    audit = [
        {
            "measure": "count" if measure == "n" else f"sum of {spec.variable}",
            "cell": {c: result.cells[c][iv.index] for c in spec.by},
            # An exposed cell's bounds would print its value: give them only when protected.
            "lower": None if iv.exposed else _finite(iv.lower),
            "upper": None if iv.exposed else _finite(iv.upper),
            "exposed": iv.exposed,
        }
        for measure, intervals in result.audit.items()
        for iv in intervals
    ]
    status = result.cells.get_column("status")
    supp = result.cells.get_column("suppression")
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "table": {
            "by": list(spec.by),
            "statistic": spec.statistic,
            "variable": spec.variable,
            "margins": spec.margins,
        },
        "settings": s.model_dump(),
        "verdict": result.verdict,
        "safe": result.safe,
        "summary": {
            "cells": result.cells.height,
            "pass": int((status == "pass").sum()),
            "review": int((status == "review").sum()),
            "fail": int((status == "fail").sum()),
            "primary_suppressions": int((supp == "primary").sum()),
            "secondary_suppressions": int((supp == "secondary").sum()),
        },
        "notes": list(result.notes),
        "audit": audit,
        "cells": cells,
    }


def report_json(result: TableCheckResult, *, source: str | None = None) -> str:
    return json.dumps(report_dict(result, source=source), indent=2, sort_keys=False) + "\n"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}
th{background:#eee}.pass{background:#e6f4ea}.review{background:#fff4d6}.fail{background:#fde2e1}
.verdict{font-size:1.3em;font-weight:bold}
"""


def report_html(report: Mapping[str, Any]) -> str:
    """A self-contained page (inline CSS, no scripts or external assets); all text escaped."""
    e = html.escape
    table = report["table"]
    by = list(table["by"])
    what = table["statistic"] + (f" of {table['variable']}" if table["variable"] else "")
    rows = []
    for cell in report["cells"]:
        labels = "".join(f"<td>{e(str(cell['cell'][c]))}</td>" for c in by)
        published = "withheld" if cell["published"] is None else f"{cell['published']:g}"
        reasons = e("; ".join(cell["reasons"])) or "&nbsp;"
        rows.append(
            f'<tr class="{e(cell["status"])}">{labels}<td>{e(cell["status"])}</td>'
            f"<td>{reasons}</td><td>{e(cell['suppression'] or '')}</td>"
            f"<td>{e(published)}</td></tr>"
        )
    head = "".join(f"<th>{e(c)}</th>" for c in by)
    summary = "".join(
        f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in report["summary"].items()
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in report["notes"])
    verdict = e(report["verdict"])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Disclosure report: {e(what)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Disclosure report</h1><p>Table: {e(what)} by {e(', '.join(by))}"
        f"{' from ' + e(str(report['source'])) if report.get('source') else ''}</p>"
        f'<p class="verdict {verdict}">Verdict: {verdict}</p>'
        f"<table>{summary}</table>"
        f"{'<ul>' + notes + '</ul>' if notes else ''}"
        f"<table><tr>{head}<th>status</th><th>reasons</th><th>suppression</th>"
        f"<th>published</th></tr>{''.join(rows)}</table></body></html>\n"
    )


def _finite(x: float) -> float | None:
    return x if x not in (float("inf"), float("-inf")) else None
