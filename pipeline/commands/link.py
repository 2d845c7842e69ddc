"""``pprl link CONFIG``: a standalone linkage or deduplication job.

Parses the options and calls :func:`pipeline.linkjob.run_link_job` (or, with ``--check``,
:func:`pipeline.linkjob.check_link_job`); :mod:`pipeline.linkjob` describes the job and its
outputs, :mod:`pipeline.linkconfig` the config.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.linkjob import STEPS, check_link_job, run_link_job
from pipeline.progress import stage_progress


@click.command("link")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Only validate CONFIG and the input headers; report every problem at once.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write outputs here instead of the config's output folder.",
)
@click.option(
    "--report-records",
    is_flag=True,
    help="Show record values (names, dates, addresses) in the report's waterfalls, comparison"
    " viewer and cluster studio; keep the output folder with the inputs then.",
)
def command(config_path: Path, check: bool, output: Path | None, report_records: bool) -> None:
    """Link two files, or deduplicate one, as described by a linkage CONFIG (YAML).

    Writes pairs.parquet, clusters.parquet, review.csv, model.json, evaluation.json,
    link-report.html and a manifest into the output folder. Outputs hold record ids and scores,
    never names, dates or addresses (unless --report-records puts them in the report).
    Exit status: 0 done, 2 config error, 3 data error.

    \b
    Example:
        pprl link configs/linkage/link-demo.yaml --check
        pprl link configs/linkage/link-demo.yaml --output /tmp/link-out
    """
    if check:
        cfg = check_link_job(config_path)
        click.echo(f"{config_path}: OK ({cfg.mode}, {len(cfg.inputs)} input(s))")
        return
    with stage_progress("pprl link", STEPS) as progress:
        result = run_link_job(
            config_path,
            output=output.resolve() if output else None,
            report_records=report_records,
            progress=progress,
        )
    click.echo(result.summary_line())
