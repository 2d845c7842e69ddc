"""Build a table (with margins) from microdata or from a frequency table already counted, and
run the primary disclosure checks on it.

Each cell carries its unweighted record count ``n``, its number of ``contributors`` (records
whose variable is not missing; ``n`` when counting), its statistic ``value``, the contributions
the dominance rules need, and (when records carry keys) its cell key. Categories are text; a
missing category is shown as ``"(missing)"`` and a margin as ``"Total"``.

Missing values of the variable (null, or NaN) contribute nothing: the statistic, the dominance
rules and the threshold of a magnitude table are all computed on the non-missing contributions
alone, as ACRO's pandas aggregations do. A frequency table's threshold counts records.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import polars as pl

from pipeline.disclosure.columns import describe_rows, whole_numbers
from pipeline.disclosure.errors import TableSpecError
from pipeline.disclosure.settings import TableCheckSettings

Statistic = Literal["count", "sum", "mean", "median", "min", "max"]
STATISTICS: tuple[str, ...] = get_args(Statistic)
ADDITIVE: frozenset[str] = frozenset({"count", "sum"})
MAGNITUDE: frozenset[str] = frozenset({"sum", "mean"})
SINGLE_RECORD: frozenset[str] = frozenset({"median", "min", "max"})
TOTAL = "Total"
MISSING = "(missing)"
Status = Literal["pass", "review", "fail"]
IDENTIFIER_LIKE_MIN = 20


@dataclass(frozen=True)
class TableSpec:
    """Group-by variables and one statistic (``variable`` is required unless counting)."""

    by: tuple[str, ...]
    statistic: Statistic = "count"
    variable: str | None = None
    margins: bool = True

    def __post_init__(self) -> None:
        if not self.by:
            raise TableSpecError("a table needs at least one group-by variable")
        if self.statistic not in STATISTICS:
            raise TableSpecError(f"unknown statistic {self.statistic!r}; use one of {STATISTICS}")
        if (self.statistic == "count") != (self.variable is None):
            raise TableSpecError(f"statistic {self.statistic!r} needs exactly one variable")
        if len(set(self.by)) != len(self.by):
            raise TableSpecError("group-by variables repeat")

    @classmethod
    def parse(cls, by: Sequence[str], stat: str, *, margins: bool = True) -> TableSpec:
        """``stat`` is ``count`` or ``<statistic>:<column>``, e.g. ``sum:income``."""
        name, _, variable = stat.partition(":")
        if name not in STATISTICS:
            raise TableSpecError(f"unknown statistic {name!r}; use one of {STATISTICS}")
        return cls(tuple(by), name, variable or None, margins)  # type: ignore[arg-type]

    @property
    def additive(self) -> bool:
        return self.statistic in ADDITIVE

    @property
    def label(self) -> str:
        what = self.statistic if self.variable is None else f"{self.statistic} of {self.variable}"
        return f"{what} by {', '.join(self.by)}"


def build_cells(
    df: pl.DataFrame,
    spec: TableSpec,
    *,
    nk_n: int = 2,
    record_key: str | None = None,
    key_range: int = 256,
) -> pl.DataFrame:
    """One row per cell: interior cells first (the full grid of observed categories, empty
    cells included), then margins. Columns: the ``by`` variables (text), ``interior``, ``n``,
    ``contributors`` (non-missing values of the variable, or ``n`` when counting),
    ``negatives`` (negative contributions), ``distinct`` (distinct non-missing values),
    ``value``, ``total`` (sum of the variable, or ``n`` when counting), ``top1``, ``top2``,
    ``topn``, ``abs_total`` (all from non-missing contributions) and, with
    ``record_key``, ``cell_key`` (sum of record keys mod ``key_range``: 256, the p-table's
    cell keys, for UInt8 record keys; up to 65536 for UInt16 keys below ``key_range``)."""
    needed = [*spec.by, *(c for c in (spec.variable, record_key) if c is not None)]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise TableSpecError(f"columns not in the data: {missing}")
    if spec.variable is not None and not df.schema[spec.variable].is_numeric():
        raise TableSpecError(
            f"column {spec.variable!r} is {df.schema[spec.variable]}, not numeric: a "
            f"{spec.statistic} needs an integer or decimal column (declare its type, or cast it)"
        )
    if record_key is not None:
        _check_record_keys(df, record_key, key_range)
    data = _labelled(df, spec.by)
    if data.is_empty():
        raise TableSpecError("the data has no records")
    aggregations = _aggregations(spec, nk_n, record_key, key_range)
    return _assemble(data, spec, aggregations, records=data.height, record_key=record_key)


def build_cells_from_counts(
    table: pl.DataFrame, spec: TableSpec, *, count_column: str = "count"
) -> pl.DataFrame:
    """The cells :func:`build_cells` gives for a count table, from a frequency table that is
    already counted: one row per interior cell, the ``by`` columns plus ``count_column`` (a
    whole number of records >= 0). Cells not listed are empty; margins are computed from the
    cells, so the table must not hold totals. Each combination of categories appears once.
    Errors name columns and rows (data rows counted from 1), never a count or category."""
    if spec.statistic != "count":
        raise TableSpecError(
            f"a frequency table holds counts; statistic {spec.statistic!r} needs the microdata"
        )
    if count_column in spec.by:
        raise TableSpecError(f"count column {count_column!r} is also a group-by variable")
    missing = [c for c in (*spec.by, count_column) if c not in table.columns]
    if missing:
        raise TableSpecError(f"columns not in the table: {missing}")
    counts, ok = whole_numbers(table.get_column(count_column))
    problems = []
    if not ok.all():
        problems.append(f"null or not a whole number in {describe_rows(~ok)}")
    if (ok & (counts < 0)).any():
        problems.append(f"negative in {describe_rows(ok & (counts < 0))}")
    if problems:
        raise TableSpecError(f"count column {count_column!r}: " + "; ".join(problems))
    data = _labelled(table.select(spec.by), spec.by, counted=True)
    repeated = data.is_duplicated().to_numpy()
    if repeated.any():
        raise TableSpecError(
            f"cells repeat in {describe_rows(repeated)}: each combination of "
            f"{', '.join(spec.by)} must appear once"
        )
    data = data.with_columns(pl.Series(count_column, counts))
    records = int(counts.sum())
    if records == 0:
        raise TableSpecError("the table has no records")
    aggregations = _aggregations(spec, 0, None, count_column=count_column)
    return _assemble(data, spec, aggregations, records=records, record_key=None)


def _labelled(df: pl.DataFrame, by: Sequence[str], *, counted: bool = False) -> pl.DataFrame:
    """Group-by columns as text, a missing category as ``"(missing)"``."""
    for column in by:
        dtype = df.schema[column]
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            raise TableSpecError(
                f"column {column!r} is {dtype}: a group-by column must hold categories (text,"
                " numbers or dates), not lists, structs or bytes"
            )
    data = df.with_columns(pl.col(c).cast(pl.String).fill_null(MISSING).alias(c) for c in by)
    for column in by:
        if data.get_column(column).eq(TOTAL).any():
            hint = " (margins are computed from the cells: leave totals out)" if counted else ""
            raise TableSpecError(f"column {column!r} has a category named {TOTAL!r}{hint}")
    return data


def _assemble(
    data: pl.DataFrame,
    spec: TableSpec,
    aggregations: list[pl.Expr],
    *,
    records: int,
    record_key: str | None,
) -> pl.DataFrame:
    """Aggregate ``data`` over the full grid of its categories, and over every margin."""
    categories = {c: data.get_column(c).unique().sort() for c in spec.by}
    for column, values in categories.items():
        # Category labels are published even for suppressed cells: refuse identifier-like
        # groupings (mostly distinct values) rather than print them.
        if values.len() > max(IDENTIFIER_LIKE_MIN, records // 2):
            raise TableSpecError(
                f"column {column!r} has {values.len()} distinct values in {records} records: "
                "it looks like an identifier, not a grouping"
            )
    subsets = _subsets(spec.by) if spec.margins else [tuple(spec.by)]
    frames = []
    for subset in subsets:
        grid = _grid(categories, subset)
        stats = data.group_by(list(subset)).agg(aggregations)
        if subset:
            cells = grid.join(stats, on=list(subset), how="left", maintain_order="left")
        else:
            cells = stats
        labels = [pl.lit(TOTAL).alias(c) for c in spec.by if c not in subset]
        frames.append(
            cells.with_columns(*labels, pl.lit(len(subset) == len(spec.by)).alias("interior"))
        )
    cells = pl.concat([f.select(_cell_columns(spec, record_key)) for f in frames])
    fills = [pl.col(c).fill_null(0) for c in ("n", "contributors", "negatives", "distinct")]
    if spec.additive:
        fills.append(pl.col("value").fill_null(0.0))
    fills += [pl.col(c).fill_null(0.0) for c in ("total", "top1", "top2", "topn", "abs_total")]
    if record_key is not None:
        fills.append(pl.col("cell_key").fill_null(0))
    return cells.with_columns(fills)


def primary_checks(
    cells: pl.DataFrame, spec: TableSpec, settings: TableCheckSettings
) -> pl.DataFrame:
    """Add ``status`` (pass / review / fail) and ``reasons`` (list of text) to each cell."""
    s = settings
    # A magnitude table's threshold counts contributors (non-missing values), a frequency
    # table's counts records (``contributors`` is ``n`` when counting).
    unit = "records" if spec.variable is None else "contributors"
    occupied = pl.col("n") > 0
    reasons: list[tuple[pl.Expr, str, Status]] = [
        (
            occupied & (pl.col("contributors") < s.threshold),
            f"threshold: fewer than {s.threshold} {unit}",
            "fail",
        ),
    ]
    if s.zeros_are_disclosive:
        reasons.append((pl.col("n") == 0, "zero: no records in cell", "fail"))
    if spec.variable is not None:
        unchecked = occupied & (pl.col("contributors") == 0)
        reasons.append((unchecked, "cannot be checked: every contribution is missing", "review"))
    if spec.statistic in MAGNITUDE:
        reasons += _dominance_reasons(s)
    if spec.statistic in SINGLE_RECORD:
        reasons.append((occupied, f"{spec.statistic} reports a single record's value", "review"))
    reason_list = pl.concat_list(
        [pl.when(cond).then(pl.lit(text)).otherwise(None) for cond, text, _ in reasons]
    ).list.drop_nulls()
    fail = pl.any_horizontal([cond for cond, _, st in reasons if st == "fail"])
    review = pl.any_horizontal(
        [cond for cond, _, st in reasons if st == "review"] or [pl.lit(False)]
    )
    status = pl.when(fail).then(pl.lit("fail")).when(review).then(pl.lit("review"))
    return cells.with_columns(
        status.otherwise(pl.lit("pass")).alias("status"), reason_list.alias("reasons")
    )


def _dominance_reasons(s: TableCheckSettings) -> list[tuple[pl.Expr, str, Status]]:
    """p% and (n,k) on the absolute non-missing contributions; a cell with negative ones is
    also ``review``: dominance is defined for non-negative contributions only, and a sum of
    mixed signs can hide one large value behind a small total."""
    has = (pl.col("contributors") > 0) & (pl.col("abs_total") > 0)
    p_rule = pl.col("abs_total") - pl.col("top1") - pl.col("top2") < s.p_ratio * pl.col("top1")
    # ">=" as ACRO: a cell exactly at k is dominated too.
    nk_rule = pl.col("topn") >= s.nk_k * pl.col("abs_total")
    # ACRO's "all values are the same": a mean or sum then reveals every contribution.
    same = (pl.col("contributors") > 1) & (pl.col("distinct") == 1)
    negative = pl.col("negatives") > 0
    return [
        (has & p_rule, f"p% rule: p={s.p_ratio:g}", "fail"),
        (has & nk_rule, f"nk dominance: n={s.nk_n}, k={s.nk_k:g}", "fail"),
        (same, "all values in the cell are the same", "fail"),
        (negative, "negative contributions: dominance cannot be checked", "review"),
    ]


def check_residual_dof(residual_dof: int, settings: TableCheckSettings | None = None) -> Status:
    """ACRO's regression check: residual degrees of freedom below the threshold fail."""
    threshold = (settings or TableCheckSettings()).dof_threshold
    return "pass" if residual_dof >= threshold else "fail"


def _subsets(by: Sequence[str]) -> list[tuple[str, ...]]:
    # Interior (all variables) first, grand total last.
    return [s for r in range(len(by), -1, -1) for s in itertools.combinations(by, r)]


def _grid(categories: dict[str, pl.Series], subset: Sequence[str]) -> pl.DataFrame:
    grid = pl.DataFrame()
    for column in subset:
        values = categories[column].to_frame()
        grid = values if grid.is_empty() else grid.join(values, how="cross")
    return grid


def _check_record_keys(df: pl.DataFrame, record_key: str, key_range: int) -> None:
    if not 2 <= key_range <= 65536:
        raise TableSpecError("a p-table has between 2 and 65536 cell keys")
    dtype = pl.UInt8 if key_range <= 256 else pl.UInt16
    if df.schema[record_key] != dtype:
        raise TableSpecError(
            f"record key column {record_key!r} must be {dtype} for a p-table with "
            f"{key_range} cell keys"
        )
    nulls = df.get_column(record_key).is_null().to_numpy()
    if nulls.any():
        raise TableSpecError(f"record key column {record_key!r} is null in {describe_rows(nulls)}")
    if key_range not in (256, 65536):
        top = df.get_column(record_key).max()
        if top is not None and int(top) >= key_range:  # type: ignore[arg-type]
            raise TableSpecError(
                f"record key column {record_key!r} has keys above {key_range - 1}, the "
                "p-table's largest cell key"
            )


def _aggregations(
    spec: TableSpec,
    nk_n: int,
    record_key: str | None,
    key_range: int = 256,
    *,
    count_column: str | None = None,
) -> list[pl.Expr]:
    # Rows are records, or (with ``count_column``, counting only) cells of that many records.
    n = pl.len() if count_column is None else pl.col(count_column).sum()
    aggs = [n.alias("n")]
    if spec.variable is None:
        aggs += [n.alias("contributors"), pl.lit(0).alias("negatives")]
        aggs.append(n.cast(pl.Float64).alias("value"))
        aggs += [pl.lit(0.0).alias(c) for c in ("top1", "top2", "topn", "abs_total")]
        aggs.append(pl.lit(0).alias("distinct"))
        aggs.append(n.cast(pl.Float64).alias("total"))
    else:
        # NaN is missing too; nulls are left out of every aggregation below.
        v = pl.col(spec.variable).cast(pl.Float64).fill_nan(None)
        value = {
            "sum": v.sum(),
            "mean": v.mean(),
            "median": v.median(),
            "min": v.min(),
            "max": v.max(),
        }[spec.statistic]
        contributions = v.drop_nulls().abs().sort(descending=True)
        aggs += [
            v.count().alias("contributors"),
            (v < 0).sum().alias("negatives"),
            value.alias("value"),
            contributions.get(0, null_on_oob=True).fill_null(0.0).alias("top1"),
            contributions.get(1, null_on_oob=True).fill_null(0.0).alias("top2"),
            contributions.head(nk_n).sum().alias("topn"),
            v.abs().sum().alias("abs_total"),
            v.drop_nulls().n_unique().alias("distinct"),
            v.sum().alias("total"),
        ]
    if record_key is not None:
        aggs.append(
            (pl.col(record_key).cast(pl.UInt64).sum() % key_range)
            .cast(pl.UInt8 if key_range <= 256 else pl.UInt16)
            .alias("cell_key")
        )
    return aggs


def _cell_columns(spec: TableSpec, record_key: str | None) -> list[pl.Expr]:
    cols = [pl.col(c) for c in spec.by]
    cols.append(pl.col("interior"))
    cols += [pl.col(c).cast(pl.Int64) for c in ("n", "contributors", "negatives", "distinct")]
    cols += [
        pl.col(c).cast(pl.Float64) for c in ("value", "total", "top1", "top2", "topn", "abs_total")
    ]
    if record_key is not None:
        cols.append(pl.col("cell_key"))
    return cols
