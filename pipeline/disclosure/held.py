"""What a recipient already holds, as the linked views read it (:mod:`pipeline.disclosure.linked`).

The earlier files enter every view unchanged. A caller that keeps a summary of them may pass
only the rows that can meet the current delivery: whole units (connected through key values
across every earlier file) sharing a key value with it. Units that share none never enter a
view (a view holds units found in a current file); two figures still depend on the files as
a whole, and come with the rows: how many units were left out (``units_elsewhere``, for the
report's unit count) and, per file, the keys under which one key value holds two different
values of a quasi-identifier anywhere in the file (``varying``: it decides how the file
enters a view, :func:`pipeline.disclosure.linked_views.key_view`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class HeldFiles:
    """Earlier files (all of them, or the part of them a summary found relevant).

    ``varying``: per file, the keys under which the whole file has a key value with two
    different values of a quasi-identifier; None (or a file it does not list) means the frames
    are whole and it is computed from them. ``units_elsewhere``: units of the earlier files
    left out of ``frames``."""

    frames: Mapping[str, pl.DataFrame]
    varying: Mapping[str, frozenset[str]] | None = None
    units_elsewhere: int = 0

    def is_varying(self, name: str, key: str) -> bool | None:
        """Whether file ``name`` varies under ``key`` (None: compute it from the frame)."""
        if self.varying is None or name not in self.varying:
            return None
        return key in self.varying[name]


def as_held(earlier: Mapping[str, pl.DataFrame] | HeldFiles | None) -> HeldFiles:
    """Whole earlier files as :class:`HeldFiles` (a :class:`HeldFiles` as it is)."""
    if isinstance(earlier, HeldFiles):
        return earlier
    return HeldFiles(dict(earlier or {}))


def varying_keys(frame: pl.DataFrame, keys: Sequence[str], qis: Sequence[str]) -> frozenset[str]:
    """The ``keys`` of ``frame`` under which a key value holds two different (non-missing)
    values of one of ``qis``: the test :func:`~pipeline.disclosure.linked_views.key_view`
    applies to a whole earlier file."""
    out = set()
    for key in keys:
        if key not in frame.columns or not qis:
            continue
        keyed = frame.lazy().filter(pl.col(key).is_not_null())
        spread = keyed.group_by(key).agg(pl.col(q).drop_nulls().n_unique() for q in qis)
        if spread.select(pl.max_horizontal(qis).max()).collect().item() not in (None, 0, 1):
            out.add(key)
    return frozenset(out)
