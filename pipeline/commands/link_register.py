"""``pprl link-register``: link a dataset to the business register.

Deterministic on any shared valid identifier (CRN, VAT, PAYE), then probabilistic on company
name (rarity-weighted tokens, best of legal and trading names), postcode and address for the
rest. Records in the grey band go to a clerical-review CSV; ``--decisions`` feeds a curator's
edited copy back in on the next run. See :mod:`pipeline.business.link` for the statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.delivery import (
    MANIFEST_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    Delivered,
    deliver,
)
from pipeline.business.deterministic import ENTREF
from pipeline.business.link import link_to_register
from pipeline.business.probabilistic import MatchSettings
from pipeline.commands.keys import audit_log, key_file_option, keystore_option, open_keystore
from pipeline.errors import ConfigError
from pipeline.io import read_table, read_truth
from pipeline.review.decisions import KEY, read_decisions
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
FILE = click.Path(dir_okay=False, path_type=Path)


def common_options(func: F) -> F:
    """Keystore, environment, register, input, output and threshold options."""
    options = [
        keystore_option,
        click.option(
            "--env",
            "environment",
            required=True,
            help="Project environment whose keys pseudonymise the entref.",
        ),
        click.option(
            "--key-version", type=int, default=None, help="Key version (default: active)."
        ),
        key_file_option,
        click.option(
            "--register",
            "register_path",
            required=True,
            type=FILE,
            help="Business register (CSV or Parquet): entref, legal_name, trading_name,"
            " postcode, address, crn, vat, paye.",
        ),
        click.option(
            "--input",
            "input_path",
            required=True,
            type=FILE,
            help="Records to link (CSV or Parquet).",
        ),
        click.option(
            "--out",
            "out_dir",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Output directory (created if needed).",
        ),
        click.option(
            "--match-threshold",
            type=float,
            default=0.9,
            show_default=True,
            help="Probability at or above which the best candidate is a match.",
        ),
        click.option(
            "--review-threshold",
            type=float,
            default=0.5,
            show_default=True,
            help="Lower edge of the grey band.",
        ),
        click.option(
            "--truth",
            "truth_path",
            type=FILE,
            default=None,
            help="Known links (key column + entref) to add precision/recall to the"
            " report; for evaluation on generated data.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_link(
    *,
    kind: str,
    keystore_dir: Path,
    environment: str,
    key_version: int | None,
    key_file: Path | None,
    register_path: Path,
    input_path: Path,
    out_dir: Path,
    incoming_columns: IncomingColumns,
    register_columns: RegisterColumns | None = None,
    settings: MatchSettings,
    decisions_path: Path | None = None,
    truth_path: Path | None = None,
    status_names: dict[str, str] | None = None,
    write_review: bool = True,
) -> Delivered:
    """Read inputs, link, deliver. Shared by ``link-register`` and ``crn-request``."""
    written = {(out_dir / name).resolve() for name in (RESULTS_FILE, REPORT_FILE, MANIFEST_FILE)}
    if written & {p.resolve() for p in (register_path, input_path, decisions_path) if p}:
        raise ConfigError("--out must not be the directory of an input named like an output")
    register = read_table(register_path)
    incoming = read_table(input_path)
    decisions = read_decisions(decisions_path) if decisions_path is not None else None
    truth = (
        None
        if truth_path is None
        else read_truth(truth_path, {KEY: incoming_columns.key, ENTREF: ENTREF})
    )
    keystore = open_keystore(keystore_dir, key_file)
    pseudonymiser = Pseudonymiser.from_keystore(keystore, environment, version=key_version)
    outcome = link_to_register(
        incoming,
        register,
        pseudonymiser,
        incoming_columns=incoming_columns,
        register_columns=register_columns,
        settings=settings,
        decisions=decisions,
        incoming_source=input_path.name,
        register_source=register_path.name,
    )
    inputs = [register_path, input_path, *([decisions_path] if decisions_path else [])]
    return deliver(
        out_dir,
        outcome,
        kind=kind,
        key_column=incoming_columns.key,
        pseudonymiser=pseudonymiser,
        audit=audit_log(keystore_dir),
        inputs=inputs,
        truth=truth,
        status_names=status_names,
        write_review=write_review,
        settings={
            "match_threshold": settings.match_threshold,
            "review_threshold": settings.review_threshold,
        },
    )


def summary_line(delivered: Delivered) -> str:
    counts = delivered.summary["by_status"]
    assert isinstance(counts, dict)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{delivered.summary['records']} records: {parts}. Results in {delivered.results}"


@click.command("link-register")
@common_options
@click.option(
    "--key-column",
    default="incoming_id",
    show_default=True,
    help="Your row key column, kept in the results so you can join back.",
)
@click.option("--name-column", default="name", show_default=True, help="Company name column.")
@click.option("--trading-name-column", default=None, help="Trading name column, if separate.")
@click.option("--postcode-column", default="postcode", show_default=True)
@click.option("--address-column", default="address", show_default=True)
@click.option("--crn-column", default="crn", show_default=True)
@click.option("--vat-column", default="vat", show_default=True)
@click.option("--paye-column", default="paye", show_default=True)
@click.option(
    "--decisions",
    "decisions_path",
    type=FILE,
    default=None,
    help="An edited clerical_review.csv: its match/non-match decisions override those pairs.",
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
    name_column: str,
    trading_name_column: str | None,
    postcode_column: str,
    address_column: str,
    crn_column: str,
    vat_column: str,
    paye_column: str,
    decisions_path: Path | None,
) -> None:
    """Link a dataset to the business register (IDs first, then name/postcode/address).

    Writes OUT/results.csv (your key, status, method, probability, reason, pseudonymised
    entref), OUT/match_report.json, OUT/manifest.json, and OUT/review/clerical_review.csv for
    the grey band (curator only: it shows names). Fill its decision column with match or
    non-match and pass it back with --decisions on the next run.

    \b
    Example:
        pprl link-register --keystore ks --env project1 --register register.parquet \\
            --input survey.csv --key-column survey_id --out linked
        pprl link-register ... --decisions linked/review/clerical_review.csv --out linked2
    """
    delivered = run_link(
        kind="link-register",
        keystore_dir=keystore_dir,
        environment=environment,
        key_version=key_version,
        key_file=key_file,
        register_path=register_path,
        input_path=input_path,
        out_dir=out_dir,
        incoming_columns=IncomingColumns(
            key=key_column,
            name=name_column,
            trading_name=trading_name_column,
            postcode=postcode_column,
            address=address_column,
            crn=crn_column,
            vat=vat_column,
            paye=paye_column,
        ),
        settings=MatchSettings(match_threshold=match_threshold, review_threshold=review_threshold),
        decisions_path=decisions_path,
        truth_path=truth_path,
    )
    click.echo(summary_line(delivered))
