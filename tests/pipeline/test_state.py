from __future__ import annotations

from pathlib import Path

from pipeline.state import FileRecord, StateCatalogue


def test_files_count_as_delivered_only_after_their_run_finishes(tmp_path: Path) -> None:
    catalogue = StateCatalogue(tmp_path / "state.duckdb")
    a = FileRecord("hospital", "in/a.csv", "aa" * 32, 10)
    b = FileRecord("hospital", "in/b.csv", "bb" * 32, 20)
    assert catalogue.delivered([a, b]) == set()
    catalogue.start_run("run-1", "cc" * 32, [a])
    assert catalogue.delivered([a, b]) == set()  # in progress is not done
    catalogue.finish_run("run-1")
    assert catalogue.delivered([a, b]) == {(a.path, a.sha256)}
    files = catalogue.files()
    assert files == [
        {
            "source": "hospital",
            "path": "in/a.csv",
            "sha256": "aa" * 32,
            "size": 10,
            "run_id": "run-1",
            "status": "delivered",
        }
    ]
    assert [r["status"] for r in catalogue.runs()] == ["delivered"]


def test_changed_content_at_the_same_path_is_new(tmp_path: Path) -> None:
    catalogue = StateCatalogue(tmp_path / "state.duckdb")
    old = FileRecord("s", "in/a.csv", "11" * 32, 1)
    catalogue.start_run("run-1", "x", [old])
    catalogue.finish_run("run-1")
    new = FileRecord("s", "in/a.csv", "22" * 32, 1)
    assert catalogue.delivered([new]) == set()


def test_restarting_a_run_is_allowed(tmp_path: Path) -> None:
    catalogue = StateCatalogue(tmp_path / "state.duckdb")
    f = FileRecord("s", "a", "33" * 32, 1)
    catalogue.start_run("run-1", "x", [f])
    catalogue.start_run("run-1", "x", [f])  # a rerun after a crash
    catalogue.finish_run("run-1")
    assert len(catalogue.files()) == 1 and len(catalogue.runs()) == 1
