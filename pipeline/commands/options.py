"""Click options shared by several commands, each declared once.

:func:`grouped` hands a block of options to the command as one value (a dataclass), so a
command's signature names what it needs (``keys``, ``run``, ``columns``) rather than a
dozen loose parameters. Opening the keystore happens here, at the CLI edge: it may prompt
for a passphrase, which a library never does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from pipeline.audit import AuditLog
from pipeline.business.columns import INCOMING_FIELDS, REGISTER_FIELDS, RegisterColumns
from pipeline.business.register_job import RegisterLinkOptions
from pipeline.business.settings import DEFAULT_MATCH_THRESHOLD, MatchSettings
from pipeline.commands.keys import audit_log, key_file_option, keystore_option, open_keystore
from pseudonym.tokens import Pseudonymiser

F = TypeVar("F", bound=Callable[..., Any])
ENTREF_ENV_HELP = "Project environment whose keys pseudonymise the entref."
Decorator = Callable[[F], F]
FILE = click.Path(dir_okay=False, path_type=Path)


class _ProbabilityOrAuto(click.ParamType):
    """``auto`` or a probability in [0, 1]."""

    name = "auto|PROBABILITY"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float | str:
        if isinstance(value, float) or value == "auto":
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if not 0.0 <= number <= 1.0:
            self.fail("expected 'auto' or a number from 0 to 1", param, ctx)
        return number


PROBABILITY_OR_AUTO = _ProbabilityOrAuto()


def grouped(name: str, build: Callable[..., object], *options: Decorator[Any]) -> Callable[[F], F]:
    """Add ``options`` to a command and pass their values to it as one argument, ``name``,
    built by ``build(**values)`` (keyword names as the options' parameter names)."""

    def decorate(func: F) -> F:
        before = len(getattr(func, "__click_params__", []))

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {p: kwargs.pop(p) for p in names}
            return func(*args, **kwargs, **{name: build(**values)})

        for option in reversed(options):
            option(command)
        names = [p.name for p in command.__click_params__[before:]]  # type: ignore[attr-defined]
        return command  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class KeyOptions:
    """Where a command's keys come from: keystore, environment, key version, master key."""

    keystore_dir: Path
    environment: str
    key_version: int | None
    key_file: Path | None

    def open_pseudonymiser(self) -> Pseudonymiser:
        """The environment's pseudonymiser (asks for the key file's passphrase if needed)."""
        keystore = open_keystore(self.keystore_dir, self.key_file)
        return Pseudonymiser.from_keystore(keystore, self.environment, version=self.key_version)

    def audit(self) -> AuditLog:
        """The keystore's audit log, where a keyed run is recorded."""
        return audit_log(self.keystore_dir)


def key_options(env_help: str) -> Callable[[F], F]:
    """``--keystore``, ``--env``, ``--key-version`` and ``--key-file``, as ``keys``."""
    return grouped(
        "keys",
        KeyOptions,
        keystore_option,
        click.option("--env", "environment", required=True, help=env_help),
        click.option(
            "--key-version", type=int, default=None, help="Key version (default: active)."
        ),
        key_file_option,
    )


def _register_run(
    register_path: Path,
    input_path: Path,
    out_dir: Path,
    register_columns: tuple[str, ...],
    match_threshold: float | Literal["auto"],
    review_threshold: float,
    contradicting_crn: Literal["review", "evidence"],
    truth_path: Path | None,
) -> RegisterLinkOptions:
    settings = MatchSettings(
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        contradicting_crn=contradicting_crn,
    )
    return RegisterLinkOptions(
        register_path=register_path,
        input_path=input_path,
        out_dir=out_dir,
        register_columns=register_column_mapping(register_columns),
        settings=settings,
        truth_path=truth_path,
    )


def register_column_mapping(pairs: tuple[str, ...]) -> RegisterColumns | None:
    """``RegisterColumns`` from ``FIELD=COLUMN`` pairs (an empty COLUMN: the register has no
    such field); ``None`` (the defaults) without pairs. Bad pairs are a usage error."""
    if not pairs:
        return None
    mapping: dict[str, str | None] = {}
    previous: list[str] = []
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field = field.strip()
        if not sep or field not in REGISTER_FIELDS:
            raise click.BadParameter(
                f"expected FIELD=COLUMN with FIELD one of {', '.join(REGISTER_FIELDS)}",
                param_hint="--register-column",
            )
        if not column.strip() and field in ("entref", "name", "previous_name"):
            raise click.BadParameter(f"{field} needs a column", param_hint="--register-column")
        if field == "previous_name":  # one option per column: PreviousName_1... _10
            if column.strip() in previous:
                raise click.BadParameter(
                    "previous_name names a column twice", param_hint="--register-column"
                )
            previous.append(column.strip())
            continue
        mapping[field] = column.strip() or None
    return RegisterColumns(**mapping, previous_names=tuple(previous))  # type: ignore[arg-type]


def explicit_fields(fields: tuple[str, ...] = INCOMING_FIELDS) -> frozenset[str]:
    """The column options among ``fields`` given on the command line or by environment
    variable (not left at their defaults): columns the user named must exist."""
    ctx = click.get_current_context()
    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return frozenset(f for f in fields if ctx.get_parameter_source(f) in given)


#: ``--register``, ``--input``, ``--out``, the thresholds and ``--truth``, as ``run``
#: (a :class:`RegisterLinkOptions` the command completes with its columns).
register_run_options: Decorator[Any] = grouped(
    "run",
    _register_run,
    click.option(
        "--register",
        "register_path",
        required=True,
        type=FILE,
        help="Business register (CSV or Parquet): entref, legal_name, trading_name,"
        " postcode, address, crn, vat, paye, status, dissolution_date (see"
        " --register-column).",
    ),
    click.option(
        "--input", "input_path", required=True, type=FILE, help="Records to link (CSV or Parquet)."
    ),
    click.option(
        "--out",
        "out_dir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Output directory (created if needed).",
    ),
    click.option(
        "--register-column",
        "register_columns",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="Register column holding FIELD (repeatable): entref, name (default legal_name),"
        " trading_name, postcode, address, crn, vat, paye, status, dissolution_date,"
        " previous_name (none by default; once per column, e.g."
        " previous_name=PreviousName_1.CompanyName)."
        " Defaults: the field's name; an empty COLUMN means the register has none.",
    ),
    click.option(
        "--match-threshold",
        type=PROBABILITY_OR_AUTO,
        default=DEFAULT_MATCH_THRESHOLD,
        show_default=True,
        help="Probability at or above which the best candidate is a match; 'auto': the cut"
        " that maximises the model's expected F1 for the run, never below 0.5.",
    ),
    click.option(
        "--review-threshold",
        type=float,
        default=0.5,
        show_default=True,
        help="Lower edge of the grey band.",
    ),
    click.option(
        "--contradicting-crn",
        type=click.Choice(["review", "evidence"]),
        default="review",
        show_default=True,
        help="A record whose valid CRN is in no register row, matched by name to a company"
        " with another CRN (not a one-keystroke slip of it): do not link it (status"
        " crn_not_in_register; 'review', the default), or let the CRN disagreement weigh as"
        " evidence.",
    ),
    click.option(
        "--truth",
        "truth_path",
        type=FILE,
        default=None,
        help="Known links (key column + entref) to add precision/recall to the"
        " report; for evaluation on generated data.",
    ),
)


def column_option(field: str, default: str | None, help: str | None = None) -> Callable[[F], F]:
    """``--FIELD-column``: which column of the incoming file holds ``field``."""
    flag = f"--{field.replace('_', '-')}-column"
    return click.option(flag, field, default=default, show_default=default is not None, help=help)


def key_column_option(default: str) -> Callable[[F], F]:
    """``--key-column``: the caller's row key, kept in the results."""
    return column_option(
        "key", default, "Your row key column, kept in the results so you can join back."
    )
