"""The CLI edge: every failure is one line (a JSON object under --log-format json) with the
documented exit code, never a traceback and never a value from the data."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.errors import ConfigError

MASTER = base64.b64encode(os.urandom(32)).decode()
ENV = {"PPRL_MASTER_KEY": MASTER, "PPRL_KEY_PASSPHRASE": "", "PPRL_KEYSTORE": ""}
SECRET_VALUE = "4000000004"


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, env=ENV)


@pytest.fixture
def ks(tmp_path: Path) -> Path:
    assert invoke(["keys", "init", "--keystore", str(tmp_path / "ks")]).exit_code == 0
    return tmp_path / "ks"


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    (line,) = error_lines(result)
    assert line.startswith("Error: ")
    return line


def cases(ks: Path, tmp: Path) -> list[tuple[list[str], int]]:
    garbage = tmp / "garbage.jsonl"
    garbage.write_text("not json\n")
    bad_yaml = tmp / "bad.yaml"
    bad_yaml.write_text("project: [unclosed\n")
    log = str(ks / "audit.jsonl")
    return [
        (["keys", "add-env", "envA", "--keystore", str(ks)], 2),
        (["keys", "add-env", "ok", "--prefix", "Bad Prefix", "--keystore", str(ks)], 2),
        (["keys", "list", "--keystore", str(tmp / "none")], 2),
        (["keys", "rotate", "nope", "--keystore", str(ks)], 2),
        (["keys", "destroy", "nope", "--yes", "--keystore", str(ks)], 2),
        (["keys", "init", "--keystore", str(ks)], 2),
        (["keys", "verify", "--keystore", str(tmp / "none")], 2),
        (["keys", "upgrade", "--keystore", str(tmp / "none")], 2),
        (["--log-level", "foo", "keys", "list", "--keystore", str(ks)], 2),
        (["keys", "list", "--keystore", str(ks), "extra"], 2),
        (["audit", "verify", str(tmp / "missing.jsonl")], 3),
        (["audit", "verify", str(garbage)], 3),
        (["audit", "list", str(garbage)], 3),
        (["audit", "upgrade", str(tmp / "missing.jsonl")], 3),
        (["audit", "verify", log, "--manifest", str(tmp / "missing.json")], 3),
        (["audit", "verify", log, "--expect-head", "f" * 64], 3),
        (["audit", "verify", str(tmp / "missing.yaml")], 2),
        (["validate", str(tmp / "missing.yaml")], 2),
        (["validate", str(bad_yaml)], 2),
        (["unlock", str(tmp / "missing.yaml"), "--reason", "r"], 2),
        (["unlock", str(bad_yaml)], 2),
    ]


def test_every_error_path_is_one_line_with_its_exit_code(ks: Path, tmp_path: Path) -> None:
    for args, code in cases(ks, tmp_path):
        result = invoke(args)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output, args
        assert len(error_lines(result)) == 1 and result.stderr.startswith("Error: "), args


def test_every_error_path_is_one_json_object_under_log_format_json(
    ks: Path, tmp_path: Path
) -> None:
    for args, code in cases(ks, tmp_path):
        result = invoke(["--log-format", "json", *args])
        assert result.exit_code == code, (args, result.output)
        (line,) = error_lines(result)
        record = json.loads(line)
        assert record["level"] == "error" and record["exit_code"] == code, args
        assert record["message"] and record["error"], args


def test_the_reported_tracebacks_are_gone(ks: Path) -> None:
    line = assert_one_error_line(invoke(["keys", "add-env", "envA", "--keystore", str(ks)]), 2)
    assert "environment name must be" in line and "envA" not in line
    line = assert_one_error_line(invoke(["--log-level", "foo", "keys", "list"]), 2)
    assert "--log-level" in line and "foo" not in line
    assert invoke(["--log-level", "debug", "keys", "list", "--keystore", str(ks)]).exit_code == 0


def test_a_multi_problem_config_error_lists_problems_in_json(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("project: p\nunknown: 1\n")
    result = invoke(["--log-format", "json", "validate", str(config)])
    assert result.exit_code == 2
    record = json.loads(result.stderr)
    assert record["error"] == "ConfigError" and len(record["problems"]) > 1


@pytest.fixture
def failing() -> Iterator[list[BaseException]]:
    """A throw-away command raising whatever the test puts in the list."""
    raised: list[BaseException] = []

    @click.command("explode")
    def explode() -> None:
        raise raised[0]

    cli.add_command(explode)
    yield raised
    cli.commands.pop("explode")


@pytest.mark.parametrize(
    ("exc", "code", "expected"),
    [
        (RuntimeError(f"bad value {SECRET_VALUE}"), 3, "unexpected RuntimeError"),
        (ValueError(f"could not parse {SECRET_VALUE}"), 2, "unexpected ValueError"),
        (KeyError(SECRET_VALUE), 3, "unexpected KeyError"),
        (PermissionError(13, "Permission denied", "in/a.csv"), 3, "in/a.csv: cannot read"),
        (KeyboardInterrupt(), 2, "aborted"),
        (ConfigError("sources[0].path: input file not found: a.csv"), 2, "sources[0].path"),
    ],
)
def test_unexpected_exceptions_become_one_line_without_their_text(
    failing: list[BaseException], exc: BaseException, code: int, expected: str
) -> None:
    failing.append(exc)
    result = invoke(["explode"])
    line = assert_one_error_line(result, code)
    assert expected in line and SECRET_VALUE not in result.output


def test_the_traceback_is_logged_only_at_debug(failing: list[BaseException]) -> None:
    failing.append(RuntimeError("boom"))
    quiet = invoke(["explode"])
    assert "Traceback" not in quiet.output
    loud = invoke(["--log-level", "DEBUG", "explode"])
    assert loud.exit_code == 3 and "Traceback" in loud.stderr and "command failed" in loud.stderr
    as_json = invoke(["--log-format", "json", "--log-level", "debug", "explode"])
    records = [json.loads(line) for line in error_lines(as_json)]
    assert [r["level"] for r in records] == ["debug", "error"]
    assert records[0]["error_type"] == "RuntimeError" and "Traceback" not in as_json.stderr


def test_help_and_version_still_exit_0() -> None:
    assert invoke(["-h"]).exit_code == 0
    assert invoke(["--version"]).exit_code == 0
    assert invoke(["keys", "verify", "-h"]).exit_code == 0


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_audit_list_refuses_a_file_that_is_not_an_audit_log(
    tmp_path: Path, extra: list[str]
) -> None:
    # found by the CLI fuzz test: listing prints entries as written, so a manifest (or any
    # JSON-lines file) given by mistake had its values echoed
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"audit_head": "9434765919", "surname": "Mxyzptlk"}\n')
    result = invoke(["audit", "list", str(manifest), *extra])
    assert result.exit_code == 3
    assert "manifest.json: line 1 is not a pprl audit-log entry" in result.output
    assert "9434765919" not in result.output and "Mxyzptlk" not in result.output
