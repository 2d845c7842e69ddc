"""Kill ``pprl run`` with SIGKILL at chosen moments around staging and promotion, then rerun.

Each kill is injected at a named point in a child process (deterministic, no timing), with
the work and delivery folders on one filesystem or, simulated, on two. Afterwards: nothing
delivered is visible until the rerun, nothing identifying is in the delivery folder, the
rerun delivers once, and its extracts are byte-identical to a clean run's.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.pipeline.commands.test_run import delivered_files, raw_values
from tests.pipeline.runner_support import (
    AUDIT_LOG,
    HEADER,
    LOCK,
    STATE,
    WORK,
    all_output_text,
    deliveries,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

KILL_AT = """
import os, shutil, signal, sys
from pathlib import Path
from pipeline import atomic, runner
from pipeline.cli import main
from pipeline.state import StateCatalogue

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally blocks: a real crash

config, point = sys.argv[1], sys.argv[2]
if point.startswith("cross-fs"):
    atomic.same_filesystem = lambda first, second: False
if point == "before-promotion":
    runner.promote_folder = die
elif point == "cross-fs-mid-copy":
    real_copy, copied = shutil.copy2, []
    def copy_one_then_die(source, target):
        if copied:
            die()
        copied.append(real_copy(source, target))
    shutil.copy2 = copy_one_then_die
elif point == "cross-fs-before-rename":
    real_move = atomic.move_atomic
    def die_before_renaming_the_copy(source, target):
        if Path(source).is_dir() and Path(source).name.startswith(atomic.TMP_PREFIX):
            die()  # the copied folder, not one of the files written atomically before
        real_move(source, target)
    atomic.move_atomic = die_before_renaming_the_copy
elif point == "before-catalogue":
    StateCatalogue.finish_run = die
sys.argv = ["pprl", "run", config]
main()
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/2026-10.csv", HEADER, people_rows(0, 9))
    write_csv(tmp_path / "in/hospital/2026-11.csv", HEADER, people_rows(50, 4))
    write_config(tmp_path, keystore)
    return tmp_path


def kill_at(root: Path, point: str) -> None:
    script = root / "kill.py"
    script.write_text(KILL_AT)
    killed = subprocess.run(
        [sys.executable, str(script), str(root / "pipeline.yaml"), point],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert killed.returncode == -9, killed.stderr


def hidden(root: Path) -> list[str]:
    out = root / "out"
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".")) if out.is_dir() else []


def rerun_and_compare_with_a_clean_run(root: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(root / "pipeline.yaml")])
    assert result.exit_code == 0, result.output
    assert "removing stale run lock" in result.output
    assert len(deliveries(root)) == 1 and hidden(root) == []
    assert not any((root / WORK / "staging").iterdir())
    log = (root / AUDIT_LOG).read_text().splitlines()
    assert len(log) == 1  # recorded once, whether or not the killed run got that far
    after_kill = delivered_files(root)
    for folder in ("out", STATE, WORK):
        shutil.rmtree(root / folder)
    assert CliRunner().invoke(cli, ["run", str(root / "pipeline.yaml")]).exit_code == 0
    clean = delivered_files(root)
    assert after_kill.keys() == clean.keys()
    for name, data in clean.items():
        if name.endswith(".parquet"):
            assert after_kill[name] == data, name


@pytest.mark.parametrize(
    ("point", "left_in_delivery"),
    [
        ("before-promotion", []),  # assembled in the work folder; nothing in the delivery
        ("cross-fs-mid-copy", [".tmp-run-"]),  # part of a copy, hidden, removed by the rerun
        ("cross-fs-before-rename", [".tmp-run-"]),  # a whole copy, hidden, never promoted
    ],
)
def test_a_run_killed_around_promotion_shows_nothing_and_the_rerun_delivers_once(
    workspace: Path, point: str, left_in_delivery: list[str]
) -> None:
    kill_at(workspace, point)
    assert (workspace / LOCK).exists()
    assert deliveries(workspace) == []
    assert [name[: len(".tmp-run-")] for name in hidden(workspace)] == left_in_delivery
    for name in hidden(workspace):  # owner-only, so no researcher reads a hidden copy
        assert stat.S_IMODE((workspace / "out" / name).stat().st_mode) == 0o700
    staged = list((workspace / WORK / "staging").glob("run-*/manifest.json"))
    assert len(staged) == 1  # the assembled delivery waits in the work folder
    leftovers = all_output_text(workspace)
    assert sorted(v for v in raw_values(workspace) if v in leftovers) == []
    rerun_and_compare_with_a_clean_run(workspace)


def test_a_run_killed_after_promotion_is_recorded_once_by_the_rerun(workspace: Path) -> None:
    kill_at(workspace, "before-catalogue")
    promoted = delivered_files(workspace)
    assert len(deliveries(workspace)) == 1 and hidden(workspace) == []
    result = CliRunner().invoke(cli, ["run", str(workspace / "pipeline.yaml")])
    assert result.exit_code == 0 and "already promoted" in result.output, result.output
    assert delivered_files(workspace) == promoted
    assert len((workspace / AUDIT_LOG).read_text().splitlines()) == 1
    again = CliRunner().invoke(cli, ["run", str(workspace / "pipeline.yaml")])
    assert "nothing new" in again.output


def test_a_rerun_removes_only_its_own_hidden_copies(workspace: Path) -> None:
    kill_at(workspace, "cross-fs-before-rename")
    foreign = workspace / "out/.tmp-run-0000000000000000"  # another project's, mid-copy
    foreign.mkdir()
    result = CliRunner().invoke(cli, ["run", str(workspace / "pipeline.yaml")])
    assert result.exit_code == 0, result.output
    assert hidden(workspace) == [foreign.name]
