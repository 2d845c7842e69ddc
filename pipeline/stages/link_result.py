"""What a linker hands back to the link stage (the contract between the two, kept apart so
neither imports the other)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl


@dataclass(frozen=True)
class LinkResult:
    """What a linker made of the records: ``clusters`` (``_uid``, ``cluster``), the scored
    ``pairs`` (``_uid_l``, ``_uid_r``, ``match_probability``, at or above ``review``; see
    :mod:`pipeline.review`), the thresholds it used (probabilities, ``match`` resolved when
    the spec says ``auto``), ``counts`` for the manifest, and ``training_warnings`` when the
    engine lists its training problems itself (None: the link stage reads them from the
    ``linkage`` log), and ``diagnostics`` for the report (model, training passes, weight
    histograms: :mod:`pipeline.stages.link_diagnostics`; JSON-ready, no record values)."""

    clusters: pl.DataFrame
    pairs: pl.DataFrame
    match: float
    review: float
    counts: Mapping[str, int] = field(default_factory=dict)
    training_warnings: tuple[str, ...] | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
