"""The ``-h`` examples that use ``configs/demo.yaml`` name what that config really reads: the
passphrase variable of its key file, and its work folder's review files."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from tests.pipeline.runner_support import REPO

DEMO = load_config(REPO / "configs/demo.yaml")


def _example(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "-h"])
    assert result.exit_code == 0
    return result.output.split("Example:", 1)[1].split("Options:", 1)[0]


@pytest.mark.parametrize("command", [("run",), ("validate",), ("audit", "verify")])
def test_variables_set_for_the_demo_config_are_the_ones_it_reads(command: tuple[str, ...]) -> None:
    readable = {DEMO.keystore.passphrase_env, DEMO.keystore.master_key_env}
    for line in _example(*command).splitlines():
        if "configs/demo.yaml" in line:
            assert set(re.findall(r"\b([A-Z_]+)=", line)) <= readable, line


def test_the_decisions_example_points_into_the_demo_configs_work_folder() -> None:
    review = (DEMO.work_dir / "review").relative_to(REPO).as_posix()
    found = re.search(r"--decisions (\S+)", _example("run"))
    assert found and found.group(1).startswith(review + "/run-")


def test_shell_completion_as_the_readme_sets_it_up() -> None:
    env = {"_PPRL_COMPLETE": "bash_complete", "COMP_WORDS": "pprl run x --dr", "COMP_CWORD": "3"}
    result = CliRunner().invoke(cli, [], env=env, prog_name="pprl")
    assert "plain,--dry-run" in result.output
    source = CliRunner().invoke(cli, [], env={"_PPRL_COMPLETE": "bash_source"}, prog_name="pprl")
    assert "_pprl_completion()" in source.output
