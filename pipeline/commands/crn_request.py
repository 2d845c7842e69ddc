"""``pprl crn-request``: a researcher's list of company numbers, answered with pseudonymised
enterprise references for their project environment.

Each CRN is validated and normalised (zero padding, prefixes, case: see
``pseudonym.identifiers.crn``) and matched to the register; where the file also has names
(and postcodes, addresses) unmatched rows fall back to probabilistic matching. Statuses:
``matched_exact``, ``matched_probabilistic`` (with its probability), ``dissolved`` and
``not_yet_incorporated`` (matched, exactly or by name, to a company the register marks so;
``method`` says how), ``ambiguous`` (several enterprises, or a best candidate in the grey
band), ``not_found``, ``invalid`` (the CRN is invalid and nothing else matched; ``reason``
gives the code). A request file without its CRN column, or in which no row has a valid CRN or
a name, is an error (exit 3). No register identifier or name is written: only your key, the
status, the register status and the entref pseudonym.
"""

from __future__ import annotations

from dataclasses import replace

import click

from pipeline.business.columns import IncomingColumns
from pipeline.business.register_job import (
    CRN_REQUEST_STATUS_NAMES,
    REGISTER_STEPS,
    RegisterLinkOptions,
    run_register_link,
)
from pipeline.commands.options import (
    ENTREF_ENV_HELP,
    KeyOptions,
    column_option,
    explicit_fields,
    grouped,
    key_column_option,
    key_options,
    register_run_options,
)
from pipeline.progress import opened_first_on_a_terminal, stage_progress


def _request_columns(**columns: str) -> IncomingColumns:
    """A CRN request matches on CRN (its column must exist), with name, postcode and address
    as a fallback only (used where the file has them, or required when named)."""
    required = frozenset({"crn"}) | explicit_fields()
    return IncomingColumns(vat=None, paye=None, required=required, **columns)


@click.command("crn-request")
@key_options(ENTREF_ENV_HELP)
@register_run_options
@grouped(
    "columns",
    _request_columns,
    key_column_option("request_id"),
    column_option("crn", "crn"),
    column_option("name", "name", "Company name column for the fallback (used if present)."),
    column_option("postcode", "postcode", "Postcode column for the fallback (used if present)."),
    column_option("address", "address", "Address column for the fallback (used if present)."),
)
def command(keys: KeyOptions, run: RegisterLinkOptions, columns: IncomingColumns) -> None:
    """Match company numbers to the register; return pseudonymised entrefs.

    Writes OUT/results.csv (your key, status, method, match_probability, reason,
    entref_pseudonym, register_status), OUT/match_report.json (counts by status and method)
    and OUT/manifest.json, and records the run in the keystore's audit log. Companies the
    register marks dissolved or not yet incorporated get that status instead of matched_*.

    \b
    Example:
        pprl crn-request --keystore ks --env project1 --register register.parquet \\
            --input crns.csv --key-column request_id --out crn-answer
    """
    options = replace(
        run,
        kind="crn-request",
        incoming_columns=columns,
        status_names=CRN_REQUEST_STATUS_NAMES,
        register_status_as_status=True,
        write_review=False,
    )
    opener = opened_first_on_a_terminal(keys.open_pseudonymiser)
    with stage_progress("pprl crn-request", REGISTER_STEPS) as progress:
        delivered = run_register_link(options, opener, keys.audit(), progress=progress)
    click.echo(delivered.summary_line())
