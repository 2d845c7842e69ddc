"""The hard dataset on disk: generated once per (sizes, seed) and cached as Parquet.

``register.parquet``, ``incoming.parquet``, ``truth.parquet`` (one row per incoming record)
and ``register_truth.parquet`` under ``benchmarks/data/business_hard_<R>x<I>_seed<S>/``. The
directory is written under a temporary name and renamed, so a cache is never half written.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from benchmarks.business.hard import generate

logger = logging.getLogger(__name__)

DATA_ROOT = Path(__file__).resolve().parents[2] / "data"
FILES = ("register", "incoming", "truth", "register_truth")


def dataset_dir(n_register: int, n_incoming: int, seed: int) -> Path:
    return DATA_ROOT / f"business_hard_{n_register}x{n_incoming}_seed{seed}"


def ensure_hard_dataset(n_register: int, n_incoming: int, seed: int) -> tuple[Path, float]:
    """The dataset directory (generated on first use) and the seconds generation took."""
    directory = dataset_dir(n_register, n_incoming, seed)
    if all((directory / f"{name}.parquet").exists() for name in FILES):
        return directory, 0.0
    started = time.perf_counter()
    data = generate(n_register, n_incoming, seed)
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in FILES:
        getattr(data, name).write_parquet(partial / f"{name}.parquet")
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    seconds = time.perf_counter() - started
    logger.info("generated %s in %.1f s", directory.name, seconds)
    return directory, seconds
