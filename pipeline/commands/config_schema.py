"""``pprl config-schema``: print the JSON Schema of a pipeline config (for editors and CI)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.atomic import write_text_atomic
from pipeline.config_schema import schema_text


@click.command("config-schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the schema to this file instead of printing it.",
)
def command(output: Path | None) -> None:
    """Print the JSON Schema (2020-12) of a pipeline config, generated from pprl's models.

    Editors with a YAML language server complete and check a config against it: put
    "# yaml-language-server: $schema=PATH" on the config's first line. The published copy is
    configs/pprl-config.schema.json.

    \b
    Example:
        pprl config-schema --output pprl-config.schema.json
    """
    if output is None:
        click.echo(schema_text(), nl=False)
        return
    write_text_atomic(output, schema_text())
    click.echo(f"wrote {output}")
