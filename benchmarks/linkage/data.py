"""Benchmark data: generate once per (size, seed), prepare identically for all tools, cache.

Every tool reads the same prepared Parquet files: ``record_id``, the link fields (trimmed,
lower-cased, postcode upper-cased, blanks as null, dob as ISO text) and ``dob_year`` for
blocking. Heavier cleaning is left to each tool, as a user would.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.linkage.runner_io import built_folder
from benchmarks.linkage.spec import ID_COLUMN, LINK_FIELDS
from benchmarks.linkage.standin_generator import generate_person_pair_standin

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
OVERLAP = 0.8


@dataclass(frozen=True)
class Dataset:
    """Paths of one prepared, cached benchmark dataset."""

    directory: Path
    n_left: int
    n_right: int
    seed: int
    source: str

    @property
    def left(self) -> Path:
        return self.directory / "left.parquet"

    @property
    def right(self) -> Path:
        return self.directory / "right.parquet"

    @property
    def truth(self) -> Path:
        return self.directory / "truth.parquet"

    def read_truth(self) -> pl.DataFrame:
        return pl.read_parquet(self.truth)


def _as_polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    return pl.from_pandas(frame) if hasattr(frame, "to_numpy") else pl.DataFrame(frame)


Generator = Callable[..., Any]


def project_generator() -> Generator | None:
    """``synthetic.generate_person_pair`` if it is importable, else ``None``."""
    try:
        module = importlib.import_module("synthetic")
        generate: Generator = module.generate_person_pair
    except (ImportError, AttributeError):
        return None
    return generate


def data_source() -> str:
    return "synthetic" if project_generator() is not None else "standin"


def generate_raw(
    n_left: int, n_right: int, *, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, str]:
    """Return raw ``(left, right, truth, source)`` from the project generator, else the stand-in."""
    generate = project_generator()
    if generate is None:
        logger.warning("synthetic not importable: using the STAND-IN generator")
        left, right, truth = generate_person_pair_standin(
            n_left, n_right, overlap=OVERLAP, seed=seed
        )
        return left, right, truth, "standin"
    result = generate(n_left, n_right, overlap=OVERLAP, seed=seed)
    left, right, truth = (_as_polars(x) for x in tuple(result)[:3])
    return left, right, truth, "synthetic"


def normalise_truth(truth: pl.DataFrame) -> pl.DataFrame:
    """Rename the generator's pair columns to ``id_l``/``id_r`` (first two columns by default)."""
    if {"id_l", "id_r"} <= set(truth.columns):
        return truth.select("id_l", "id_r")
    candidates = [c for c in truth.columns if "id" in c.lower()] or truth.columns
    if len(candidates) < 2:
        raise ValueError(f"truth table needs two id columns, has {truth.columns}")
    return truth.select(pl.col(candidates[0]).alias("id_l"), pl.col(candidates[1]).alias("id_r"))


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Shared light cleaning and the derived blocking column ``dob_year``."""
    missing = [c for c in (ID_COLUMN, *LINK_FIELDS) if c not in frame.columns]
    if missing:
        raise ValueError(f"generated data lacks columns {missing}")
    exprs: list[pl.Expr] = [pl.col(ID_COLUMN)]
    for col in LINK_FIELDS:
        dtype = frame.schema[col]
        if col == "dob" and dtype in (pl.Date, pl.Datetime):
            expr = pl.col(col).dt.strftime("%Y-%m-%d")
        else:
            expr = pl.col(col).cast(pl.String).str.strip_chars()
            expr = expr.str.to_uppercase() if col == "postcode" else expr.str.to_lowercase()
        exprs.append(pl.when(expr == "").then(None).otherwise(expr).alias(col))
    out = frame.select(exprs)
    year = pl.col("dob").str.extract(r"^(\d{4})-", 1)
    return out.with_columns(year.alias("dob_year"))


def dataset_dir(root: Path, n_left: int, n_right: int, seed: int, source: str) -> Path:
    """Cache folder; the source is part of the name so stand-in data is never reused."""
    tag = "standin" if source == "standin" else "synthetic"
    return root / f"persons_{n_left}x{n_right}_seed{seed}_{tag}"


def ensure_dataset(
    n_left: int, n_right: int, *, seed: int, root: Path = DEFAULT_DATA_DIR
) -> Dataset:
    """Load the cached dataset or generate, prepare and cache it (written atomically)."""
    directory = dataset_dir(root, n_left, n_right, seed, data_source())
    meta_path = directory / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return Dataset(directory, n_left, n_right, seed, meta["source"])
    started = time.perf_counter()
    left, right, truth, source = generate_raw(n_left, n_right, seed=seed)
    with built_folder(directory) as tmp:
        prepare(left).write_parquet(tmp / "left.parquet")
        prepare(right).write_parquet(tmp / "right.parquet")
        normalise_truth(truth).write_parquet(tmp / "truth.parquet")
        meta = {
            "source": source,
            "n_left": n_left,
            "n_right": n_right,
            "seed": seed,
            "overlap": OVERLAP,
            "generation_seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return Dataset(directory, n_left, n_right, seed, source)
