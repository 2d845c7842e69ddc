"""Scan delivered files for known identifying values (the last check before anything leaves).

Parquet files are compared cell by cell (every column cast to text, exact match), because
compressed column chunks cannot be searched as bytes. Text files (JSON, HTML, CSV, logs) are
searched for every value as a substring at once (:func:`count_substrings`); values shorter
than ``min_text_length`` are only matched in Parquet cells, since short names ("LEE") occur
inside ordinary words.

A finding names the file and column and how many values matched, never the values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

TEXT_SUFFIXES = {".json", ".jsonl", ".html", ".csv", ".txt", ".log", ".yaml", ".yml", ".md"}


@dataclass(frozen=True)
class Finding:
    """Identifying values found in one file (and column, for Parquet)."""

    path: Path
    column: str | None
    matches: int

    def describe(self) -> str:
        where = f"{self.path}" + (f" column '{self.column}'" if self.column else "")
        return f"{where}: {self.matches} known identifying value(s)"


def known_values(frame: pl.DataFrame, columns: Iterable[str]) -> set[str]:
    """Distinct non-empty text forms of ``columns`` (dates as ISO), for :func:`scan_paths`."""
    values: set[str] = set()
    for column in columns:
        if column not in frame.columns:
            continue
        texts = frame.get_column(column).cast(pl.Utf8).drop_nulls().str.strip_chars()
        values.update(v for v in texts.unique().to_list() if v)
    return values


def scan_paths(
    paths: Iterable[str | os.PathLike[str]], values: set[str], *, min_text_length: int = 6
) -> list[Finding]:
    """Every file under ``paths`` (files or folders) checked for any of ``values``."""
    findings: list[Finding] = []
    long_values = [v for v in values if len(v) >= min_text_length]
    for file in _files(paths):
        if file.suffix == ".parquet":
            findings.extend(_scan_parquet(file, values))
        elif file.suffix in TEXT_SUFFIXES:
            text = file.read_text(encoding="utf-8", errors="replace")
            hits = count_substrings(text, long_values)
            if hits:
                findings.append(Finding(file, None, hits))
    return findings


def count_substrings(text: str, values: list[str]) -> int:
    """How many of ``values`` occur in ``text`` (overlapping occurrences included).

    One Aho-Corasick pass (polars' ``extract_many``) rather than one search per value: a
    report of a few hundred kilobytes against a few hundred thousand known values takes under
    a second, not a minute."""
    if not values or not text:
        return 0
    found = pl.Series([text]).str.extract_many(values, overlapping=True)
    return found.explode().drop_nulls().n_unique()


def _scan_parquet(file: Path, values: set[str]) -> list[Finding]:
    frame = pl.read_parquet(file)
    wanted = sorted(values)
    findings = []
    for column in frame.columns:
        texts = frame.get_column(column).cast(pl.Utf8, strict=False).drop_nulls().unique()
        hits = int(texts.is_in(wanted).sum())
        if hits:
            findings.append(Finding(file, column, hits))
    return findings


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.is_file():
            out.append(p)
    return out
