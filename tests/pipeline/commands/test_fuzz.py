"""Every ``pprl`` command, on random arguments and small malformed files: never a traceback.

For each registered command (subcommands included, found by walking the CLI's command
group, so a new command is fuzzed without editing this file) hypothesis draws arguments:
paths from a sandbox of malformed files (:mod:`tests.pipeline.commands.fuzz_support`:
empty, binary, wrong header, huge field, bad UTF-8, a directory instead of a file, a missing
file, broken YAML, garbled keystore, log, manifest and key file), choices, numbers, names and
junk. A second test puts each kind of bad file in each path argument of each command, with
good values elsewhere (one kind per argument, in rotation; every kind in every argument under
``PPRL_HYPOTHESIS_PROFILE=thorough``). Each run must:

* exit 0, 2, 3 or 75 with no ``Traceback`` in its output (unless ``--log-level DEBUG`` asked
  for the failure's traceback in the log);
* fail, if it fails, with one of pprl's own errors, not the CLI edge's "unexpected ..."
  fallback (which hides the message, so the user cannot tell what to fix);
* never show a value read from a file: the sandbox's marker values must not appear in the
  output, the log lines, or any audit log, manifest, evaluation or report written.

``pprl review`` gets a stand-in server that returns at once (serving is tested in
``tests/pipeline/review``); ``--executor dask`` is not drawn (it starts a cluster; outputs
under dask are tested in ``tests/pipeline/test_executors.py``). Examples per command: a
twelfth of the hypothesis profile's (``PPRL_HYPOTHESIS_PROFILE=thorough`` for more).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from tests.pipeline.commands.fuzz_support import (
    KIND_FILES,
    MALFORMED,
    MARKERS,
    build_sandbox,
    new_master_key,
    path_pool,
)

MASTER = new_master_key()
ENV: dict[str, str | None] = {
    "PPRL_MASTER_KEY": MASTER,
    "PPRL_KEY_PASSPHRASE": "fuzz passphrase",
    "PPRL_KEYSTORE": None,
    "PPRL_ACTOR": "fuzz",
}
EXIT_CODES = {0, 2, 3, 75}
UNEXPECTED = re.compile(r"unexpected \w+; nothing more is shown")  # the CLI edge's fallback
SCANNED = re.compile(r"(\.jsonl|manifest\.json|evaluation\.json|report\.html)$")
EXAMPLES = max(4, settings.default.max_examples // 12)
NAMES = [
    "nhs_no",
    "forename",
    "surname",
    "dob",
    "postcode",
    "ethnicity",
    "count",
    "research",
    "other",
    "envA",
    "Bad Env",
    "",
    "-",
    "nhs_no:nhs",
    "forename:name",
    "x:unknown",
    "logit=5",
    "a=b",
    "127.0.0.1",
    "0.0.0.0",
    "run-0123",
    "f" * 64,
]


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    context = click.Context(group)
    for name in group.list_commands(context):  # pprl's own commands load when asked for
        command = group.get_command(context, name)
        assert command is not None, name
        path = (*prefix, name)
        yield path
        if isinstance(command, click.Group):
            yield from command_paths(command, path)


COMMANDS = list(command_paths(cli))  # groups and their subcommands


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "sandbox"
    root.mkdir()
    build_sandbox(root, MASTER)
    return root


class _InstantServer:
    """Stands in for the review server: binds nothing and returns at once."""

    url = "http://127.0.0.1:1/token"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def serve_forever(self) -> None:
        return None

    def server_close(self) -> None:
        return None


GLOBAL_OPTIONS = [
    [],
    ["--log-format", "json"],
    ["--log-format", "xml"],
    ["--log-level", "DEBUG"],
    ["--log-level", "quiet"],
]
# Arguments placed before the drawn ones (which may override them): a demo of 5,000 rows
# takes seconds, one of at most 40 (the drawn values) well under one.
FIRST = {("demo",): ["--rows", "12"]}


def invoke_in_sandbox(template: Path, argv: list[str]) -> tuple[Result, str]:
    """Run ``pprl ARGV`` in a fresh copy of the sandbox; the result and the text of every
    audit log, manifest, evaluation and report the command wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp) / "s"
        shutil.copytree(template, sandbox, symlinks=True)
        before = {p: p.stat().st_mtime_ns for p in sandbox.rglob("*") if p.is_file()}
        with (
            contextlib.chdir(sandbox),
            mock.patch("pipeline.commands.review.ReviewServer", _InstantServer),
            mock.patch("webbrowser.open", lambda url: True),
        ):
            result = CliRunner().invoke(cli, argv, env=ENV, input="")
        written = "".join(
            p.read_bytes().decode("latin-1")
            for p in sandbox.rglob("*")
            if p.is_file() and SCANNED.search(p.name) and before.get(p) != p.stat().st_mtime_ns
        )
    return result, written


def check(template: Path, argv: list[str]) -> None:
    result, written = invoke_in_sandbox(template, argv)
    shown = f"pprl {' '.join(argv)} -> {result.exit_code}\n{result.output}"
    assert result.exit_code in EXIT_CODES, shown
    if argv[:2] != ["--log-level", "DEBUG"]:  # which logs a failure's traceback, on purpose
        assert "Traceback" not in result.output, shown
    assert not UNEXPECTED.search(result.output), shown
    echoed = [m for m in MARKERS if m in result.output or m in written]
    assert echoed == [], shown


@click.command("echo-file")
@click.argument("path", type=click.Path(path_type=Path))
def _echo_file(path: Path) -> None:
    click.echo(path.read_text(encoding="utf-8"))


@click.command("crash")
def _crash() -> None:
    raise RuntimeError("a bug")


@pytest.mark.parametrize(
    ("argv", "caught"),
    [(["echo-file", "good.csv"], r"assert \['Zqxv7Marker"), (["crash"], "unexpected RuntimeError")],
    ids=["echoes a value", "crashes"],
)
def test_the_checks_catch_an_echoed_value_and_an_unexplained_crash(
    template: Path, argv: list[str], caught: str
) -> None:
    commands = {"echo-file": _echo_file, "crash": _crash}
    with mock.patch.dict(cli.commands, commands), pytest.raises(AssertionError, match=caught):
        check(template, argv)


# --- random arguments --------------------------------------------------------------------------


def _value(param: click.Parameter) -> st.SearchStrategy[list[str]]:
    kind = param.type
    one: st.SearchStrategy[str]
    if isinstance(kind, click.Path):
        one = st.sampled_from(path_pool())
    elif isinstance(kind, click.Choice):
        one = st.sampled_from([str(c) for c in kind.choices if c != "dask"] + ["bogus"])
    elif isinstance(kind, click.types.IntParamType):
        one = st.integers(-3, 40).map(str) | st.just("x")
    elif isinstance(kind, click.types.FloatParamType):
        one = st.floats(-1, 2).map(repr) | st.sampled_from(["nan", "x"])
    elif isinstance(kind, click.Tuple):
        return st.lists(st.integers(-1, 5).map(str), min_size=param.nargs, max_size=param.nargs)
    else:
        one = st.sampled_from(NAMES) | st.text(
            st.characters(min_codepoint=32, max_codepoint=126), max_size=8
        )
    return one.map(lambda value: [value])


@st.composite
def arguments(draw: st.DrawFn, command: click.Command) -> list[str]:
    argv: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            if param.required or draw(st.booleans()):
                argv += draw(_value(param))
            continue
        assert isinstance(param, click.Option)
        if param.hidden or "--help" in param.opts or "--version" in param.opts:
            continue
        times = draw(st.integers(0, 2 if param.multiple else 1))
        if param.required and draw(st.integers(0, 9)) > 0:
            times = max(times, 1)  # usually given; sometimes left out on purpose
        for _ in range(times):
            argv.append(param.opts[0])
            if not param.is_flag:
                argv += draw(_value(param))
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--bogus", "extra", "-"])))
    return argv


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_and_malformed_files(
    template: Path, path: tuple[str, ...], data: st.DataObject
) -> None:
    drawn = data.draw(arguments(command_at(path)), label="arguments")
    options = data.draw(st.sampled_from(GLOBAL_OPTIONS), label="global options")
    argv = [*options, *path, *FIRST.get(path, []), *drawn]
    check(template, argv)


# --- each kind of bad file in each path argument ----------------------------------------------

# Values a command needs to get as far as reading its files: required non-path parameters,
# required paths (other than the one under test), and options some commands need.
DEFAULTS = {"environment": "research", "reason": "fuzz test", "keystore_dir": "ks"}
GOOD_PATHS = {"config_path": "cfg_good.yaml", "input_path": "good.csv", "register_path": "good.csv"}
OUTPUTS = {"out", "out_dir", "output", "output_path"}
NEEDS = {
    "check-output": ["--by", "forename"],
    "pseudonymise": ["--column", "nhs_no:nhs", "--column", "postcode:postcode"],
}
# thorough: every kind in every path argument; fast: one kind each, in rotation
FULL = os.environ.get("PPRL_HYPOTHESIS_PROFILE") == "thorough"


def _bad(kind: str, param: click.Parameter, command: tuple[str, ...]) -> str:
    if param.name == "config_path":
        return f"{'link' if command == ('link',) else 'cfg'}_{kind}.yaml"
    return KIND_FILES[kind]


def _good(param: click.Parameter, command: tuple[str, ...]) -> str | None:
    name = param.name or ""
    if name in OUTPUTS:
        return "new.parquet" if name == "output_path" else "new"
    if name == "config_path" and command == ("link",):
        return "link_good.yaml"
    if name in DEFAULTS:
        return DEFAULTS[name]
    return GOOD_PATHS.get(name) if param.required else None


def bad_file_argv(command: tuple[str, ...], target: str, kind: str) -> list[str]:
    """``command`` with the ``kind`` file in parameter ``target`` and good values elsewhere."""
    argv = [*command, *NEEDS.get(command[0], [])]
    for param in command_at(command).params:
        value = _bad(kind, param, command) if param.name == target else _good(param, command)
        if value is None:
            continue
        if isinstance(param, click.Option):
            argv.append(param.opts[0])
        argv.append(value)
    return argv


def bad_file_cases() -> list[tuple[tuple[str, ...], str, str]]:
    cases = []
    for command in COMMANDS:
        for param in command_at(command).params:
            if isinstance(param.type, click.Path) and param.name not in OUTPUTS:
                kinds = MALFORMED if FULL else (MALFORMED[len(cases) % len(MALFORMED)],)
                cases += [(command, str(param.name), kind) for kind in kinds]
    return cases


@pytest.mark.parametrize(
    ("command", "target", "kind"),
    bad_file_cases(),
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else v,
)
def test_each_kind_of_bad_file_in_each_path_argument(
    template: Path, command: tuple[str, ...], target: str, kind: str
) -> None:
    check(template, bad_file_argv(command, target, kind))
