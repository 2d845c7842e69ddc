"""The entry points: ``generate`` (library) and ``main`` (command line)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from benchmarks.unseen_business.incoming import build_incoming
from benchmarks.unseen_business.output import write_all
from benchmarks.unseen_business.proportions import Proportions
from benchmarks.unseen_business.register import build_world

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2


class UnseenBusinessError(ValueError):
    """A bad request to the generator (a scale or seed it cannot use)."""


def generate(
    work: Path, *, seed: int = 0, scale: float = 1.0, register_previous_names: bool = False
) -> Path:
    """Writes the data set into ``work/data`` (replacing it whole) and returns that folder;
    ``register_previous_names`` adds the register's ``previous_name`` column (the name a
    company had before it changed it, "" for the others), which is not written by default."""
    if not 0 < scale <= 10:
        raise UnseenBusinessError("scale must be greater than 0 and at most 10")
    if seed < 0:
        raise UnseenBusinessError("seed must be zero or positive")
    proportions = Proportions().scaled(scale)
    started = time.perf_counter()
    world = build_world(proportions, seed)
    records = build_incoming(world)
    destination = work / "data"
    write_all(destination, world, records, seed, previous_names=register_previous_names)
    logger.info(
        "unseen business data: %d register rows, %d incoming records in %.1f s",
        len(world.register),
        len(records),
        time.perf_counter() - started,
    )
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.unseen_business",
        description="Write an unseen business register and incoming records (issue 11).",
        epilog="example: python -m benchmarks.unseen_business "
        "--work benchmarks/data/unseen_business --scale 0.1",
    )
    parser.add_argument("--work", type=Path, required=True, help="folder; data goes to WORK/data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 300k register, 30k in")
    parser.add_argument(
        "--register-previous-names",
        action="store_true",
        help="write each renamed company's previous name into register.parquet (previous_name)",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = generate(
            arguments.work,
            seed=arguments.seed,
            scale=arguments.scale,
            register_previous_names=arguments.register_previous_names,
        )
    except UnseenBusinessError as error:
        parser.print_usage()
        logger.error("error: %s", error)
        return EXIT_CONFIG
    logger.info("written to %s", folder)
    return EXIT_OK
