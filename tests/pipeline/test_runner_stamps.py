"""A run hashes only the input files it may process: a delivered file whose stamp (device,
inode, size, modification and status-change times) is unchanged keeps the SHA-256 read from
its bytes when it was delivered (pipeline.state, pipeline.runner)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

import pipeline.runner as runner
from pipeline.config import load_config
from pipeline.locations import STATE_FILE
from pipeline.runner import run_pipeline
from pipeline.state import StateCatalogue
from pseudonym.digests import file_sha256
from tests.pipeline.runner_support import (
    HEADER,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A project with two delivered files, and the list of files hashed since (by name)."""
    keystore = make_keystore(tmp_path, monkeypatch)
    write_csv(tmp_path / "in/hospital/a.csv", HEADER, people_rows(0, 6))
    write_csv(tmp_path / "in/hospital/b.csv", HEADER, people_rows(6, 6))
    config = write_config(tmp_path, keystore, linkage={"mode": "none"})
    assert run_pipeline(load_config(config), services=fake_services()).status == "delivered"
    hashed: list[str] = []

    def counting(path: str | os.PathLike[str]) -> str:
        if Path(path).suffix == ".csv":  # an input file (the runner also hashes its manifest)
            hashed.append(Path(path).name)
        return file_sha256(path)

    monkeypatch.setattr(runner, "file_sha256", counting)
    return config, hashed


def _run(config: Path, *, reprocess: bool = False) -> str:
    return run_pipeline(load_config(config), services=fake_services(), reprocess=reprocess).status


def test_delivered_unchanged_files_are_not_hashed_again(project: tuple[Path, list[str]]) -> None:
    config, hashed = project
    assert _run(config) == "up_to_date" and hashed == []
    write_csv(config.parent / "in/hospital/c.csv", HEADER, people_rows(12, 6))
    assert _run(config) == "delivered" and hashed == ["c.csv"]  # the new file only
    assert _run(config) == "up_to_date" and hashed == ["c.csv"]


def test_a_file_rewritten_with_its_old_size_and_time_is_hashed_and_processed_again(
    project: tuple[Path, list[str]],
) -> None:
    config, hashed = project
    path = config.parent / "in/hospital/a.csv"
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Aurelio0", b"Aurelia0"))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old time set back
    assert path.stat().st_size == before.st_size
    assert _run(config) == "delivered" and hashed == ["a.csv"]


def test_every_file_is_hashed_when_every_file_is_processed(
    project: tuple[Path, list[str]],
) -> None:
    config, hashed = project
    _run(config, reprocess=True)
    assert sorted(hashed) == ["a.csv", "b.csv"]


def test_a_catalogue_without_stamps_hashes_once_then_keeps_them(
    project: tuple[Path, list[str]],
) -> None:
    config, hashed = project
    state = config.parent / ".pprl-state" / STATE_FILE
    if not state.exists():  # the state folder's default name
        state = next(config.parent.rglob(STATE_FILE))
    con = duckdb.connect(str(state))
    con.execute("UPDATE files SET stamp = NULL")  # as a catalogue of an older pprl
    con.close()
    assert StateCatalogue(state).delivered_stamps() == {}
    assert _run(config) == "up_to_date" and sorted(hashed) == ["a.csv", "b.csv"]
    assert len(StateCatalogue(state).delivered_stamps()) == 2
    assert _run(config) == "up_to_date" and sorted(hashed) == ["a.csv", "b.csv"]
