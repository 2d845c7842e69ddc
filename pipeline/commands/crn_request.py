"""``pprl crn-request``: a researcher's list of company numbers, answered with pseudonymised
enterprise references for their project environment.

Each CRN is validated and normalised (zero padding, prefixes, case: see
``pseudonym.identifiers.crn``) and matched to the register; where the file also has names
(and postcodes, addresses) unmatched rows fall back to probabilistic matching. Statuses:
``matched_exact``, ``matched_probabilistic`` (with its probability), ``ambiguous`` (several
enterprises, or a best candidate in the grey band), ``not_found``, ``invalid`` (the CRN is
invalid and nothing else matched; ``reason`` gives the code). No register identifier or name
is written: only your key, the status and the entref pseudonym.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.business.columns import IncomingColumns
from pipeline.business.probabilistic import MatchSettings
from pipeline.commands.link_register import common_options, run_link, summary_line


@click.command("crn-request")
@common_options
@click.option(
    "--key-column",
    default="request_id",
    show_default=True,
    help="Your row key column, kept in the results so you can join back.",
)
@click.option("--crn-column", default="crn", show_default=True)
@click.option(
    "--name-column",
    default="name",
    show_default=True,
    help="Company name column for the fallback (used if present).",
)
@click.option(
    "--postcode-column",
    default="postcode",
    show_default=True,
    help="Postcode column for the fallback (used if present).",
)
@click.option(
    "--address-column",
    default="address",
    show_default=True,
    help="Address column for the fallback (used if present).",
)
def command(
    keystore_dir: Path,
    environment: str,
    key_version: int | None,
    key_file: Path | None,
    register_path: Path,
    input_path: Path,
    out_dir: Path,
    match_threshold: float,
    review_threshold: float,
    truth_path: Path | None,
    key_column: str,
    crn_column: str,
    name_column: str,
    postcode_column: str,
    address_column: str,
) -> None:
    """Match company numbers to the register; return pseudonymised entrefs.

    Writes OUT/results.csv (your key, status, method, match_probability, reason,
    entref_pseudonym), OUT/match_report.json (counts by status and method) and
    OUT/manifest.json, and records the run in the keystore's audit log.

    \b
    Example:
        pprl crn-request --keystore ks --env project1 --register register.parquet \\
            --input crns.csv --key-column request_id --out crn-answer
    """
    delivered = run_link(
        kind="crn-request",
        keystore_dir=keystore_dir,
        environment=environment,
        key_version=key_version,
        key_file=key_file,
        register_path=register_path,
        input_path=input_path,
        out_dir=out_dir,
        incoming_columns=IncomingColumns(
            key=key_column,
            crn=crn_column,
            vat=None,
            paye=None,
            name=name_column,
            postcode=postcode_column,
            address=address_column,
        ),
        settings=MatchSettings(match_threshold=match_threshold, review_threshold=review_threshold),
        truth_path=truth_path,
        status_names={"review": "ambiguous"},
        write_review=False,
    )
    click.echo(summary_line(delivered))
