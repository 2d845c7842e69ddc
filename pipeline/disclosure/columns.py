"""Checks on user-supplied columns (p-tables, record keys, frequency tables, model outputs).

Problems are described by row (data rows counted from 1, header excluded), never by value.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl


def whole_numbers(column: pl.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The column as int64, and which rows hold a whole number (nulls and text do not)."""
    if column.dtype.is_integer():
        ok = column.is_not_null().to_numpy()
        return column.cast(pl.Int64).fill_null(0).to_numpy(), ok
    floats = column.cast(pl.Float64, strict=False).to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < 2**53)
    return np.where(ok, floats, 0).astype(np.int64), ok


def describe_rows(mask: npt.NDArray[np.bool_], show: int = 5) -> str:
    """``"rows 2, 7 and 3 more"``: the first ``show`` rows where ``mask`` holds."""
    rows = np.flatnonzero(mask) + 1
    listed = ", ".join(str(r) for r in rows[:show])
    more = f" and {rows.size - show} more" if rows.size > show else ""
    return f"row{'s' if rows.size > 1 else ''} {listed}{more}"
