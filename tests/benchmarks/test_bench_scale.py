"""bench_scale's per-stage memory: the peak RSS sampled between the log lines of each phase."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from benchmarks.bench_scale import (
    Executor,
    bench_scale_parser,
    dask_options,
    executors,
    fresh_run_folders,
    growth,
    phase_peaks,
    same_outputs,
)

LOG = """\
2026-12-04 20:45:50,000 INFO    pipeline.run_stages: run-1: stage ingest started
2026-12-04 20:45:51,500 INFO    linkage.training: estimated u from 10 random pairs
2026-12-04 20:45:52,000 INFO    pipeline.run_stages: run-1: stage link started
2026-12-04 20:45:55,000 INFO    pipeline.run_stages: run-1: registering the batch's records
run-1: 10 rows in (a summary line without a time stamp)
"""


def at(seconds: float) -> float:
    return datetime(2026, 12, 4, 20, 45, 50).timestamp() + seconds


def test_each_phase_gets_the_peak_of_its_own_samples(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(LOG, encoding="utf-8")
    mib = 2**20
    timeline = [(at(-1), 99 * mib), (at(0.5), 3 * mib), (at(1.9), 5 * mib), (at(2), 7 * mib)]
    timeline += [(at(4), 2 * mib), (at(6), 4 * mib)]
    assert phase_peaks(log, timeline) == {"ingest": 5.0, "link": 7.0, "register": 4.0}


def test_growth_compares_the_largest_finished_size_with_the_smallest() -> None:
    def size(rows: int, wall: float, rss: float, code: int = 0) -> dict[str, object]:
        first = {"exit_code": code, "wall_seconds": wall, "peak_rss_mib": rss}
        return {"rows_per_source": rows, "first": first}

    sizes = [size(1, 10.0, 100.0), size(5, 60.0, 300.0), size(10, 0.0, 900.0, code=-9)]
    assert growth(sizes) == {"rows_factor": 5.0, "wall_factor": 6.0, "peak_rss_factor": 3.0}
    assert growth(sizes[:1]) == {}


def test_a_run_killed_before_it_logged_a_phase_has_no_phase_peaks(tmp_path: Path) -> None:
    samples = [(1.0, 2**20)]
    (tmp_path / "empty.log").write_text("")
    assert phase_peaks(tmp_path / "empty.log", samples) == {}
    assert phase_peaks(tmp_path / "never-written.log", samples) == {}


def test_dask_options_go_to_the_dask_runs_only() -> None:
    args = ["--executors", "local,dask", "--workers", "4", "--no-processes"]
    args += ["--memory-limit", "4GiB"]
    parsed = bench_scale_parser().parse_args(args)
    runs = executors(parsed.executors, dask_options(parsed))
    assert runs == [
        Executor("local"),
        Executor("dask", ("--workers", "4", "--no-processes", "--memory-limit", "4GiB")),
    ]


def test_outputs_are_compared_by_every_delivered_checksum() -> None:
    def run(sha: str, code: int = 0) -> dict[str, object]:
        outputs = {"a.parquet": {"sha256": sha, "rows": 3}, "q.parquet": {"sha256": "q"}}
        return {"exit_code": code, "outputs": outputs}

    assert same_outputs([run("x"), run("x")]) is True
    assert same_outputs([run("x"), run("y")]) is False
    assert same_outputs([run("x"), {"exit_code": -9}]) is None  # killed: nothing delivered
    assert same_outputs([run("x")]) is None


def test_the_next_executor_starts_from_fresh_folders_and_the_first_file(tmp_path: Path) -> None:
    for name in ("work/registry", "state", "delivery/run-1", "keystore", "hospital"):
        (tmp_path / name).mkdir(parents=True)
    for name in ("episodes-1.csv", "episodes-2.csv"):
        (tmp_path / "hospital" / name).write_text("x")
    fresh_run_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hospital", "keystore"]
    assert [p.name for p in (tmp_path / "hospital").iterdir()] == ["episodes-1.csv"]
