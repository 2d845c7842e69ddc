"""A curator's review session over one review file: decisions, undo, and the decided file.

Every decision is written at once, atomically, to the *decided file* beside the review file
(``<folder>/decided/<name>``): the review file's rows with ``decision`` filled with ``match`` or
``non-match`` and an ``unsure`` column. That is the format ``--decisions`` reads
(:func:`pipeline.review.decisions.read_decisions`), so a browser closed mid-way loses nothing
and the file can be passed to the next run as it stands. Reopening a review file resumes from
its decided file; a row the decided file does not hold (a pair new to a rewritten review file)
keeps the decision the review file itself gives it, if any.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.errors import DataError
from pipeline.io import read_table
from pipeline.review.decisions import CANDIDATE, DECISION, KEY, NON_MATCH, read_decisions
from pipeline.review.layout import (
    PROBABILITY,
    UNSURE,
    diff_segments,
    differs,
    field_pairs,
    side_labels,
    waterfall_steps,
)

State = Literal["", "match", "non-match", "unsure"]
STATES: tuple[State, ...] = ("", "match", "non-match", "unsure")
DECIDED_DIR = "decided"


def decided_path(review_file: Path) -> Path:
    """Where decisions on ``review_file`` are kept: ``<its folder>/decided/<its name>``."""
    return review_file.parent / DECIDED_DIR / review_file.name


@dataclass
class ReviewSession:
    """The pairs of one review file and the curator's decision on each (thread-safe)."""

    review_file: Path
    decided_file: Path
    rows: pl.DataFrame
    states: list[State]
    _undo: list[tuple[int, State]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, review_file: Path, decided_file: Path | None = None) -> ReviewSession:
        """Read ``review_file`` (its values as text) and any decisions already made on it."""
        rows = read_table(review_file, infer_schema=False)
        missing = [c for c in (KEY, CANDIDATE, DECISION) if c not in rows.columns]
        if missing:
            raise DataError(f"{review_file.name}: not a review file (no {', '.join(missing)})")
        rows = rows.drop(UNSURE, strict=False)
        decided = decided_file or decided_path(review_file)
        states = _earlier_states(rows, review_file)
        if decided.exists():  # the curator's latest word on the rows it holds
            later = _earlier_states(rows, decided)
            held = _pairs_in(decided)
            pairs = rows.select(KEY, CANDIDATE).iter_rows()
            states = [
                new if pair in held else old
                for pair, old, new in zip(pairs, states, later, strict=True)
            ]
        return cls(review_file, decided, rows, states)

    # --- what the page shows ---------------------------------------------------------------
    def progress(self) -> dict[str, int]:
        return {
            "pairs": len(self.states),
            "decided": sum(s in ("match", "non-match") for s in self.states),
            "unsure": sum(s == "unsure" for s in self.states),
        }

    def has_records(self) -> bool:
        """Whether the file holds record values to show side by side (a ``pprl link`` job's
        review file holds them only when asked for them)."""
        return bool(field_pairs(self.rows.columns))

    def view(self) -> dict[str, Any]:
        """Everything the page needs: headings, each pair's fields and levels, progress."""
        left, right = side_labels(self.rows.columns)
        return {
            "review_file": self.review_file.name,
            "decided_file": str(self.decided_file),
            "sides": [left, right],
            "has_records": self.has_records(),
            "pairs": [self._pair(i, row) for i, row in enumerate(self.rows.iter_rows(named=True))],
            "progress": self.progress(),
        }

    def _pair(self, index: int, row: dict[str, Any]) -> dict[str, Any]:
        fields = []
        for pair in field_pairs(self.rows.columns):
            a = row.get(pair.left) if pair.left else None
            b = row.get(pair.right) if pair.right else None
            left, right = diff_segments(a or "", b or "") if differs(a, b) else ([], [])
            fields.append(
                {
                    "label": pair.label,
                    "left": left or ([[a, False]] if a else []),
                    "right": right or ([[b, False]] if b else []),
                    "differs": differs(a, b),
                }
            )
        levels = [
            {"comparison": c[6:], "level": row[c], "weight": row.get(f"weight_{c[6:]}")}
            for c in self.rows.columns
            if c.startswith("level_")
        ]
        return {
            "index": index,
            "key": row[KEY],
            "candidate": row[CANDIDATE],
            "probability": row.get(PROBABILITY),
            "fields": fields,
            "levels": levels,
            "has_waterfall": any(c.startswith("weight_") for c in self.rows.columns),
            "state": self.states[index],
        }

    def waterfall(self, index: int) -> pl.DataFrame:
        """The pair's waterfall rows (empty when the file has no weights)."""
        self._check(index)
        return waterfall_steps(self.rows.row(index, named=True), self.rows.columns)

    # --- deciding --------------------------------------------------------------------------
    def decide(self, index: int, state: str) -> None:
        """Record ``state`` for pair ``index`` and save the decided file."""
        self._check(index)
        if state not in STATES:
            raise ValueError("a decision is match, non-match, unsure or empty")
        with self._lock:
            previous = self.states[index]
            if previous == state:
                return
            self._undo.append((index, previous))
            self.states[index] = state
            self._save()

    def undo(self) -> int | None:
        """Take back the last decision; returns its pair's index (None if nothing to undo)."""
        with self._lock:
            if not self._undo:
                return None
            index, previous = self._undo.pop()
            self.states[index] = previous
            self._save()
            return index

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self.states):
            raise IndexError("no such pair")

    def _save(self) -> None:
        decisions = [s if s in ("match", "non-match") else "" for s in self.states]
        frame = self.rows.with_columns(
            pl.Series(DECISION, decisions, dtype=pl.String),
            pl.Series(UNSURE, ["yes" if s == "unsure" else "" for s in self.states]),
        )
        write_with_atomic(self.decided_file, frame.write_csv)


def _pairs_in(path: Path) -> set[tuple[str, str]]:
    """The (key, candidate) pairs of a review or decided file's rows."""
    frame = read_table(path, columns=[KEY, CANDIDATE])
    return set(frame.iter_rows())


def _earlier_states(rows: pl.DataFrame, source: Path) -> list[State]:
    """Each row's decision in ``source`` (the decided file, or the review file itself when a
    curator filled some in by hand), unsure marks included."""
    decided = read_decisions(source)
    spelled: dict[str, State] = {NON_MATCH: "non-match", "match": "match"}
    known = {(k, c): spelled[d] for k, c, d in decided.iter_rows()}
    raw = read_table(source, infer_schema=False)
    if UNSURE in raw.columns:
        for k, c, u in raw.select(KEY, CANDIDATE, UNSURE).iter_rows():
            if (u or "").strip().lower() == "yes" and (k, c) not in known:
                known[(k, c)] = "unsure"
    return [known.get((k, c), "") for k, c in rows.select(KEY, CANDIDATE).iter_rows()]
