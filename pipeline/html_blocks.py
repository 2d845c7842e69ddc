"""Building blocks of the offline HTML reports: inline CSS, escaping, tables, warnings, and
probabilities and match weights as text. No scripts, no external assets; every piece of text is
escaped. Charts are in :mod:`pipeline.charts`.

Used by the run report (:mod:`pipeline.run_report`) and the link job's report.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

PAGE_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:60rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem}
th{background:#f2f2f2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a6b2d}.bad{color:#a1260d}code{font-size:.9em}
"""


def escape(value: object) -> str:
    """``value`` as HTML text, quotes included."""
    return html.escape(str(value), quote=True)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table with escaped cells; numbers right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(v)}</td>'
            if isinstance(v, int | float)
            else f"<td>{escape(v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def warnings_section(warnings: Sequence[str], *, subject: str) -> list[str]:
    """A "Warnings" heading and list: problems that qualify the results of ``subject``
    (training that did not go as planned, fallbacks), or a line saying there were none."""
    if not warnings:
        return ["<h2>Warnings</h2>", f'<p class="ok">No warnings for {escape(subject)}.</p>']
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return [
        "<h2>Warnings</h2>",
        f'<p class="bad">{len(warnings)} warning(s): the results of {escape(subject)} may be '
        "less reliable than they look.</p>",
        f'<ul class="bad">{items}</ul>',
    ]


def probability_text(value: float) -> str:
    """A probability to three significant figures, never rounded to a misleading 0."""
    return f"{value:.3g}" if value >= 1e-3 or value == 0 else f"{value:.2e}"


def match_weight(probability: float) -> float:
    """Match weight (log2 posterior odds, as Splink reports it) of a match probability."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))
