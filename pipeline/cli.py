"""The ``pprl`` command line. Library exceptions become CLI errors here, and only here.

Exit codes a scheduler can act on: 0 ok, 2 config error, 3 data error, 75 transient failure.
Every failure, whatever raised it, ends as one ``Error: ...`` line on stderr (a JSON object
under ``--log-format json``) and one of those codes: never a traceback. Messages of pprl's own
errors name the file, row and field; an unexpected exception is reported by its type only,
since its text may quote data, and its traceback is logged at DEBUG level.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from pipeline import __version__
from pipeline.errors import EXIT_CONFIG, EXIT_DATA, PipelineError, ProblemList
from pipeline.logs import LEVELS, LogFormat, configure_logging, json_line

logger = logging.getLogger(__name__)

# Each module defines ``command``, a click command or group of this name. A module is imported
# when its command runs (or help lists it): importing them all costs ~2 s, most of a short
# ``crn-request``'s time.
COMMAND_MODULES: dict[str, str] = {
    "demo": "pipeline.commands.demo",
    "validate": "pipeline.commands.validate",
    "run": "pipeline.commands.run",
    "audit": "pipeline.commands.audit",
    "unlock": "pipeline.commands.unlock",
    "project": "pipeline.commands.project",
    "check-output": "pipeline.commands.check_output",
    "keys": "pipeline.commands.keys",
    "pseudonymise": "pipeline.commands.pseudonymise",
    "crn-request": "pipeline.commands.crn_request",
    "link-register": "pipeline.commands.link_register",
    "link": "pipeline.commands.link",
    "review": "pipeline.commands.review",
    "init": "pipeline.commands.init",
    "config-schema": "pipeline.commands.config_schema",
}


def exit_code_for(exc: BaseException) -> int:
    """Map a library exception to the exit code documented above."""
    if isinstance(exc, PipelineError):
        return exc.exit_code
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, ValueError):
        return EXIT_CONFIG
    return EXIT_DATA


def describe_error(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for any exception reaching the CLI edge."""
    from linkage.errors import LinkageError
    from pseudonym.errors import PseudonymError

    if isinstance(exc, click.ClickException):  # bad usage: an unknown option, a bad value
        return EXIT_CONFIG, _usage_message(exc)
    if isinstance(exc, click.Abort):
        return EXIT_CONFIG, "aborted"
    if isinstance(exc, PipelineError | PseudonymError | LinkageError):
        return exit_code_for(exc), str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = (exc.strerror or type(exc).__name__).lower()
        return EXIT_DATA, f"{exc.filename}: cannot read or write the file ({reason})"
    return exit_code_for(exc), (
        f"unexpected {type(exc).__name__}; nothing more is shown because its text may quote"
        " data (rerun with --log-level DEBUG to log the traceback)"
    )


def _usage_message(exc: click.ClickException) -> str:
    """Click's message, except that a rejected value is not repeated (it could be anything a
    user pasted); file paths are, since the message must say which file."""
    message = exc.format_message()
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        if not isinstance(exc.param.type, click.Path):
            hint = exc.param.get_error_hint(exc.ctx) if exc.ctx else exc.param.name
            choices = getattr(exc.param.type, "choices", None)
            listed = f": choose from {', '.join(map(str, choices))}" if choices else ""
            message = f"Invalid value for {hint}{listed}"
    elif "extra argument" in message:
        message = "Got unexpected extra arguments"
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} -h')"
    return message


def report_error(exc: BaseException, fmt: LogFormat) -> int:
    """Print ``exc`` as one line (or a JSON object) on stderr; return its exit code."""
    code, message = describe_error(exc)
    logger.debug("command failed", exc_info=exc)  # the traceback, at DEBUG level only
    if fmt == "json":
        fields: dict[str, object] = {"error": type(exc).__name__, "exit_code": code}
        if isinstance(exc, ProblemList):
            fields["problems"] = list(exc.problems)
        click.echo(json_line("error", __name__, message, **fields), err=True)
    else:
        click.echo(f"Error: {message}", err=True)
    return code


def _requested(argv: Sequence[str], option: str) -> str | None:
    """The value given to a global option, read before click parses (for early errors)."""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


class PprlGroup(click.Group):
    """Runs a command and turns every failure into one line and a documented exit code.
    Commands of :data:`COMMAND_MODULES` are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self.add_command(importlib.import_module(COMMAND_MODULES[cmd_name]).command)
        return self.commands.get(cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # the caller handles exceptions itself
            return super().main(args, prog_name, complete_var, False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        fmt: LogFormat = "json" if _json_requested(argv) else "text"
        level = (_requested(argv, "--log-level") or "INFO").upper()
        configure_logging(fmt, level if level in LEVELS else "INFO")
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help, as click does
            exc.show()
            _exit(exc.exit_code)
        except Exception as exc:  # the one place every failure is reported
            _exit(report_error(exc, fmt))
        except (KeyboardInterrupt, click.Abort) as exc:
            _exit(report_error(click.Abort() if isinstance(exc, KeyboardInterrupt) else exc, fmt))
        _exit(result if isinstance(result, int) else 0)


def _json_requested(argv: Sequence[str]) -> bool:
    """JSON errors under ``--log-format json``, and under a command's ``--json`` too: a
    scheduler that asked for a JSON result should not have to parse a text error."""
    return _requested(argv, "--log-format") == "json" or "--json-logs" in argv or "--json" in argv


def _exit(code: int) -> NoReturn:
    sys.exit(code)


@click.group(cls=PprlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pprl")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text or as JSON objects (one per line) for schedulers.",
)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Least severe level logged.",
)
def cli(log_format: str, log_level: str) -> None:
    """pprl: privacy-preserving record linkage and pseudonymisation.

    Turns identifiable ingests into de-identified, linked extracts for a trusted research
    environment.

    \b
    Example:
        pprl demo --out demo-output
    """
    configure_logging("json" if log_format == "json" else "text", log_level.upper())


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pprl")


if __name__ == "__main__":  # pragma: no cover
    main()
