from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import exit_code_for
from pipeline.lock import LockHeld, RunLock


def test_second_holder_is_refused_with_transient_exit_code(tmp_path: Path) -> None:
    path = tmp_path / ".pprl" / "lock"
    with RunLock(path):
        owner = json.loads(path.read_text())
        assert owner == {"pid": os.getpid(), "host": socket.gethostname()}
        with pytest.raises(LockHeld) as info:
            RunLock(path).acquire()
        assert exit_code_for(info.value) == 75
        assert f"pid {os.getpid()}" in str(info.value)
        clone = pickle.loads(pickle.dumps(info.value))
        assert isinstance(clone, LockHeld) and clone.owner == info.value.owner
    assert not path.exists()
    with RunLock(path):  # free again once released
        pass


def test_lock_of_a_dead_process_is_stale_and_taken_over(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": dead_pid, "host": socket.gethostname()}))
    lock = RunLock(path)
    assert lock.is_stale()
    with lock:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_lock_from_another_host_is_never_assumed_stale(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": 1, "host": "some-other-host.example"}))
    with pytest.raises(LockHeld, match=r"some-other-host\.example"):
        RunLock(path).acquire()
    assert path.exists()


def test_empty_or_garbled_lock_file_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.write_text("")
    with RunLock(path):
        assert json.loads(path.read_text())["pid"] == os.getpid()
