"""The disclosure report: pass / review / fail per cell (and per model) and why, as JSON and as
one HTML page.

Reports carry category labels, record counts of published cells, statuses and reasons, and
each checked model's residual degrees of freedom (published with the model anyway). They
never carry a suppressed cell's value or count, nor any record-level value.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipeline.disclosure.check import TableCheckResult
from pipeline.disclosure.regression import ModelCheck
from pipeline.disclosure.settings import TableCheckSettings

SCHEMA_VERSION = 1


def report_dict(
    result: TableCheckResult | None = None,
    *,
    models: Sequence[ModelCheck] = (),
    settings: TableCheckSettings | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Machine-readable report on a checked table, checked models, or both; safe to release
    alongside the outputs. ``verdict`` and ``safe`` cover everything reported: one failing
    model fails the report. ``settings`` is used when there is no table."""
    if result is None and not models:
        raise ValueError("nothing to report: give a checked table, models, or both")
    s = result.settings if result is not None else settings or TableCheckSettings()
    model_rows = [
        {"model": m.name, "residual_dof": m.residual_dof, "status": m.status,
         "reasons": m.reasons}
        for m in models
    ]  # fmt: skip
    models_failed = sum(m.status == "fail" for m in models)
    summary: dict[str, int] = {}
    if result is not None:
        summary = _table_summary(result)
    if models:
        summary |= {"models": len(models), "models_failed": models_failed}
    verdict = "pass" if result is None else result.verdict
    if models_failed:
        verdict = "fail"
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "table": None if result is None else _table(result),
        "settings": s.model_dump(),
        "verdict": verdict,
        "safe": (result is None or result.safe) and not models_failed,
        "summary": summary,
        "notes": [] if result is None else list(result.notes),
        "not_checked": [] if result is None else list(result.not_checked),
        "audit": [] if result is None else _audit(result),
        "cells": [] if result is None else _cells(result),
        "models": model_rows,
    }


def _table(result: TableCheckResult) -> dict[str, Any]:
    spec = result.spec
    return {
        "by": list(spec.by),
        "statistic": spec.statistic,
        "variable": spec.variable,
        "margins": spec.margins,
        "input": result.built_from,
    }


def _table_summary(result: TableCheckResult) -> dict[str, int]:
    status = result.cells.get_column("status")
    supp = result.cells.get_column("suppression")
    return {
        "cells": result.cells.height,
        "pass": int((status == "pass").sum()),
        "review": int((status == "review").sum()),
        "fail": int((status == "fail").sum()),
        "primary_suppressions": int((supp == "primary").sum()),
        "secondary_suppressions": int((supp == "secondary").sum()),
    }


def _cells(result: TableCheckResult) -> list[dict[str, Any]]:
    cells = []
    for row in result.cells.iter_rows(named=True):
        withheld = row["suppression"] != ""
        cells.append(
            {
                "cell": {c: row[c] for c in result.spec.by},
                "status": row["status"],
                "reasons": list(row["reasons"]),
                "suppression": row["suppression"] or None,
                "published": None if withheld else row["published"],
            }
        )
    return cells


def _audit(result: TableCheckResult) -> list[dict[str, Any]]:
    spec = result.spec
    return [
        {
            "measure": "count" if measure == "n" else f"sum of {spec.variable}",
            "cell": {c: result.cells[c][iv.index] for c in spec.by},
            # An exposed cell's bounds would print its value: give them only when protected.
            "lower": None if iv.exposed else _bound(iv.lower, measure, math.ceil),
            "upper": None if iv.exposed else _bound(iv.upper, measure, math.floor),
            "exposed": iv.exposed,
        }
        for measure, intervals in result.audit.items()
        for iv in intervals
    ]


def report_json(
    result: TableCheckResult | None = None,
    *,
    models: Sequence[ModelCheck] = (),
    settings: TableCheckSettings | None = None,
    source: str | None = None,
) -> str:
    report = report_dict(result, models=models, settings=settings, source=source)
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


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
    parts = []
    if table is not None:
        what = table["statistic"] + (f" of {table['variable']}" if table["variable"] else "")
        what += f" by {', '.join(table['by'])}"
        if table.get("input") == "counts":
            what += " (pre-aggregated counts)"
    else:
        what = "Regression outputs"
    summary = "".join(
        f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in report["summary"].items()
    )
    notes = [*report["notes"]]
    if report.get("not_checked"):
        notes.append("not checked: " + ", ".join(report["not_checked"]))
    listed = "".join(f"<li>{e(n)}</li>" for n in notes)
    verdict = e(report["verdict"])
    parts.append(
        f"<h1>Disclosure report</h1><p>{'Table: ' if table is not None else ''}{e(what)}"
        f"{' from ' + e(str(report['source'])) if report.get('source') else ''}</p>"
        f'<p class="verdict {verdict}">Verdict: {verdict}</p>'
        f"<table>{summary}</table>"
        f"{'<ul>' + listed + '</ul>' if listed else ''}"
    )
    if table is not None:
        parts.append(_cells_html(report["cells"], list(table["by"])))
    if report.get("models"):
        parts.append(_models_html(report["models"]))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Disclosure report: {e(what)}</title><style>{_STYLE}</style></head><body>"
        f"{''.join(parts)}</body></html>\n"
    )


def _cells_html(cells: Sequence[Mapping[str, Any]], by: list[str]) -> str:
    e = html.escape
    rows = []
    for cell in cells:
        labels = "".join(f"<td>{e(str(cell['cell'][c]))}</td>" for c in by)
        published = _number(cell["published"])
        reasons = e("; ".join(cell["reasons"])) or "&nbsp;"
        rows.append(
            f'<tr class="{e(cell["status"])}">{labels}<td>{e(cell["status"])}</td>'
            f"<td>{reasons}</td><td>{e(cell['suppression'] or '')}</td>"
            f"<td>{e(published)}</td></tr>"
        )
    head = "".join(f"<th>{e(c)}</th>" for c in by)
    return (
        f"<table><tr>{head}<th>status</th><th>reasons</th><th>suppression</th>"
        f"<th>published</th></tr>{''.join(rows)}</table>"
    )


def _number(value: float | int | None) -> str:
    if value is None:
        return "withheld"
    return f"{value:d}" if isinstance(value, int) else f"{value:g}"


def _models_html(models: Sequence[Mapping[str, Any]]) -> str:
    e = html.escape
    rows = "".join(
        f'<tr class="{e(m["status"])}"><td>{e(m["model"])}</td><td>{m["residual_dof"]:d}</td>'
        f"<td>{e(m['status'])}</td><td>{e('; '.join(m['reasons'])) or '&nbsp;'}</td></tr>"
        for m in models
    )
    return (
        "<h2>Models</h2><table><tr><th>model</th><th>residual degrees of freedom</th>"
        f"<th>status</th><th>reasons</th></tr>{rows}</table>"
    )


def _finite(x: float) -> float | None:
    return x if x not in (float("inf"), float("-inf")) else None


def _bound(x: float, measure: str, to_whole: Callable[[float], int]) -> float | int | None:
    """An audit bound; a count's is a whole number (rounded inwards: counts are integers, so
    the tighter bound is as true and is what an intruder infers anyway)."""
    finite = _finite(x)
    if finite is None or measure != "n":
        return finite
    nudge = 1e-7 if to_whole is math.ceil else -1e-7
    return int(to_whole(finite - nudge))
