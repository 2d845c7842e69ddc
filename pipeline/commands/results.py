"""Machine-readable results for schedulers: ``--json`` on a command, or the global
``--log-format json``, prints the command's result as one JSON object on stdout (logs and
errors go to stderr, as JSON lines under ``--log-format json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import polars as pl

if TYPE_CHECKING:  # annotations only: the runner imports the whole pipeline (~1 s)
    from pipeline.runner import RunSummary


def json_wanted(as_json: bool) -> bool:
    """``--json`` on the command, or ``--log-format json`` on ``pprl``."""
    if as_json:
        return True
    context = click.get_current_context(silent=True)
    return context is not None and context.find_root().params.get("log_format") == "json"


def emit(payload: dict[str, Any]) -> None:
    """One JSON object on stdout, paths as text."""
    click.echo(json.dumps(payload, default=_plain))


def _plain(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def run_result(summary: RunSummary) -> dict[str, Any]:
    """What ``pprl run`` did, for a scheduler: status, run, where its files are, the row
    totals and the linkage counts, and the warnings (messages carry no values)."""
    if summary.status != "delivered" or summary.delivery_dir is None:
        return {"status": summary.status}
    manifest = summary.manifest
    linkage = manifest.get("linkage", {})
    return {
        "status": summary.status,
        "run_id": summary.run_id,
        "delivery": summary.delivery_dir,
        "manifest": summary.delivery_dir / "manifest.json",
        "report": summary.delivery_dir / "report.html",
        "review_file": summary.review_file,
        "review_pairs": review_pairs(summary.review_file) if summary.review_file else 0,
        "totals": manifest["totals"],
        "linkage": {
            key: linkage.get(key)
            for key in ("pairs_matched", "pairs_for_review", "match_threshold", "review_threshold")
        },
        "warnings": manifest.get("warnings", []),
    }


def run_summary_lines(summary: RunSummary) -> list[str]:
    """The same, as text for a terminal."""
    if summary.status == "up_to_date":
        return ["nothing new to process"]
    totals = summary.manifest["totals"]
    warnings = len(summary.manifest.get("warnings", []))
    lines = [
        f"{summary.run_id}: {totals['input_rows']} rows in, {totals['delivered']} delivered, "
        f"{totals['quarantined']} quarantined, {totals['linked']} linked, "
        f"{warnings} warning(s){' (see the report)' if warnings else ''} -> {summary.delivery_dir}"
    ]
    if summary.review_file is not None:
        pairs = review_pairs(summary.review_file)
        lines.append(
            f"clerical review: {pairs} pair(s) in {summary.review_file} (open it with pprl"
            " review CONFIG, or fill its decision column and pass it back with --decisions)"
        )
    return lines


def review_pairs(path: Path) -> int:
    """Pairs (data rows) in a clerical-review file."""
    return int(pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item())
