"""A business-linkage job end to end: read the register, the records and any decisions, link,
deliver. The library call behind ``pprl link-register`` and ``pprl crn-request``.

>>> options = RegisterLinkOptions(register_path=reg, input_path=data, out_dir=out) # doctest: +SKIP
>>> delivered = run_register_link(options, lambda: pseudonymiser, audit)            # doctest: +SKIP
>>> delivered.summary_line()                                                        # doctest: +SKIP
'1000 records: 812 matched_exact, ... Results in out/results.csv'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import polars as pl

from pipeline.audit import AuditLog
from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.delivery import MANIFEST_FILE, REPORT_FILE, RESULTS_FILE, Delivered, deliver
from pipeline.business.deterministic import ENTREF
from pipeline.business.register_link import MATCHED, LinkOutcome, link_to_register
from pipeline.business.register_status import NOT_TRADING
from pipeline.business.settings import MatchSettings
from pipeline.errors import ConfigError, DataError
from pipeline.io import read_table, read_truth
from pipeline.review.decisions import KEY, read_decisions
from pseudonym.tokens import Pseudonymiser


@dataclass(frozen=True)
class RegisterLinkOptions:
    """One run: its files, columns and thresholds, and how it reports.

    ``kind`` names the run in the manifest and audit log; ``status_names`` renames statuses
    for that kind (the CRN request calls the review band ``ambiguous``);
    ``register_status_as_status`` reports a record matched to a dissolved or not yet
    incorporated company with that status instead of ``matched_*`` (the CRN request);
    ``write_review`` writes the curator's review file; ``truth_path`` (the key column +
    ``entref``) adds precision and recall to the report.
    """

    register_path: Path
    input_path: Path
    out_dir: Path
    kind: Literal["link-register", "crn-request"] = "link-register"
    incoming_columns: IncomingColumns = field(default_factory=IncomingColumns)
    register_columns: RegisterColumns | None = None
    settings: MatchSettings = field(default_factory=MatchSettings)
    decisions_path: Path | None = None
    truth_path: Path | None = None
    status_names: Mapping[str, str] | None = None
    register_status_as_status: bool = False
    write_review: bool = True

    def inputs(self) -> list[Path]:
        """The files the run reads and records in its manifest (not the truth file)."""
        return [self.register_path, self.input_path, *filter(None, [self.decisions_path])]


#: How a CRN request names statuses: the review band is ``ambiguous``, and a CRN no register
#: row holds is simply ``not_found`` (the request is about CRNs).
CRN_REQUEST_STATUS_NAMES: Mapping[str, str] = {
    "review": "ambiguous",
    "crn_not_in_register": "not_found",
}

#: The steps a register run announces to a progress callback, in order.
REGISTER_STEPS = ("read", "link", "deliver")


def run_register_link(
    options: RegisterLinkOptions,
    open_pseudonymiser: Callable[[], Pseudonymiser],
    audit: AuditLog,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> Delivered:
    """Read the inputs, link, deliver into ``options.out_dir`` and record the run in ``audit``.

    ``open_pseudonymiser`` is called once the inputs have been read (opening a keystore may
    ask for a passphrase; a bad input should fail first). A run in which every record is
    ``invalid`` (no valid identifier and no name anywhere: a wrong column mapping) is a
    :class:`DataError`, and nothing is delivered. ``progress(step, number, total)`` is called
    as each of :data:`REGISTER_STEPS` starts.
    """

    def announce(step: str) -> None:
        if progress is not None:
            progress(step, REGISTER_STEPS.index(step) + 1, len(REGISTER_STEPS))

    announce("read")
    register, incoming, decisions, truth = _read_inputs(options)
    pseudonymiser = open_pseudonymiser()
    announce("link")
    outcome = link_to_register(
        incoming,
        register,
        pseudonymiser,
        incoming_columns=options.incoming_columns,
        register_columns=options.register_columns,
        settings=options.settings,
        decisions=decisions,
        incoming_source=options.input_path.name,
        register_source=options.register_path.name,
    )
    _check_not_all_invalid(outcome, options)
    if options.register_status_as_status:
        outcome = replace(outcome, results=_not_trading_as_status(outcome.results))
    announce("deliver")
    return deliver(
        options.out_dir,
        outcome,
        kind=options.kind,
        key_column=options.incoming_columns.key,
        pseudonymiser=pseudonymiser,
        audit=audit,
        inputs=options.inputs(),
        truth=truth,
        status_names=dict(options.status_names or {}),
        write_review=options.write_review,
        settings={
            "match_threshold": options.settings.match_threshold,
            "review_threshold": options.settings.review_threshold,
            "contradicting_crn": options.settings.contradicting_crn,
        },
    )


def _read_inputs(
    options: RegisterLinkOptions,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """The register, the incoming file, the decisions and the truth (when given), after
    refusing an output folder that would overwrite an input."""
    written = {(options.out_dir / n).resolve() for n in (RESULTS_FILE, REPORT_FILE, MANIFEST_FILE)}
    if written & {p.resolve() for p in options.inputs()}:
        raise ConfigError("--out must not be the directory of an input named like an output")
    register = read_table(options.register_path)
    incoming = read_table(options.input_path)
    decisions = read_decisions(options.decisions_path) if options.decisions_path else None
    truth = None
    if options.truth_path is not None:
        truth_columns = {KEY: options.incoming_columns.key, ENTREF: ENTREF}
        truth = read_truth(options.truth_path, truth_columns)
    return register, incoming, decisions, truth


def _check_not_all_invalid(outcome: LinkOutcome, options: RegisterLinkOptions) -> None:
    results = outcome.results
    if results.height and (results["status"] == "invalid").all():
        ic = options.incoming_columns
        ids = ", ".join(str(c) for c in (ic.crn, ic.vat, ic.paye) if c is not None)
        raise DataError(
            f"{options.input_path.name}: every record is invalid (no valid identifier in "
            f"column(s) {ids or '(none)'} and no name to match on): check the column options"
        )


def _not_trading_as_status(results: pl.DataFrame) -> pl.DataFrame:
    """Matched records whose company is dissolved or not yet incorporated get that status."""
    flagged = pl.col("status").is_in(list(MATCHED)) & pl.col("register_status").is_in(
        list(NOT_TRADING)
    )
    return results.with_columns(
        pl.when(flagged).then(pl.col("register_status")).otherwise(pl.col("status")).alias("status")
    )
