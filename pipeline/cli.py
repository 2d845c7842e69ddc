"""The ``pprl`` command line. Library exceptions become CLI errors here, and only here.

Exit codes a scheduler can act on: 0 ok, 2 config error, 3 data error, 75 transient failure.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from pipeline import __version__
from pipeline.errors import EXIT_CONFIG, EXIT_DATA, PipelineError
from pipeline.logs import configure_logging

logger = logging.getLogger(__name__)

# Each module defines ``command``: a click command or group registered under its own name.
COMMAND_MODULES: list[str] = [
    "pipeline.commands.demo",
    "pipeline.commands.validate",
    "pipeline.commands.run",
    "pipeline.commands.audit",
    "pipeline.commands.unlock",
    "pipeline.commands.check_output",
    "pipeline.commands.keys",
    "pipeline.commands.pseudonymise",
    "pipeline.commands.crn_request",
    "pipeline.commands.link_register",
    "pipeline.commands.link",
]


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


class PprlGroup(click.Group):
    """Turns library errors into one readable line and the right exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            from linkage.errors import LinkageError
            from pseudonym.errors import PseudonymError

            if not isinstance(exc, PipelineError | PseudonymError | LinkageError):
                raise
            click.echo(f"Error: {exc}", err=True)
            logger.debug("command failed", exc_info=True)
            ctx.exit(exit_code_for(exc))


@click.group(cls=PprlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pprl")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text or as JSON objects (one per line) for schedulers.",
)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING, ERROR.")
def cli(log_format: str, log_level: str) -> None:
    """pprl: privacy-preserving record linkage and pseudonymisation.

    Turns identifiable ingests into de-identified, linked extracts for a trusted research
    environment.

    \b
    Example:
        pprl demo --out demo-output
    """
    configure_logging("json" if log_format == "json" else "text", log_level)


for _module_name in COMMAND_MODULES:
    _module = importlib.import_module(_module_name)
    cli.add_command(_module.command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pprl")


if __name__ == "__main__":  # pragma: no cover
    main()
