"""A stage's output on disk: Parquet parts in one folder, complete once its index is written.

Stages read and write a batch part by part (one part per chunk of an input file), so no stage
holds a whole batch of records. Part names sort in the batch's row order: sources in config
order, each source's files by name, each file's chunks in row order. The index
(``parts.json``: each part's name, source and row count, and the stage's facts) is written
last, so a folder without it is an unfinished stage, which a resumed run starts again.
Executor tasks receive part paths, never frames, so records travel between workers as files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.atomic import private_dir, write_text_atomic, write_with_atomic

INDEX = "parts.json"


@dataclass(frozen=True)
class Part:
    """One Parquet file of a stage's output: its name, the source its rows come from (every
    row of a part comes from one input file) and its row count."""

    name: str
    source: str
    rows: int


class PartSet:
    """The parts of one stage's output in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def is_complete(self) -> bool:
        return (self.folder / INDEX).is_file()

    def start(self) -> None:
        """Empty the folder for a fresh attempt at the stage (owner-only, as the work folder)."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        private_dir(self.folder)

    def path(self, name: str) -> Path:
        return self.folder / name

    def write(self, name: str, frame: pl.DataFrame) -> Path:
        """Write one part (or side file) atomically."""
        path = self.path(name)
        write_with_atomic(path, frame.write_parquet)
        return path

    def finish(self, parts: Iterable[Part], facts: Mapping[str, Any] | None = None) -> None:
        """Record the stage as complete: its parts, in order, and its facts (JSON-ready)."""
        listed = [{"name": p.name, "source": p.source, "rows": p.rows} for p in parts]
        document = {"parts": listed, "facts": dict(facts or {})}
        write_text_atomic(self.folder / INDEX, json.dumps(document, indent=1) + "\n")

    def _index(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
        return document

    def parts(self, source: str | None = None) -> list[Part]:
        """The parts in row order (only ``source``'s when given)."""
        listed = [Part(p["name"], p["source"], int(p["rows"])) for p in self._index()["parts"]]
        return [p for p in listed if source is None or p.source == source]

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = self._index()["facts"]
        return facts

    def read(self, part: Part, columns: Sequence[str] | None = None) -> pl.DataFrame:
        return pl.read_parquet(self.path(part.name), columns=list(columns) if columns else None)

    def scan(self, parts: Sequence[Part]) -> pl.LazyFrame:
        """The given parts (one source's: they share a schema) as one lazy frame, in order."""
        if not parts:
            raise ValueError("no parts to scan")
        return pl.scan_parquet([self.path(p.name) for p in parts])

    def schema(self, source: str) -> pl.Schema:
        """The columns of ``source``'s parts (every part of a source has the same)."""
        first = self.parts(source)[0]
        return pl.read_parquet_schema(self.path(first.name))  # type: ignore[return-value]
