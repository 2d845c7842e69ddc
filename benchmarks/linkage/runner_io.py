"""What every tool runner shares: its command line, its phase clock and its result files.

A runner is a fresh interpreter (``python -m benchmarks.linkage.run_<tool> --data D --out O``)
that reads the prepared Parquet in ``D`` and writes ``O/pairs.parquet`` (``id_l``, ``id_r``,
``match_probability`` for pairs at or above ``MIN_WRITTEN_PROBABILITY``, and ``match_weight``
where the tool has one) and ``O/result.json``
(versions, phase seconds, pairs scored, the tool's own threshold). The parent measures wall
time and peak RSS of the whole process and computes the metrics.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PAIRS_FILE = "pairs.parquet"
RESULT_FILE = "result.json"
VERSIONED_PACKAGES = (
    "pprl",
    "splink",
    "recordlinkage",
    "duckdb",
    "polars",
    "pandas",
    "numpy",
    "pyarrow",
    "jellyfish",
    "sqlglot",
)


def package_versions() -> dict[str, str]:
    """Versions of the packages that matter to the benchmark, as installed in this interpreter."""
    found = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


@dataclass
class RunnerArgs:
    data: Path
    out: Path
    seed: int
    memory_limit: str | None
    #: columns Splink's second EM session blocks on besides dob (none: dob alone)
    dob_em_with: tuple[str, ...] = ()
    #: Splink's predict in left x right chunks (num_chunks_left/right); () for one pass
    predict_chunks: tuple[int, ...] = ()


def parse_args(description: str, argv: list[str] | None = None) -> RunnerArgs:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset directory")
    parser.add_argument("--out", type=Path, required=True, help="directory for pairs and result")
    parser.add_argument("--seed", type=int, default=0, help="seed for any sampling the tool does")
    parser.add_argument(
        "--memory-limit", default=None, help="DuckDB memory_limit for tools that take one, e.g. 8GB"
    )
    parser.add_argument(
        "--dob-em-with",
        default="",
        help="Splink: columns its date-of-birth EM session also blocks on, comma-separated "
        "(a dob-only block spills tens of GB at 3M x 3M)",
    )
    parser.add_argument(
        "--predict-chunks",
        default="",
        metavar="LEFTxRIGHT",
        help="Splink: predict in chunks of each input, e.g. 4x2 (its own memory management)",
    )
    ns = parser.parse_args(argv)
    ns.out.mkdir(parents=True, exist_ok=True)
    with_ = tuple(c.strip() for c in ns.dob_em_with.split(",") if c.strip())
    chunks = tuple(int(n) for n in ns.predict_chunks.split("x")) if ns.predict_chunks else ()
    return RunnerArgs(ns.data, ns.out, ns.seed, ns.memory_limit, with_, chunks)


@dataclass
class RunRecord:
    """Everything a runner reports besides its pairs file."""

    tool: str
    phases: dict[str, float] = field(default_factory=dict)
    pairs_scored: int | None = None
    threshold: float | None = None  # the tool's own (automatic) threshold, if it has one
    notes: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of the run (load, train, predict, write) in seconds; its start is
        written to stderr at once, so a run stopped from outside shows where it was."""
        print(
            f"{time.strftime('%H:%M:%S')} {self.tool}: {name} started", file=sys.stderr, flush=True
        )
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(time.perf_counter() - started, 3)

    def write(self, out: Path) -> None:
        payload = {
            "tool": self.tool,
            "versions": package_versions(),
            "phases": self.phases,
            "pairs_scored": self.pairs_scored,
            "threshold": self.threshold,
            "notes": self.notes,
        }
        (out / RESULT_FILE).write_text(json.dumps(payload, indent=2))


@contextmanager
def built_folder(directory: Path) -> Iterator[Path]:
    """A temporary folder beside ``directory`` to write into; on success it replaces
    ``directory`` with one rename, on failure it is removed (a killed build leaves no
    half-written dataset where a later run would read it)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    try:
        yield tmp
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
