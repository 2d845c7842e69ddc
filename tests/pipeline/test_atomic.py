from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import pipeline.atomic
from pipeline.atomic import (
    atomic_path,
    move_atomic,
    private_dir,
    promote_folder,
    remove_stale_temporaries,
    write_text_atomic,
)


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


def _assembled(root: Path) -> Path:
    folder = root / "work" / "staging" / "run-1"
    folder.mkdir(parents=True)
    (folder / "a.parquet").write_text("a")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.json").write_text("b")
    return folder


def test_promote_folder_renames_on_one_filesystem(tmp_path: Path) -> None:
    folder = _assembled(tmp_path)
    inode = folder.stat().st_ino
    promote_folder(folder, tmp_path / "delivery" / "run-1")
    assert (tmp_path / "delivery" / "run-1").stat().st_ino == inode  # moved, not copied
    assert not folder.exists()


def test_promote_folder_across_filesystems_copies_to_a_hidden_folder_then_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _assembled(tmp_path)
    monkeypatch.setattr(pipeline.atomic, "same_filesystem", lambda a, b: False)
    renamed: list[tuple[str, str]] = []
    real_move = pipeline.atomic.move_atomic

    def move(source: Path, target: Path) -> None:
        renamed.append((Path(source).name, Path(target).name))
        real_move(source, target)

    monkeypatch.setattr(pipeline.atomic, "move_atomic", move)
    os.chmod(folder, 0o750)
    promote_folder(folder, tmp_path / "delivery" / "run-1")
    assert renamed == [(".tmp-run-1", "run-1")]  # the copy is finished before it is visible
    target = tmp_path / "delivery" / "run-1"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750  # as assembled, once promoted
    assert (target / "a.parquet").read_text() == "a"
    assert (target / "sub" / "b.json").read_text() == "b"
    assert [p.name for p in (tmp_path / "delivery").iterdir()] == ["run-1"]
    assert not folder.exists()


def test_a_promotion_killed_mid_copy_leaves_only_a_hidden_folder_the_next_run_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _assembled(tmp_path)
    monkeypatch.setattr(pipeline.atomic, "same_filesystem", lambda a, b: False)
    copied: list[str] = []
    real_copy = shutil.copy2

    def copy_then_die(source: str, target: str) -> None:
        if copied:
            raise KeyboardInterrupt("killed")
        copied.append(real_copy(source, target))

    monkeypatch.setattr(pipeline.atomic.shutil, "copy2", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        promote_folder(folder, tmp_path / "delivery" / "run-1")
    assert [p.name for p in (tmp_path / "delivery").iterdir()] == [".tmp-run-1"]
    assert folder.exists()  # the assembled delivery stays for the rerun
    assert remove_stale_temporaries(tmp_path / "delivery") == 1
    assert not any((tmp_path / "delivery").iterdir())


def test_private_dir_makes_new_and_existing_folders_owner_only(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    made = private_dir(existing / "a" / "b")
    assert made == existing / "a" / "b"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # not ours to change
    for folder in (existing / "a", existing / "a" / "b"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    private_dir(existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o700


def test_atomic_writes_are_owner_only(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "x.txt", "x")
    assert stat.S_IMODE((tmp_path / "x.txt").stat().st_mode) == 0o600


def test_folders_made_for_a_write_are_as_private_as_the_folder_they_are_in(tmp_path: Path) -> None:
    private, shared = tmp_path / "work", tmp_path / "delivery"
    private_dir(private)
    shared.mkdir()
    os.chmod(shared, 0o755)
    write_text_atomic(private / "review" / "decided" / "r.csv", "x")
    write_text_atomic(shared / "run-1" / "m.json", "x")
    assert stat.S_IMODE((private / "review").stat().st_mode) == 0o700
    assert stat.S_IMODE((private / "review" / "decided").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "run-1").stat().st_mode) == 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
