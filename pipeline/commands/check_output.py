"""``pprl check-output``: check and treat one table (built from microdata, or a frequency table
already counted) and any regression outputs before release.

Parses the options and calls :func:`pipeline.disclosure.output_check.check_output`, which
writes the treated table, ``disclosure.json`` and ``disclosure.html``. Exit 0 when every output
is safe, 3 when the table cannot be made safe (or still needs a human review that was not
accepted) or a model has too few residual degrees of freedom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from pipeline.disclosure.output_check import OutputCheckOptions, check_output

#: Options whose default means "not asked for" (``None`` in :class:`OutputCheckOptions`).
ASKED_ONLY = ("count_column", "p_ratio", "nk")


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
def command(**values: Any) -> None:
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
    context = click.get_current_context()
    for name in ASKED_ONLY:
        if context.get_parameter_source(name) in (None, ParameterSource.DEFAULT):
            values[name] = None
    values["margins"] = not values.pop("no_margins")
    report = check_output(OutputCheckOptions(**values))
    click.echo(report.summary_line())
    report.raise_if_unsafe()
