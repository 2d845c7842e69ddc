"""``pprl run CONFIG``: run the batch pipeline for every input file not yet delivered."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.commands.results import emit, json_wanted, run_result, run_summary_lines
from pipeline.commands.validate import validate_config
from pipeline.config import load_config
from pipeline.executor_settings import ExecutorKind, resolve_execution
from pipeline.executors import executor_for
from pipeline.logs import configure_logging
from pipeline.progress import stage_progress
from pipeline.run_plan import plan_run
from pipeline.runner import STAGES, run_pipeline


@click.command("run")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default=None,
    help="Run per-file and per-part work here, or on dask.distributed "
    "[default: the config's execution.executor, else local].",
)
@click.option(
    "--scheduler",
    default=None,
    help="dask scheduler address of an existing cluster (default: start a LocalCluster; "
    "the four options below then do not apply).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="LocalCluster workers [2]."
)
@click.option(
    "--threads-per-worker",
    type=click.IntRange(min=1),
    default=None,
    help="Threads per LocalCluster worker [1].",
)
@click.option(
    "--processes/--no-processes",
    default=None,
    help="LocalCluster workers as separate processes, or threads of this one [threads].",
)
@click.option(
    "--memory-limit",
    default=None,
    metavar="SIZE",
    help="Memory per LocalCluster worker, such as 4GiB (a worker above it is restarted).",
)
@click.option(
    "--all",
    "reprocess",
    is_flag=True,
    help="Process every input file again, not only new ones (e.g. after changing the config).",
)
@click.option(
    "--decisions",
    "decisions",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An edited clerical-review file (WORK/review/RUN.csv, decision column filled with "
    "match or non-match): stored, and applied to this and every later run's linkage.",
)
@click.option(
    "--json-logs", is_flag=True, help="Write logs as JSON lines (same as --log-format json)."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate CONFIG as pprl validate does, count the files and rows a run would "
    "process, and stop before linking: nothing is written.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def command(
    config_path: Path,
    executor: ExecutorKind | None,
    scheduler: str | None,
    workers: int | None,
    threads_per_worker: int | None,
    processes: bool | None,
    memory_limit: str | None,
    reprocess: bool,
    decisions: tuple[Path, ...],
    json_logs: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Ingest, validate, link, pseudonymise, de-identify and deliver the inputs of CONFIG.

    Files already delivered are skipped, so rerunning is safe. Pairs in the clerical-review
    band go to WORK/review/RUN.csv (the config's work folder, outside the delivery: it shows
    names; the summary names the file); review them with pprl review CONFIG, or fill its
    decision column and pass it back with --decisions. --json (or pprl --log-format json)
    prints the result as one JSON object on stdout. Exit status: 0 done (or nothing new),
    2 config error, 3 data error, 75 another run holds the lock (retry later).

    --executor dask starts a LocalCluster (--workers, --threads-per-worker,
    --processes, --memory-limit, or the config's execution.dask) or connects to
    --scheduler; the manifest records the cluster's shape.

    \b
    Example:
        PPRL_DEMO_PASSPHRASE=pprl-demo-only pprl run configs/demo.yaml --dry-run
        PPRL_DEMO_PASSPHRASE=pprl-demo-only pprl run configs/demo.yaml --json
        pprl run configs/demo.yaml --executor dask --workers 4 --processes --memory-limit 4GiB
        pprl run configs/demo.yaml --decisions example-output/pipeline-demo-work/review/run-1a2b.csv
    """
    if json_logs:
        configure_logging("json", "INFO")
    config = validate_config(config_path) if dry_run else load_config(config_path)
    kind, dask = resolve_execution(  # checked by --dry-run too; no cluster is started yet
        config.execution,
        executor,
        scheduler=scheduler,
        workers=workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit,
    )
    if dry_run:  # --- pprl run --dry-run (engineer N) ---
        plan = plan_run(config, reprocess=reprocess)
        if json_wanted(as_json):
            emit(plan.to_dict())
        else:
            click.echo("\n".join(plan.lines()))
        return
    with (
        executor_for(kind, dask=dask if kind == "dask" else None) as ex,
        stage_progress("pprl run", STAGES) as progress,
    ):
        summary = run_pipeline(
            config, executor=ex, progress=progress, reprocess=reprocess, decisions=decisions
        )
    if json_wanted(as_json or json_logs):  # --- --json result (engineer N) ---
        emit(run_result(summary))
    else:
        click.echo("\n".join(run_summary_lines(summary)))
