from __future__ import annotations

from pathlib import Path

import pytest

import pipeline.atomic
from pipeline.atomic import atomic_path, move_atomic, remove_stale_temporaries, write_text_atomic


def test_failed_write_leaves_previous_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_remove_stale_temporaries_cleans_only_temp_files(tmp_path: Path) -> None:
    (tmp_path / ".tmp-out.parquet.abc").write_text("x")
    (tmp_path / "keep.parquet").write_text("y")
    assert remove_stale_temporaries(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.parquet"]


def test_move_atomic_puts_a_whole_folder_in_place_and_syncs_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assembled = tmp_path / "staging" / "run-1"
    assembled.mkdir(parents=True)
    (assembled / "a.parquet").write_text("a")
    synced: list[int] = []
    real_fsync = pipeline.atomic.os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(pipeline.atomic.os, "fsync", fsync)
    move_atomic(assembled, tmp_path / "delivery" / "run-1")
    assert (tmp_path / "delivery" / "run-1" / "a.parquet").read_text() == "a"
    assert not assembled.exists()
    assert len(synced) == 1  # the new parent folder, so the rename survives a crash
