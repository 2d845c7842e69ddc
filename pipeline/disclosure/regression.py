"""Regression outputs: ACRO's residual degrees of freedom check, one pass/fail row per model.

A model's residual degrees of freedom are its records minus its estimated parameters. With few
of them the coefficients come close to describing individual records, so ACRO fails a model
whose residual degrees of freedom are below a threshold (``TableCheckSettings.dof_threshold``,
10). Models come as a mapping of name to residual degrees of freedom (:func:`check_models`) or
from a CSV file with columns ``model`` and ``residual_dof`` (:func:`load_models`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.disclosure.columns import describe_rows, whole_numbers
from pipeline.disclosure.errors import ModelOutputError
from pipeline.disclosure.settings import TableCheckSettings
from pipeline.disclosure.tables import Status, check_residual_dof

logger = logging.getLogger(__name__)

MODEL_COLUMNS = ("model", "residual_dof")


@dataclass(frozen=True)
class ModelCheck:
    """One model's outcome: ``status`` is ``"fail"`` when ``residual_dof < threshold``."""

    name: str
    residual_dof: int
    threshold: int
    status: Status

    @property
    def reasons(self) -> list[str]:
        if self.status == "pass":
            return []
        return [f"residual degrees of freedom below {self.threshold}"]


def check_models(
    models: Mapping[str, int], settings: TableCheckSettings | None = None
) -> list[ModelCheck]:
    """Check each model's residual degrees of freedom (a whole number >= 0) against
    ``settings.dof_threshold``; raises :class:`ModelOutputError` listing every bad entry."""
    s = settings or TableCheckSettings()
    problems = []
    for name, dof in models.items():
        if not name.strip():
            problems.append("a model name is empty")
        if isinstance(dof, bool) or not isinstance(dof, int | np.integer) or dof < 0:
            problems.append(
                f"model {name!r}: residual degrees of freedom must be a whole number >= 0"
            )
    if problems:
        raise ModelOutputError(problems)
    checks = [
        ModelCheck(name, int(dof), s.dof_threshold, check_residual_dof(int(dof), s))
        for name, dof in models.items()
    ]
    failed = sum(c.status == "fail" for c in checks)
    logger.info("models: %d checked, %d below %d residual dof", len(checks), failed,
                s.dof_threshold)  # fmt: skip
    return checks


def load_models(path: str | Path) -> dict[str, int]:
    """Read model outputs from a CSV file: one row per model, columns ``model`` (a unique
    name) and ``residual_dof``; other columns are ignored. Errors
    (:class:`ModelOutputError`) name the file, column and rows, never a value."""
    p = Path(path)
    if not p.name.lower().endswith(".csv"):
        raise ModelOutputError("use a .csv file with columns model, residual_dof", source=p.name)
    try:
        frame = pl.read_csv(p, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ModelOutputError(f"cannot read ({type(exc).__name__})", source=p.name) from None
    missing = [c for c in MODEL_COLUMNS if c not in frame.columns]
    if missing:
        raise ModelOutputError(
            f"missing column(s) {missing}; a models file has columns model, residual_dof",
            source=p.name,
        )
    if frame.is_empty():
        raise ModelOutputError("the file lists no models", source=p.name)
    names = frame.get_column("model").str.strip_chars()
    dof, ok = whole_numbers(frame.get_column("residual_dof").str.strip_chars())
    problems = []
    unnamed = (names.is_null() | (names == "")).to_numpy()
    if unnamed.any():
        problems.append(f"model: empty in {describe_rows(unnamed)}")
    repeated = (names.is_duplicated() & ~pl.Series(unnamed)).to_numpy()
    if repeated.any():
        problems.append(f"model: name repeated in {describe_rows(repeated)}")
    if not ok.all():
        problems.append(f"residual_dof: not a whole number in {describe_rows(~ok)}")
    if (ok & (dof < 0)).any():
        problems.append(f"residual_dof: negative in {describe_rows(ok & (dof < 0))}")
    if problems:
        raise ModelOutputError(problems, source=p.name)
    return dict(zip(names.to_list(), (int(d) for d in dof), strict=True))
