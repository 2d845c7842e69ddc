from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

from click.testing import CliRunner

from pipeline import __version__
from pipeline.cli import COMMAND_MODULES, cli, exit_code_for
from pipeline.errors import ConfigError, DataError, TransientError


def test_version_flag_prints_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_short_help_flag_lists_example() -> None:
    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_exit_codes_follow_scheduler_contract() -> None:
    assert exit_code_for(ConfigError("bad")) == 2
    assert exit_code_for(DataError("bad")) == 3
    assert exit_code_for(TransientError("busy")) == 75


def test_config_error_lists_every_problem_and_pickles() -> None:
    err = ConfigError(["sources[0].path: missing", "project: missing"], source="c.yaml")
    assert "2 problems" in str(err)
    assert "sources[0].path" in str(err) and "project: missing" in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert isinstance(clone, ValueError)
    assert clone.problems == err.problems and clone.source == "c.yaml"


def test_each_command_module_defines_the_command_it_is_listed_under() -> None:
    for name, module in COMMAND_MODULES.items():
        assert importlib.import_module(module).command.name == name


def test_help_lists_every_command_and_each_loads_only_when_asked_for() -> None:
    # a fresh interpreter: this one has imported every command module already
    program = (
        "import sys; from click.testing import CliRunner; from pipeline.cli import cli;"
        "CliRunner().invoke(cli, ['--version']);"
        "print(sorted(m for m in sys.modules if m.startswith(('pipeline.commands.', 'scipy'))))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # --version loads no command, nor what runs them

    help_text = CliRunner().invoke(cli, ["-h"]).output
    for name in COMMAND_MODULES:
        assert f"  {name} " in help_text, name
