"""``check_table``: build a table from microdata, check it, treat it, and say whether it is safe;
``check_counts`` does the same for a frequency table that is already counted.

Order of treatment: primary suppression of failing cells; secondary suppression until the LP
audit finds no exposed cell (additive statistics only: count and sum); then rounding or
cell-key perturbation of the published values. With cell-key perturbation, a non-empty cell
whose perturbed count is below the threshold is then withheld as well (a primary
suppression), as ONS's ``cell_key_perturbation`` does. These late suppressions are not audited
(their true counts are at least the threshold, and margins are perturbed too); they only widen
what can be inferred about the cells suppressed earlier. Review cells (single-record
statistics) are published only when ``accept_review`` is set; otherwise they are suppressed too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from pipeline.disclosure.cellkey import KEYS, PerturbationTable, resolve_ptable
from pipeline.disclosure.errors import TableSpecError
from pipeline.disclosure.recovery import CellInterval, audit_suppression, coverage_matrix
from pipeline.disclosure.recovery import secondary_suppression as run_secondary
from pipeline.disclosure.rounding import round_nearest, round_random
from pipeline.disclosure.settings import TableCheckSettings
from pipeline.disclosure.tables import (
    TableSpec,
    build_cells,
    build_cells_from_counts,
    primary_checks,
)

logger = logging.getLogger(__name__)

Verdict = Literal["pass", "review", "fail"]
BuiltFrom = Literal["microdata", "counts"]
NOT_CHECKED_FROM_COUNTS = ("p% dominance", "(n,k) dominance")


@dataclass(frozen=True)
class TableCheckResult:
    """Cells with status, reasons and treatment; ``published`` is null where suppressed.

    ``built_from`` says what the cells were built from (``"microdata"`` or ``"counts"``, a
    pre-aggregated frequency table); ``not_checked`` lists rules that the source could not
    support and that were therefore not applied."""

    spec: TableSpec
    settings: TableCheckSettings
    cells: pl.DataFrame
    audit: dict[str, list[CellInterval]]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    built_from: BuiltFrom = "microdata"
    not_checked: tuple[str, ...] = ()

    @property
    def safe(self) -> bool:
        """True when the treated table may be released (review accepted counts as safe)."""
        return self.verdict == "pass" or (self.verdict == "review" and self.settings.accept_review)

    def published_table(self) -> pl.DataFrame:
        """The treated table: the group-by columns, ``n`` suppressed with the value, and the
        published value. Nothing withheld is included."""
        name: str = self.spec.statistic
        if self.spec.variable is not None:
            name = f"{self.spec.statistic}_{self.spec.variable}"
        columns = [pl.col(c) for c in self.spec.by]
        if self.spec.variable is not None:
            columns.append(pl.col("n_published").alias("n"))
        columns += [pl.col("published").alias(name), pl.col("suppression")]
        return self.cells.select(columns)


def check_table(
    df: pl.DataFrame,
    spec: TableSpec,
    settings: TableCheckSettings | None = None,
    *,
    ptable: PerturbationTable | None = None,
) -> TableCheckResult:
    """Check and treat ``spec`` built from microdata ``df``; see the module docstring.

    ``ptable`` overrides ``settings.ptable`` with a p-table already built or loaded.
    """
    s = settings or TableCheckSettings()
    table: PerturbationTable | None = None
    if s.cell_key_column is not None:
        if spec.statistic != "count":
            raise TableSpecError("cell-key perturbation applies to count tables only")
        if s.rounding != "none":
            raise TableSpecError("choose rounding or cell-key perturbation, not both")
        table = ptable or resolve_ptable(s.ptable)
    cells = build_cells(
        df, spec, nk_n=s.nk_n, record_key=s.cell_key_column,
        key_range=KEYS if table is None else table.keys,
    )  # fmt: skip
    nonnegative = spec.variable is None or bool(
        df.select(
            (pl.col(spec.variable).cast(pl.Float64).fill_nan(None).min() >= 0).fill_null(True)
        ).item()
    )
    whole = spec.statistic == "sum" and df.schema[str(spec.variable)].is_integer()
    return _treat(cells, spec, s, table, nonnegative=nonnegative, whole=whole)


def check_counts(
    counts: pl.DataFrame,
    spec: TableSpec,
    settings: TableCheckSettings | None = None,
    *,
    count_column: str = "count",
) -> TableCheckResult:
    """Check and treat a frequency table that is already counted (one row per cell: the
    ``spec.by`` columns and ``count_column``); see
    :func:`~pipeline.disclosure.tables.build_cells_from_counts`.

    The same checks and treatments as :func:`check_table` on the microdata the counts came
    from: threshold and zeros, secondary suppression with the LP audit against margins
    computed from the cells, rounding. Dominance rules need each record's contribution and
    the cell-key method each record's key, so neither is possible: dominance is reported as
    not checked, and cell-key perturbation raises :class:`TableSpecError`.
    """
    s = settings or TableCheckSettings()
    if s.cell_key_column is not None:
        raise TableSpecError(
            "cell-key perturbation needs each record's key: check the microdata instead"
        )
    cells = build_cells_from_counts(counts, spec, count_column=count_column)
    note = (
        "pre-aggregated counts: margins computed from the cells; dominance (p% and (n,k)) "
        "needs record-level contributions and was not checked"
    )
    return _treat(
        cells, spec, s, None, nonnegative=True, built_from="counts", notes=[note],
        not_checked=NOT_CHECKED_FROM_COUNTS,
    )  # fmt: skip


def _treat(
    cells: pl.DataFrame,
    spec: TableSpec,
    s: TableCheckSettings,
    table: PerturbationTable | None,
    *,
    nonnegative: bool,
    built_from: BuiltFrom = "microdata",
    notes: list[str] | None = None,
    not_checked: tuple[str, ...] = (),
    whole: bool = False,
) -> TableCheckResult:
    """Primary checks, suppression, audit and rounding or perturbation of built cells.
    ``whole``: the statistic is a sum of integers, published as integers like counts."""
    cells = primary_checks(cells, spec, s)
    status = cells.get_column("status").to_numpy()
    primary = (status == "fail") | ((status == "review") & (not s.accept_review))
    suppressed = primary.copy()
    notes = list(notes or [])
    audit: dict[str, list[CellInterval]] = {}
    if spec.margins and primary.any():
        suppressed, audit = _protect(cells, spec, s, primary, nonnegative)
    exposed = any(c.exposed for intervals in audit.values() for c in intervals)
    values = cells.get_column("value").to_numpy().astype(float)
    # Rounding and perturbation apply to counts and sums; a rounded mean or median means little.
    published = _apply(values, cells, s, table) if spec.additive else values
    n_published = (
        published
        if spec.statistic == "count"
        else _apply(cells.get_column("n").to_numpy().astype(float), cells, s, table, offset=1)
    )
    if table is not None:
        notes.append(f"cell-key perturbation with p-table {table.source}")
        late = ~suppressed & (cells.get_column("n").to_numpy() > 0) & (published < s.threshold)
        if late.any():
            cells = _fail_late(cells, late, s.threshold)
            primary, suppressed = primary | late, suppressed | late
    secondary = suppressed & ~primary
    suppression = np.where(primary, "primary", np.where(secondary, "secondary", ""))
    # Counts and sums of integers are whole numbers (rounded or perturbed ones too): publish
    # them as integers.
    value_type = pl.Int64 if spec.statistic == "count" or whole else pl.Float64
    cells = cells.with_columns(
        pl.Series("suppression", suppression),
        _withheld("published", published, suppressed).cast(value_type),
        _withheld("n_published", n_published, suppressed).cast(pl.Int64),
    )
    verdict: Verdict = "pass"
    if exposed:
        verdict = "fail"
        notes.append("suppressed cells are recoverable from published cells and margins")
    elif s.accept_review and (status == "review").any():
        verdict = "review"
    logger.info(
        "table %s: %d cells, %d primary and %d secondary suppressions, verdict %s",
        spec.label, cells.height, int(primary.sum()), int(secondary.sum()), verdict,
    )  # fmt: skip
    return TableCheckResult(spec, s, cells, audit, verdict, notes, built_from, not_checked)


def _protect(
    cells: pl.DataFrame,
    spec: TableSpec,
    s: TableCheckSettings,
    primary: npt.NDArray[np.bool_],
    nonnegative: bool,
) -> tuple[npt.NDArray[np.bool_], dict[str, list[CellInterval]]]:
    """Audit (and with ``secondary``, extend) the suppression pattern against margins.

    Counts are audited for every statistic, as cell counts are published or implied. For sums
    and means the sums are audited too: a published mean times its published count is a sum.
    The two audits alternate until neither adds a suppression.
    """
    measures = {"n": True}
    if spec.statistic in ("sum", "mean"):
        measures["total"] = nonnegative
    pattern = primary.copy()
    audit: dict[str, list[CellInterval]] = {}
    cover = coverage_matrix(cells, spec.by)
    while True:
        before = pattern.copy()
        for column, nonneg in measures.items():
            if s.secondary:
                pattern, audit[column] = run_secondary(
                    cells, spec.by, pattern, nonnegative=nonneg,
                    protection_interval=s.protection_interval, value_column=column,
                )  # fmt: skip
            else:
                audit[column] = audit_suppression(
                    cover, cells.get_column(column).to_numpy().astype(float), pattern,
                    nonnegative=nonneg, protection_interval=s.protection_interval,
                )  # fmt: skip
        if (pattern == before).all():
            return pattern, audit


def _apply(
    values: npt.NDArray[np.float64],
    cells: pl.DataFrame,
    s: TableCheckSettings,
    ptable: PerturbationTable | None,
    offset: int = 0,
) -> npt.NDArray[np.float64]:
    if ptable is not None:
        keys = cells.get_column("cell_key").to_numpy()
        return ptable.perturb(values.astype(np.int64), keys).astype(float)
    if s.rounding == "nearest":
        return round_nearest(values, s.rounding_base)
    if s.rounding == "random":
        return round_random(values, s.rounding_base, seed=s.seed + offset)
    return values


def _withheld(
    name: str, values: npt.NDArray[np.float64], suppressed: npt.NDArray[np.bool_]
) -> pl.Series:
    return pl.Series(name, np.where(suppressed, np.nan, values)).fill_nan(None)


def _fail_late(cells: pl.DataFrame, late: npt.NDArray[np.bool_], threshold: int) -> pl.DataFrame:
    """Mark cells whose perturbed count fell below the threshold as failing, with the reason."""
    flag = pl.Series("late", late)
    reason = pl.when(flag).then(pl.lit(f"threshold: perturbed count below {threshold}"))
    return cells.with_columns(
        pl.when(flag).then(pl.lit("fail")).otherwise(pl.col("status")).alias("status"),
        pl.concat_list([pl.col("reasons"), reason.otherwise(None)]).list.drop_nulls(),
    )
