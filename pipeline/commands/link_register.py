"""``pprl link-register``: link a dataset to the business register.

Deterministic on any shared valid identifier (CRN, VAT, PAYE), then probabilistic on company
name (rarity-weighted tokens, best of legal and trading names), postcode and address for the
rest. Records in the grey band go to a clerical-review CSV; ``--decisions`` feeds a curator's
edited copy back in on the next run. See :mod:`pipeline.business.register_link` for the
statuses and :mod:`pipeline.business.register_job` for the library call.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from pipeline.business.columns import IncomingColumns
from pipeline.business.register_job import (
    REGISTER_STEPS,
    RegisterLinkOptions,
    run_register_link,
)
from pipeline.commands.options import (
    ENTREF_ENV_HELP,
    FILE,
    KeyOptions,
    column_option,
    explicit_fields,
    grouped,
    key_column_option,
    key_options,
    register_run_options,
)
from pipeline.progress import opened_first_on_a_terminal, stage_progress


def _link_columns(**columns: str | None) -> IncomingColumns:
    """The incoming file's columns; those named on the command line must exist."""
    return IncomingColumns(**columns, required=explicit_fields())  # type: ignore[arg-type]


@click.command("link-register")
@key_options(ENTREF_ENV_HELP)
@register_run_options
@grouped(
    "columns",
    _link_columns,
    key_column_option("incoming_id"),
    column_option("name", "name", "Company name column."),
    column_option("trading_name", None, "Trading name column, if separate."),
    column_option("postcode", "postcode"),
    column_option("address", "address"),
    column_option("crn", "crn"),
    column_option("vat", "vat"),
    column_option("paye", "paye"),
)
@click.option(
    "--decisions",
    "decisions_path",
    type=FILE,
    default=None,
    help="An edited clerical_review.csv: its match/non-match decisions override those pairs.",
)
def command(
    keys: KeyOptions,
    run: RegisterLinkOptions,
    columns: IncomingColumns,
    decisions_path: Path | None,
) -> None:
    """Link a dataset to the business register (IDs first, then name/postcode/address).

    Writes OUT/results.csv (your key, status, method, probability, reason, pseudonymised
    entref, the linked enterprise's register_status), OUT/match_report.json,
    OUT/manifest.json, and OUT/review/clerical_review.csv for the grey band and ambiguous
    records (curator only: it shows names). Fill its decision column with match or
    non-match and pass it back with --decisions on the next run.

    \b
    Example:
        pprl link-register --keystore ks --env project1 --register register.parquet \\
            --input survey.csv --key-column survey_id --out linked
        pprl link-register ... --decisions linked/review/clerical_review.csv --out linked2
    """
    options = replace(run, incoming_columns=columns, decisions_path=decisions_path)
    opener = opened_first_on_a_terminal(keys.open_pseudonymiser)
    with stage_progress("pprl link-register", REGISTER_STEPS) as progress:
        delivered = run_register_link(options, opener, keys.audit(), progress=progress)
    click.echo(delivered.summary_line())
