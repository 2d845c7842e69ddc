"""``pprl pseudonymise``: replace identifier columns with keyed pseudonyms.

Parses the options and calls :func:`pipeline.pseudonymise_file.pseudonymise_file`, which
describes the outputs (pseudonymised Parquet, quarantine by row number and reason, manifest).
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.commands.options import KeyOptions, key_options
from pipeline.pseudonymise_file import PseudonymiseOptions, parse_columns, pseudonymise_file


@click.command("pseudonymise")
@key_options("Environment whose keys to use.")
@click.option(
    "--column",
    "column_specs",
    multiple=True,
    metavar="COL:TYPE",
    help="Identifier column and its type (repeatable), e.g. nhs_number:nhs.",
)
@click.option(
    "--allow-test-numbers", is_flag=True, help="Accept reserved test ranges (e.g. NHS 999...)."
)
@click.option(
    "--quarantine-missing",
    is_flag=True,
    help="Quarantine rows with a missing identifier too"
    " (default: keep them with a null pseudonym).",
)
@click.argument("input_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
def command(
    keys: KeyOptions,
    column_specs: tuple[str, ...],
    allow_test_numbers: bool,
    quarantine_missing: bool,
    input_path: Path,
    output_path: Path,
) -> None:
    """Replace identifier columns with keyed pseudonyms; quarantine rows with invalid IDs.

    IN is CSV or Parquet (by extension); OUT is Parquet. Also writes OUT.quarantine.parquet
    (row number, column, reason; never the value) and OUT.manifest.json (counts, key IDs,
    checksums).

    \b
    Example:
        pprl pseudonymise --keystore ks --env research \\
            --column nhs_number:nhs --column crn:crn patients.csv patients.parquet
    """
    options = PseudonymiseOptions(
        input_path,
        output_path,
        parse_columns(column_specs),
        allow_test_numbers=allow_test_numbers,
        quarantine_missing=quarantine_missing,
    )
    result = pseudonymise_file(options, keys.open_pseudonymiser, keys.audit())
    click.echo(result.summary_line())
