"""``pprl link CONFIG``: a standalone linkage or deduplication job.

Parses the options and calls :func:`pipeline.linkjob.run_link_job` (or, with ``--check``,
:func:`pipeline.linkjob.check_link_job`); :mod:`pipeline.linkjob` describes the job and its
outputs, :mod:`pipeline.linkconfig` the config.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.linkjob import STEPS, check_link_job, run_link_job
from pipeline.linkjob.clerical import read_link_decisions
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
@click.option(
    "--review-records",
    is_flag=True,
    help="Put both records' compared values side by side in review.csv, for a curator"
    " (pprl review --link-review); keep the output folder with the inputs then.",
)
@click.option(
    "--decisions",
    "decisions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A curator's decisions (key, candidate, decision: match or non-match), such as the"
    " decided file pprl review saves beside review.csv: applied before clustering.",
)
def command(
    config_path: Path,
    check: bool,
    output: Path | None,
    report_records: bool,
    review_records: bool,
    decisions: Path | None,
) -> None:
    """Link two files, or deduplicate one, as described by a linkage CONFIG (YAML).

    Writes pairs.parquet, clusters.parquet, review.csv, model.json, evaluation.json,
    link-report.html and a manifest into the output folder. Outputs hold record ids and scores,
    never names, dates or addresses (unless --report-records puts them in the report, or
    --review-records in review.csv). Curators decide review.csv's pairs in the browser with
    pprl review --link-review; --decisions feeds their decisions back: match makes the pair a
    match, non-match removes it. Exit status: 0 done, 2 config error, 3 data error.

    \b
    Example:
        pprl link configs/linkage/link-demo.yaml --check
        pprl link configs/linkage/link-demo.yaml --output /tmp/link-out --review-records
        pprl review --link-review /tmp/link-out/review.csv
        pprl link configs/linkage/link-demo.yaml --output /tmp/link-out --review-records \\
            --decisions /tmp/link-out/decided/review.csv
    """
    if check:
        cfg = check_link_job(config_path)
        click.echo(f"{config_path}: OK ({cfg.mode}, {len(cfg.inputs)} input(s))")
        if decisions is not None:
            read = read_link_decisions(decisions, dedupe=cfg.mode == "dedupe")
            click.echo(f"{decisions.name}: OK ({read.height} decision(s))")
        return
    with stage_progress("pprl link", STEPS) as progress:
        result = run_link_job(
            config_path,
            output=output.resolve() if output else None,
            report_records=report_records,
            review_records=review_records,
            decisions=decisions,
            progress=progress,
        )
    click.echo(result.summary_line())
