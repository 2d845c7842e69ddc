"""``pprl check-output``: check and treat one table built from microdata before release.

Writes the treated table (CSV and Parquet), ``disclosure.json`` and ``disclosure.html``
atomically. Exit 0 when the treated table is safe, 3 when it cannot be made safe (or still
needs a human review that was not accepted).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import polars as pl
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.disclosure.check import check_table
from pipeline.disclosure.errors import PerturbationTableError, TableSpecError, UnsafeTable
from pipeline.disclosure.report import report_dict, report_html, report_json
from pipeline.disclosure.settings import TableCheckSettings
from pipeline.disclosure.tables import TableSpec
from pipeline.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


def read_microdata(path: Path) -> pl.DataFrame:
    """Read CSV or Parquet by extension; errors name the file only."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=10_000)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path.name}: cannot read ({type(exc).__name__})") from None
    raise ConfigError(f"--data {path.name}: use a .csv or .parquet file")


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


@click.command("check-output")
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Microdata file (.csv or .parquet).",
)
@click.option("--by", "by", multiple=True, required=True, help="Group-by column (repeatable).")
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
    data: Path, by: tuple[str, ...], stat: str, threshold: int, round_base: int | None,
    random_round: bool, seed: int, secondary: bool, zeros_safe: bool, p_ratio: float,
    nk: tuple[int, float], protection: float, cell_key: str | None, ptable: str,
    no_margins: bool, accept_review: bool, out: Path,
) -> None:  # fmt: skip
    """Check a table built from microdata for disclosure risk, treat it, and report.

    Primary checks (ACRO defaults): fewer than THRESHOLD records, empty cells, p% and (n,k)
    dominance, single-record statistics. Failing cells are suppressed; secondary suppression
    follows until a linear-programming audit finds no suppressed cell recoverable from the
    published cells and margins. Exit 0 when the treated table is safe, 3 when not.
    With --cell-key, counts are perturbed by the cell-key method using --ptable; as in ONS's
    cell_key_perturbation, a perturbed count below THRESHOLD is withheld too.

    \b
    Example:
        pprl check-output --data cohort.parquet --by region --by sex \\
            --stat count --threshold 10 --round 5 --out checked/
        pprl check-output --data cohort.parquet --by region --cell-key record_key \\
            --ptable ptable_census.csv --out checked/
    """
    try:
        settings = TableCheckSettings(
            threshold=threshold, zeros_are_disclosive=not zeros_safe, p_ratio=p_ratio,
            nk_n=nk[0], nk_k=nk[1], secondary=secondary, protection_interval=protection,
            rounding="none" if round_base is None else ("random" if random_round else "nearest"),
            rounding_base=round_base or 5, seed=seed, cell_key_column=cell_key, ptable=ptable,
            accept_review=accept_review,
        )  # fmt: skip
    except ValidationError as exc:
        raise ConfigError([_problem(e) for e in exc.errors()]) from None
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    try:
        spec = TableSpec.parse(by, stat, margins=not no_margins)
    except TableSpecError as exc:
        raise ConfigError(str(exc)) from None
    df = read_microdata(data)
    try:
        result = check_table(df, spec, settings)
    except PerturbationTableError as exc:  # the --ptable file itself is wrong
        raise ConfigError(exc.problems, source=f"--ptable {exc.source}") from None
    except TableSpecError as exc:  # a request that does not fit the data: fix the command line
        raise ConfigError(str(exc), source=data.name) from None
    report = report_dict(result, source=data.name)
    table = result.published_table()
    out.mkdir(parents=True, exist_ok=True)
    write_with_atomic(out / "table.csv", lambda p: table.write_csv(p))
    write_with_atomic(out / "table.parquet", lambda p: table.write_parquet(p))
    write_text_atomic(out / "disclosure.json", report_json(result, source=data.name))
    write_text_atomic(out / "disclosure.html", report_html(report))
    summary = report["summary"]
    click.echo(
        f"{result.verdict}: {summary['cells']} cells, {summary['primary_suppressions']} primary "
        f"and {summary['secondary_suppressions']} secondary suppressions -> {out}"
    )
    if not result.safe:
        raise UnsafeTable("table is not safe to release; see disclosure.html")
