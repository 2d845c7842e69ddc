"""Generated business register and incoming records, cached as Parquet.

``register.parquet`` (``synthetic.generate_register``), ``incoming.parquet`` and
``truth.parquet`` (``generate_incoming``: ``incoming_id, entref`` for records about register
enterprises). Cached under ``benchmarks/data/`` by size and seed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)

DATA_ROOT = Path(__file__).resolve().parents[1] / "data"


def dataset_dir(n_register: int, n_incoming: int, seed: int) -> Path:
    return DATA_ROOT / f"business_{n_register}x{n_incoming}_seed{seed}"


def ensure_dataset(n_register: int, n_incoming: int, seed: int) -> tuple[Path, float]:
    """The dataset directory (generated on first use) and the seconds generation took."""
    from synthetic.businesses import generate_incoming, generate_register

    directory = dataset_dir(n_register, n_incoming, seed)
    if (directory / "truth.parquet").exists():
        return directory, 0.0
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    register = generate_register(n_register, seed=seed)
    register.write_parquet(directory / "register.parquet")
    incoming, truth = generate_incoming(register, n_incoming, seed=seed + 1)
    incoming.write_parquet(directory / "incoming.parquet")
    truth.write_parquet(directory / "truth.parquet")
    seconds = time.perf_counter() - started
    logger.info("generated %s in %.1f s", directory.name, seconds)
    return directory, seconds
