"""``pprl init FILE...``: write a first, commented pipeline config from a sample of the files."""

from __future__ import annotations

import re
from pathlib import Path

import click

from pipeline.atomic import write_text_atomic
from pipeline.errors import ConfigError
from pipeline.scaffold import check_scaffold, guess_source
from pipeline.scaffold_render import Names, render_config


@click.command("init")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("pprl.yaml"),
    show_default=True,
    help="The config file to write (paths in it are relative to its folder).",
)
@click.option("--project", default=None, help="Project name (default: the config's folder).")
@click.option("--environment", default="research", show_default=True, help="Key environment.")
@click.option("--keystore", default="keystore", show_default=True, help="Keystore folder.")
@click.option(
    "--key-file", default="master.key", show_default=True, help="Encrypted master key file."
)
@click.option("--delivery", default="delivery", show_default=True, help="Delivery folder.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def command(
    files: tuple[Path, ...],
    out: Path,
    project: str | None,
    environment: str,
    keystore: str,
    key_file: str,
    delivery: str,
    force: bool,
) -> None:
    """Write a commented pipeline config from a sample of each FILE (CSV or Parquet).

    Each column's role is guessed from its name and its first 500 values: NHS numbers and
    other identifiers by their check digits, postcodes by their shape, dates of birth and
    their format, names by the column name. Other columns are listed commented out. Two files
    are linked, one is deduplicated. Check the guesses, create the keystore it names, then
    run pprl validate. No value from the files is written or printed.

    \b
    Example:
        pprl init configs/demo-data/hospital/episodes-2026-10.csv \\
            configs/demo-data/gp/register.csv --out my-project/pprl.yaml
    """
    if out.exists() and not force:
        raise ConfigError(f"{out}: exists; choose another --out or pass --force")
    folder = out.resolve().parent
    taken: set[str] = set()
    sources = [guess_source(path, folder, taken) for path in files]
    names = Names(project or _project_name(folder), environment, keystore, key_file, delivery)
    text = render_config(sources, names)
    check_scaffold(text, folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    click.echo(f"wrote {out}")
    for source in sources:
        roles = ", ".join(f"{g.column}: {g.role}" for g in source.mapped()) or "none"
        click.echo(f"  {source.name}: {roles}")


def _project_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name).strip("-.") or "project"
    return name if name[0].isalnum() else f"p{name}"
