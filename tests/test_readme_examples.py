"""Every shell example in README.md runs as written, in order, from the root of a copy of the
repository, as a reader pasting them into one terminal would (the environment variables and
files of one example are there for the next). Setup and test commands (pip, pytest, ruff,
mypy, .ci/run) are left out; a line whose comment says ``exit N`` must exit with N. Then the
examples' outputs are where the README says, none of them in another's folder, and the
orchestration snippet runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
SETUP = re.compile(r"^(python3(\.11)? -m (pip|pytest)|ruff |mypy|bash \.ci/run|\w+=\S+ python)")
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def logical_lines(block: str) -> list[str]:
    """Lines with their ``\\`` continuations joined."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def runnable(line: str) -> str | None:
    """The line as the test runs it: setup commands dropped, an expected exit code checked."""
    expected = EXPECTED_EXIT.search(line)
    command = re.sub(r"\s+#.*$", "", line).strip()
    parts = [p for p in command.split(" && ") if not SETUP.match(p.strip())]
    if not parts:
        return None
    command = " && ".join(parts)
    return f"{command} || test $? -eq {expected.group(1)}" if expected else command


def script() -> str:
    lines = [
        r for block in blocks("bash") for line in logical_lines(block) if (r := runnable(line))
    ]
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


def test_the_script_covers_every_command_of_the_examples() -> None:
    text = script()
    for command in ("demo", "keys init", "pseudonymise", "validate", "run", "audit verify",
                    "init", "link", "crn-request", "link-register", "check-output"):  # fmt: skip
        assert f"pprl {command} " in text, command
    assert "pip install" not in text and "pytest" not in text


def _environment(bin_dir: Path) -> dict[str, str]:
    """A fresh shell's environment, with ``pprl`` running this checkout's code."""
    bin_dir.mkdir()
    shim = bin_dir / "pprl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pipeline.cli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPRL_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.slow
def test_readme_examples_run_as_written(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "configs", root / "configs", ignore=shutil.ignore_patterns(".pprl-work"))
    shutil.copy(REPO / "README.md", root)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    env = _environment(tmp_path / "bin")
    done = subprocess.run(
        ["bash", "-c", script()], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]

    out = root / "example-output"
    for made in (
        "pipeline-demo/index.json",
        "link-demo/link-report.html",
        "link-records/link-report.html",
        "a.parquet.quarantine.parquet",
        "crn-answer/results.csv",
        "linked/review/clerical_review.csv",
        "checked/disclosure.html",
        "checked-table/disclosure.json",
        "checked-models/disclosure.json",
        "my-project/pprl.yaml",
    ):
        assert (out / made).is_file(), made
    assert (root / "demo-output/.pprl-demo").is_file()
    # nothing under configs/ changed but the work folder its config keeps beside it
    changed = [
        p
        for p, data in before.items()
        if not (root / p).is_file() or (root / p).read_bytes() != data
    ]
    assert not changed
    # rerunning the first example leaves every other example's outputs alone (a smaller demo:
    # what is checked is which folder it empties, not what it delivers)
    again = subprocess.run(
        ["pprl", "demo", "--out", "demo-output", "--rows", "200"],
        cwd=root,
        env=env,
        capture_output=True,
    )
    assert again.returncode == 0
    assert (out / "pipeline-demo/index.json").is_file()
    _orchestration_snippet(root, env)


def _orchestration_snippet(root: Path, env: dict[str, str]) -> None:
    """The Python example under "Scheduling and scripting", on a fresh copy of the demo config."""
    (snippet,) = [b for b in blocks("python") if "def ingest" in b]
    config = root / "configs/scheduled.yaml"
    text = (root / "configs/demo.yaml").read_text()
    config.write_text(text.replace("../example-output/pipeline-demo", "../example-output/cron"))
    program = textwrap.dedent(
        f"""
        {textwrap.indent(snippet, "        ").strip()}
        first = ingest({str(config)!r})
        again = ingest({str(config)!r})
        assert first["run_id"].startswith("run-") and again == {{"status": "up_to_date"}}
        print(first["delivery"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=root,
        env={**env, "PPRL_DEMO_PASSPHRASE": "pprl-demo-only"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(done.stdout.strip()).parent == root / "example-output/cron"
