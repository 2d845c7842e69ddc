"""The README documents every command and sub-command the CLI offers (sqlite-utils style)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _command_paths(group: click.Group, prefix: str = "pprl") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
    return paths


def test_every_command_is_documented_in_readme() -> None:
    missing = []
    for path in _command_paths(cli):
        parts = path.split()
        if path not in README and not (len(parts) == 3 and f"`{parts[2]}`" in README):
            missing.append(path)
    assert not missing, f"undocumented commands: {missing}"


def test_every_command_help_ends_with_an_example() -> None:
    def walk(group: click.Group) -> list[click.Command]:
        found: list[click.Command] = []
        for command in group.commands.values():
            found.append(command)
            if isinstance(command, click.Group):
                found.extend(walk(command))
        return found

    lacking = [c.name for c in [cli, *walk(cli)] if "Example" not in (c.help or "")]
    assert not lacking, f"help without an example: {lacking}"


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "pprl demo" in first_block and "pytest" in first_block
