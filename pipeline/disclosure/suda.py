"""SUDA special uniques: minimal sample uniques and SUDA scores (Elliot et al.; sdcMicro's
``suda2`` with ``original_scores = TRUE``).

A record is a *sample unique* on a set S of quasi-identifiers when no other record shares its
values on S; S is a *minimal sample unique* (MSU) for it when it is unique on S but on no
proper subset of S. Small MSUs are the dangerous ones: a record unique on its age alone is
re-identified by anyone who knows that age. With M quasi-identifiers, each MSU of size k adds
(M - k)! to the record's SUDA score; a record with no MSU (up to ``max_size``) scores 0.

A missing value is a category of its own here (sdcMicro codes it as a value, -999). Work is
one group count per subset of at most ``max_size`` quasi-identifiers (sum over k of C(M, k)).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from pipeline.disclosure.errors import TableSpecError


def suda_scores(
    df: pl.DataFrame, quasi_identifiers: Sequence[str], *, max_size: int | None = None
) -> pl.DataFrame:
    """Per record: ``suda_score`` (Float64) and ``msu_min`` (size of its smallest minimal sample
    unique, null when it has none up to ``max_size``; default: every size)."""
    qis = list(quasi_identifiers)
    missing = [c for c in qis if c not in df.columns]
    if missing:
        raise TableSpecError(f"columns not in the data: {missing}")
    if not qis:
        raise TableSpecError("SUDA needs at least one quasi-identifier")
    top = len(qis) if max_size is None else max_size
    if not 1 <= top <= len(qis):
        raise TableSpecError(f"max_size must be between 1 and {len(qis)}")
    unique: dict[frozenset[str], npt.NDArray[np.bool_]] = {}
    score = np.zeros(df.height)
    smallest = np.full(df.height, np.nan)
    for size in range(1, top + 1):
        for subset in itertools.combinations(qis, size):
            here = df.select((pl.len().over(subset) == 1).alias("u")).to_series().to_numpy()
            key = frozenset(subset)
            unique[key] = here
            minimal = here.copy()
            if size > 1:
                for part in itertools.combinations(subset, size - 1):
                    minimal &= ~unique[frozenset(part)]
            score += minimal * math.factorial(len(qis) - size)
            smallest = np.where(minimal & np.isnan(smallest), size, smallest)
    return pl.DataFrame(
        {
            "suda_score": score,
            "msu_min": pl.Series(smallest).fill_nan(None).cast(pl.UInt8),
        }
    )
