"""HTML tables of records side by side (work-folder reports only), with differences marked."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.html_blocks import escape


def _normalised(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def records_table(
    headers: Sequence[str],
    fields: Sequence[tuple[str, Sequence[object]]],
    *,
    caption: str = "",
) -> str:
    """One column per record (``headers``), one row per field; a row whose values differ
    (ignoring case and spacing) is marked ``diff``, a missing value ``missing``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in ["field", *headers])
    body = []
    for name, values in fields:
        present = [v for v in values if v is not None and str(v).strip() != ""]
        differ = len({_normalised(v) for v in present}) > 1
        cells = []
        for value in values:
            if value is None or str(value).strip() == "":
                cells.append('<td class="missing">(none)</td>')
            else:
                cls = ' class="diff"' if differ else ""
                cells.append(f"<td{cls}>{escape(value)}</td>")
        body.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="pprl-records">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
