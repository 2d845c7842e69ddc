"""The run lock: link-into-place acquisition, stale takeover under a guard, races made
deterministic with checkpoints (injected pauses), locks from other hosts."""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cli import exit_code_for
from pipeline.lock import LockHeld, RunLock, format_age

REPO = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


class Pause:
    """A checkpoint that stops its thread at ``point`` until released."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.reached = threading.Event()
        self.go = threading.Event()

    def __call__(self, point: str) -> None:
        if point == self.point:
            self.reached.set()
            assert self.go.wait(10), "test did not release the paused thread"


def in_thread(lock: RunLock) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def body() -> None:
        try:
            lock.acquire()
            outcome.append(None)
        except LockHeld as exc:
            outcome.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def test_second_holder_is_refused_with_transient_exit_code(tmp_path: Path) -> None:
    path = tmp_path / ".pprl" / "lock"
    with RunLock(path):
        owner = json.loads(path.read_text())
        assert set(owner) == {"pid", "host", "started", "token"}
        assert (owner["pid"], owner["host"]) == (os.getpid(), socket.gethostname())
        with pytest.raises(LockHeld) as info:
            RunLock(path).acquire()
        assert exit_code_for(info.value) == 75
        assert f"pid {os.getpid()}" in str(info.value) and "pprl unlock" in str(info.value)
        clone = pickle.loads(pickle.dumps(info.value))
        assert isinstance(clone, LockHeld) and clone.owner == info.value.owner
    assert not path.exists()
    assert not list(path.parent.glob(".tmp-*"))
    with RunLock(path):  # free again once released
        pass


def test_lock_of_a_dead_process_is_stale_and_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    lock = RunLock(path)
    assert lock.is_stale()
    with lock:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert "removing stale run lock" in caplog.text


def test_lock_from_another_host_is_reported_with_host_and_age(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    started = (datetime.now(UTC) - timedelta(hours=3, minutes=2)).isoformat(timespec="seconds")
    path.write_text(json.dumps({"pid": 1, "host": "other.example", "started": started}))
    with pytest.raises(LockHeld, match=r"pid 1 on other\.example, started .*, 3h 0[12]m ago"):
        RunLock(path).acquire()
    assert path.exists()
    old_style = {"pid": 1, "host": "other.example"}  # no start time: the file's age is used
    path.write_text(json.dumps(old_style))
    os.utime(path, (time.time() - 90, time.time() - 90))
    with pytest.raises(LockHeld, match=r"other\.example, 1m 3[0-9]s ago"):
        RunLock(path).acquire()


@pytest.mark.parametrize("content", ["", "{", '{"host": "h"}', "[1, 2]"])
def test_unreadable_lock_is_never_removed(tmp_path: Path, content: str) -> None:
    """It may be a lock an older pprl is still writing (created first, filled afterwards)."""
    path = tmp_path / "lock"
    path.write_text(content)
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    lock = RunLock(path)
    assert not lock.is_stale()
    with pytest.raises(LockHeld, match=r"an unreadable lock file, 2h 00m old"):
        lock.acquire()
    assert path.read_text() == content


def test_old_race_a_lock_being_written_is_left_alone(tmp_path: Path) -> None:
    """The reported race: the old writer created the file, then wrote pid and host. A second
    run arriving in between saw an empty file, called it stale, removed it, and both ran."""
    path = tmp_path / "lock"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # old writer, step 1
    with pytest.raises(LockHeld, match="unreadable lock file"):
        RunLock(path).acquire()  # the second run, inside the window
    os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
    os.close(fd)  # old writer, step 2: its lock is intact
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_a_lock_never_exists_half_written(tmp_path: Path) -> None:
    """With the window widened (a pause after writing the candidate, before linking it), the
    name is absent until the link, so the second run simply wins and the first is refused."""
    path = tmp_path / "lock"
    pause = Pause("before-link")
    first = RunLock(path, checkpoint=pause)
    thread, outcome = in_thread(first)
    assert pause.reached.wait(10)
    assert not path.exists()  # nothing visible yet, not even an empty file
    second = RunLock(path)
    second.acquire()
    pause.go.set()
    thread.join()
    assert isinstance(outcome[0], LockHeld)
    second.release()
    assert not path.exists() and not list(tmp_path.glob(".tmp-*"))


def test_stale_takeover_race_removes_only_the_stale_lock(tmp_path: Path) -> None:
    """Two runs find the same stale lock. The first pauses after judging it stale; the second
    takes it over and runs. The first must not then remove the second's fresh lock."""
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    pause = Pause("stale-seen")
    slow = RunLock(path, checkpoint=pause)
    thread, outcome = in_thread(slow)
    assert pause.reached.wait(10)
    fast = RunLock(path)
    fast.acquire()  # takes over the stale lock
    fresh = path.read_text()
    pause.go.set()
    thread.join()
    assert isinstance(outcome[0], LockHeld)
    assert path.read_text() == fresh  # the fresh lock survived
    fast.release()


def test_stale_takeover_race_while_one_is_removing(tmp_path: Path) -> None:
    """One run pauses holding the guard, about to remove the stale lock; another arrives and
    waits for the guard. Whatever the order afterwards, exactly one run holds the lock."""
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    removing, arrived = Pause("removing"), Pause("stale-seen")
    first, second = RunLock(path, checkpoint=removing), RunLock(path, checkpoint=arrived)
    thread_a, outcome_a = in_thread(first)
    assert removing.reached.wait(10)
    arrived.go.set()  # the second passes straight on to the guard, and blocks there
    thread_b, outcome_b = in_thread(second)
    assert arrived.reached.wait(10)
    removing.go.set()
    thread_a.join()
    thread_b.join()
    results = [outcome_a[0], outcome_b[0]]
    assert results.count(None) == 1 and sum(isinstance(r, LockHeld) for r in results) == 1
    holder = first if outcome_a[0] is None else second
    assert json.loads(path.read_text())["token"] == holder._token
    holder.release()
    assert not path.exists()


def test_a_candidate_cleared_away_before_the_link_is_written_again(tmp_path: Path) -> None:
    """A run holding the lock clears temporary files in the state folder; a second run's
    candidate may vanish before it is linked."""
    path = tmp_path / "lock"
    cleared: list[str] = []

    def clear(point: str) -> None:
        if point == "before-link" and not cleared:
            cleared.extend(p.name for p in tmp_path.glob(".tmp-*"))
            for p in tmp_path.glob(".tmp-*"):
                p.unlink()

    with RunLock(path, checkpoint=clear):
        assert cleared and json.loads(path.read_text())["pid"] == os.getpid()
    assert not list(tmp_path.iterdir()) or [p.name for p in tmp_path.iterdir()] == ["lock.guard"]


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    mine = RunLock(path)
    mine.acquire()
    owner = mine.owner()
    assert owner is not None and RunLock(path).break_lock(owner)  # `pprl unlock`
    theirs = RunLock(path)
    theirs.acquire()
    mine.release()
    assert path.exists() and json.loads(path.read_text())["token"] == theirs._token
    assert not RunLock(path).break_lock(owner)  # a changed lock is not removed either
    theirs.release()


def test_processes_racing_with_a_widened_window_never_both_hold(tmp_path: Path) -> None:
    """Real processes, each pausing 0.3 s between writing its candidate and linking it."""
    script = (
        "import sys, time\n"
        "from pipeline.lock import LockHeld, RunLock\n"
        "pause = lambda point: time.sleep(0.3) if point == 'before-link' else None\n"
        "lock = RunLock(sys.argv[1], checkpoint=pause)\n"
        "try:\n"
        "    lock.acquire()\n"
        "except LockHeld:\n"
        "    print('refused'); sys.exit(0)\n"
        "print('held'); sys.stdout.flush(); time.sleep(1.5); lock.release()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "lock")],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    said = sorted(run.communicate(timeout=60)[0].strip() for run in runs)
    assert said == ["held", "refused", "refused", "refused"]
    assert not (tmp_path / "lock").exists()


def test_format_age() -> None:
    assert [format_age(s) for s in (0, 59, 61, 3599, 3600 * 3 + 125, 86400 * 2 + 3600 * 4)] == [
        "0s",
        "59s",
        "1m 01s",
        "59m 59s",
        "3h 02m",
        "2d 04h",
    ]
