from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.atomic import atomic_path, remove_stale_temporaries, write_text_atomic


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
