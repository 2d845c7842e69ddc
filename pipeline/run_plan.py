"""What ``pprl run --dry-run`` reports: the files a run would process now and their rows,
found without locking, linking or writing anything.

>>> plan = plan_run(load_config("configs/demo.yaml"))  # doctest: +SKIP
>>> plan.rows                                            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.config import PipelineConfig, SourceConfig
from pipeline.errors import DataError
from pipeline.runner import pending_files


@dataclass(frozen=True)
class PlannedFile:
    """One input file a run would process: its source, path (as the run records it), size
    in bytes and data rows (the header not counted)."""

    source: str
    path: str
    size: int
    rows: int


@dataclass(frozen=True)
class RunPlan:
    """The files a run would process now, out of ``files_seen`` current input files."""

    files_seen: int
    files: list[PlannedFile]
    linkage_mode: str

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "dry_run",
            "files_seen": self.files_seen,
            "files_to_process": len(self.files),
            "rows_to_process": self.rows,
            "linkage_mode": self.linkage_mode,
            "files": [vars(f) for f in self.files],
        }

    def lines(self) -> list[str]:
        head = (
            f"dry run: {len(self.files)} of {self.files_seen} input file(s) to process, "
            f"{self.rows} row(s); linkage {self.linkage_mode}; nothing was linked or written"
        )
        return [head, *(f"  {f.source}: {f.path} ({f.rows} rows)" for f in self.files)]


def plan_run(config: PipelineConfig, *, reprocess: bool = False) -> RunPlan:
    """What ``run_pipeline(config, reprocess=reprocess)`` would take on now."""
    seen, pending = pending_files(config, reprocess=reprocess)
    sources = {s.name: s for s in config.sources}
    planned = [
        PlannedFile(f.source, f.path, f.size, count_rows(config.resolve(f.path), sources[f.source]))
        for f in pending
    ]
    return RunPlan(len(seen), planned, config.linkage.mode)


def count_rows(path: Path, source: SourceConfig) -> int:
    """Data rows of one input file, read only to be counted (bad rows included: the run
    quarantines them)."""
    try:
        if source.format == "parquet":
            frame = pl.scan_parquet(path).select(pl.len()).collect()
        else:
            scan = pl.scan_csv(
                path,
                separator=source.delimiter,
                infer_schema=False,
                encoding="utf8-lossy",
                truncate_ragged_lines=True,
            )
            frame = scan.select(pl.len()).collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path.name}: cannot count its rows ({type(exc).__name__})") from None
    return int(frame.item())
