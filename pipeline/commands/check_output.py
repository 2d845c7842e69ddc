"""``pprl check-output``: check and treat one table (built from microdata, or a frequency table
already counted) and any regression outputs before release.

Writes the treated table (CSV and Parquet; only when a table was given), ``disclosure.json``
and ``disclosure.html`` atomically. Exit 0 when every output is safe, 3 when the table cannot
be made safe (or still needs a human review that was not accepted) or a model has too few
residual degrees of freedom.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import click
from click.core import ParameterSource
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.disclosure.cellkey import PerturbationTable, cast_record_keys, resolve_ptable
from pipeline.disclosure.check import TableCheckResult, check_counts, check_table
from pipeline.disclosure.errors import PerturbationTableError, TableSpecError, UnsafeTable
from pipeline.disclosure.regression import check_models, load_models
from pipeline.disclosure.report import report_dict, report_html
from pipeline.disclosure.settings import TableCheckSettings
from pipeline.disclosure.tables import TableSpec
from pipeline.errors import ConfigError
from pipeline.io import read_table

logger = logging.getLogger(__name__)


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _given(name: str) -> bool:
    """Was option ``name`` set by the user rather than left at its default?"""
    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, ParameterSource.DEFAULT)


def _input_problems(
    data: Path | None, table: Path | None, by: tuple[str, ...], stat: str,
    cell_key: str | None, models: bool,
) -> list[str]:  # fmt: skip
    """Every problem with the choice of inputs, at once."""
    problems = []
    if data is not None and table is not None:
        problems.append("give --data (microdata) or --table (counted cells), not both")
    elif data is None and table is None and not models:
        problems.append(
            "nothing to check: give --data or --table with --by, and/or --residual-dof or --models"
        )
    if (data is not None or table is not None) and not by:
        problems.append("--by: give at least one group-by column")
    if data is None and table is None and by:
        problems.append("--by needs --data or --table")
    if table is not None:
        if stat != "count":
            problems.append(
                f"--stat {stat}: --table holds counts; sums, means, medians, minima and "
                "maxima need --data (microdata)"
            )
        if cell_key is not None:
            problems.append("--cell-key needs each record's key: use --data (microdata)")
        dominance = [o for o, name in (("--p-ratio", "p_ratio"), ("--nk", "nk")) if _given(name)]
        if dominance:
            problems.append(
                f"{' and '.join(dominance)}: dominance needs record-level contributions; "
                "use --data (microdata)"
            )
    elif _given("count_column"):
        problems.append("--count-column applies to --table only")
    return problems


def _models(residual_dof: tuple[str, ...], models_file: Path | None) -> dict[str, int]:
    """``--residual-dof [NAME=]N`` values (unnamed ones become "model 1", "model 2", ... by
    position) and the rows of ``--models FILE``; names must not repeat."""
    models: dict[str, int] = {}
    problems = []
    sources = []
    for position, text in enumerate(residual_dof, start=1):
        name, sep, number = text.rpartition("=")
        name = name.strip() if sep else f"model {position}"
        if not re.fullmatch(r"\s*[0-9]+\s*", number) or not name:
            problems.append(f"--residual-dof {text!r}: give N or NAME=N, N a whole number >= 0")
            continue
        sources.append((name, int(number)))
    if models_file is not None:
        sources += list(load_models(models_file).items())
    for name, dof in sources:
        if name in models:
            problems.append(f"model {name!r} is given more than once")
        models[name] = dof
    if problems:
        raise ConfigError(problems)
    return models


def _check(
    path: Path, spec: TableSpec, settings: TableCheckSettings, *, microdata: bool,
    count_column: str,
) -> TableCheckResult:  # fmt: skip
    """Read ``path`` (microdata, or counted cells) and check it; library errors that mean
    "fix the command line" become :class:`ConfigError` naming the file."""
    option = "--data" if microdata else "--table"
    frame = read_table(path, infer_schema=True, label=f"{option} {path.name}")
    try:
        if not microdata:
            return check_counts(frame, spec, settings, count_column=count_column)
        ptable: PerturbationTable | None = None
        if settings.cell_key_column is not None:
            ptable = resolve_ptable(settings.ptable)
            frame = cast_record_keys(frame, settings.cell_key_column, ptable.keys)
        return check_table(frame, spec, settings, ptable=ptable)
    except PerturbationTableError as exc:  # the --ptable file itself is wrong
        raise ConfigError(exc.problems, source=f"--ptable {exc.source}") from None
    except TableSpecError as exc:  # a request that does not fit the data: fix the command line
        raise ConfigError(str(exc), source=path.name) from None


@click.command("check-output")
@click.option(
    "--data",
    "data",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Microdata file (.csv or .parquet), one row per record.",
)
@click.option(
    "--table",
    "table",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Instead of --data: a frequency table already counted (.csv or .parquet), one row "
    "per cell with the --by columns and a count column. Margins are computed from the cells; "
    "dominance and --cell-key need microdata.",
)
@click.option(
    "--count-column",
    default="count",
    show_default=True,
    help="The count column of --table.",
)
@click.option("--by", "by", multiple=True, help="Group-by column (repeatable).")
@click.option(
    "--stat",
    default="count",
    show_default=True,
    help="count, or sum:COL, mean:COL, median:COL, min:COL, max:COL.",
)
@click.option("--threshold", default=10, show_default=True, help="Minimum records per cell.")
@click.option(
    "--round", "round_base", type=int, default=None, help="Round published values to this base."
)
@click.option("--random-round", is_flag=True, help="Unbiased random rounding instead of nearest.")
@click.option("--seed", default=0, show_default=True, help="Seed for random rounding.")
@click.option(
    "--secondary/--no-secondary",
    default=True,
    show_default=True,
    help="Secondary suppression until no suppressed cell is recoverable.",
)
@click.option("--zeros-safe", is_flag=True, help="Do not treat empty cells as disclosive.")
@click.option("--p-ratio", default=0.10, show_default=True, help="p% rule ratio.")
@click.option(
    "--nk",
    nargs=2,
    type=(int, float),
    default=(2, 0.9),
    show_default=True,
    help="(n,k) dominance rule.",
)
@click.option(
    "--protection",
    default=0.0,
    show_default=True,
    help="Minimum width of the interval an intruder may infer for a suppressed cell.",
)
@click.option(
    "--cell-key",
    "cell_key",
    default=None,
    help="UInt8 record-key column: perturb counts by the cell-key method.",
)
@click.option(
    "--ptable",
    "ptable",
    default="generated",
    show_default=True,
    metavar="generated|ons-10-5|FILE",
    help="p-table for --cell-key: our generated table, ONS's 10-5 rule table, or an "
    "ONS-format p-table file (pcv, ckey, pvalue; .csv, .csv.gz, .csv.xz or .parquet).",
)
@click.option("--no-margins", is_flag=True, help="Do not add or check margins (totals).")
@click.option(
    "--residual-dof",
    "residual_dof",
    multiple=True,
    metavar="[NAME=]N",
    help="Residual degrees of freedom of a regression model to release (repeatable; NAME "
    "labels it in the report). A model below --dof-threshold fails. Works with or without "
    "a table.",
)
@click.option(
    "--models",
    "models_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of models to check, one row each: columns model, residual_dof.",
)
@click.option(
    "--dof-threshold",
    default=10,
    show_default=True,
    help="Minimum residual degrees of freedom of a model.",
)
@click.option(
    "--accept-review",
    is_flag=True,
    help="Publish cells flagged for review (min, max, median) instead of withholding.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
def command(
    data: Path | None, table: Path | None, count_column: str, by: tuple[str, ...], stat: str,
    threshold: int, round_base: int | None, random_round: bool, seed: int, secondary: bool,
    zeros_safe: bool, p_ratio: float, nk: tuple[int, float], protection: float,
    cell_key: str | None, ptable: str, no_margins: bool, residual_dof: tuple[str, ...],
    models_file: Path | None, dof_threshold: int, accept_review: bool, out: Path,
) -> None:  # fmt: skip
    """Check a table (from microdata, or already counted) and regression outputs for disclosure
    risk, treat the table, and report.

    Primary checks (ACRO defaults): fewer than THRESHOLD records, empty cells, p% and (n,k)
    dominance, single-record statistics. Failing cells are suppressed; secondary suppression
    follows until a linear-programming audit finds no suppressed cell recoverable from the
    published cells and margins. Exit 0 when every output is safe, 3 when not.
    With --cell-key, counts are perturbed by the cell-key method using --ptable; as in ONS's
    cell_key_perturbation, a perturbed count below THRESHOLD is withheld too.
    With --table (counted cells instead of --data), the threshold and zero checks, secondary
    suppression and rounding apply; dominance is reported as not checked.
    Each --residual-dof (or --models row) is a model that fails below --dof-threshold.

    \b
    Example:
        pprl check-output --data cohort.parquet --by region --by sex \\
            --stat count --threshold 10 --round 5 --out checked/
        pprl check-output --table counts.csv --by region --by sex --out checked/
        pprl check-output --residual-dof logit=412 --residual-dof ols=8 --out checked/
        pprl check-output --data cohort.parquet --by region --cell-key record_key \\
            --ptable ptable_census.csv --out checked/
    """
    problems = _input_problems(data, table, by, stat, cell_key, bool(residual_dof or models_file))
    if problems:
        raise ConfigError(problems)
    try:
        settings = TableCheckSettings(
            threshold=threshold, zeros_are_disclosive=not zeros_safe, p_ratio=p_ratio,
            nk_n=nk[0], nk_k=nk[1], secondary=secondary, protection_interval=protection,
            rounding="none" if round_base is None else ("random" if random_round else "nearest"),
            rounding_base=round_base or 5, seed=seed, cell_key_column=cell_key, ptable=ptable,
            accept_review=accept_review, dof_threshold=dof_threshold,
        )  # fmt: skip
    except ValidationError as exc:
        raise ConfigError([_problem(e) for e in exc.errors()]) from None
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    given = _models(residual_dof, models_file)
    models = check_models(given, settings) if given else []
    result: TableCheckResult | None = None
    source = models_file.name if models_file is not None else None
    path = data if data is not None else table
    if path is not None:
        try:
            spec = TableSpec.parse(by, stat, margins=not no_margins)
        except TableSpecError as exc:
            raise ConfigError(str(exc)) from None
        result = _check(path, spec, settings, microdata=data is not None,
                        count_column=count_column)  # fmt: skip
        source = path.name
    report = report_dict(result, models=models, settings=settings, source=source)
    out.mkdir(parents=True, exist_ok=True)
    if result is not None:
        published = result.published_table()
        write_with_atomic(out / "table.csv", lambda p: published.write_csv(p))
        write_with_atomic(out / "table.parquet", lambda p: published.write_parquet(p))
    write_text_atomic(out / "disclosure.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "disclosure.html", report_html(report))
    summary, parts = report["summary"], []
    if result is not None:
        parts.append(
            f"{summary['cells']} cells, {summary['primary_suppressions']} primary and "
            f"{summary['secondary_suppressions']} secondary suppressions"
        )
    if models:
        plural = "s" if summary["models"] != 1 else ""
        parts.append(
            f"{summary['models']} model{plural}, {summary['models_failed']} below "
            f"{dof_threshold} residual degrees of freedom"
        )
    click.echo(f"{report['verdict']}: {'; '.join(parts)} -> {out}")
    unsafe = []
    if result is not None and not result.safe:
        unsafe.append("table")
    if any(m.status == "fail" for m in models):
        unsafe.append("regression outputs")
    if unsafe:
        raise UnsafeTable(f"{' and '.join(unsafe)} not safe to release; see disclosure.html")
