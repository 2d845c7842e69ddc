"""Re-identification risk beyond k: sdcMicro's individual and global risk.

For each record, ``fk`` counts the records of the extract that match it on the
quasi-identifiers and ``Fk`` the population they stand for (the sum of their sampling weights;
a missing value matches anything, see :mod:`pipeline.disclosure.kanon`). The individual risk
is the probability that a record is correctly re-identified by an intruder who knows its
key, under the negative-binomial model of Benedetti and Franconi (1998), as sdcMicro's
``indivRisk(method = "approx")`` computes it, with ``pk = fk / Fk``::

    fk = 1:   pk / (1 - pk) * log(1 / pk)
    fk = 2:   pk / (1 - pk) - (pk / (1 - pk))^2 * log(1 / pk)
    fk > 2:   pk / (fk - (1 - pk))
    fk = Fk:  1 / fk          (the extract is the population: no sampling protects it)

Without weights the extract is taken as the whole population, so the risk is ``1 / fk``. The
expected number of re-identifications is the sum of individual risks (sdcMicro's
``risk$global$risk_ER``) and the global risk their mean (``risk$global$risk``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.disclosure.errors import ReidentificationRiskExceeded, TableSpecError
from pipeline.disclosure.kanon import frequency_counts
from pipeline.disclosure.settings import RiskLimits


@dataclass(frozen=True)
class RiskReport:
    """Re-identification risk of an extract: counts and risks only, never values."""

    records: int
    expected_reidentifications: float
    global_risk: float
    max_individual_risk: float
    records_above_limit: int
    limits: RiskLimits

    @property
    def within_limits(self) -> bool:
        limits = self.limits
        too_many = (
            limits.max_expected_reidentifications is not None
            and self.expected_reidentifications > limits.max_expected_reidentifications
        )
        return not too_many and self.records_above_limit == 0

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "expected_reidentifications": self.expected_reidentifications,
            "global_risk": self.global_risk,
            "max_individual_risk": self.max_individual_risk,
            "records_above_limit": self.records_above_limit,
            "limits": self.limits.model_dump(),
        }


def individual_risk(
    df: pl.DataFrame, quasi_identifiers: Sequence[str], *, weight: str | None = None
) -> pl.DataFrame:
    """``df`` with ``fk``, ``Fk`` and ``risk`` (Float64) per record; see the module docstring.

    Weights must be present and at least 1 (a record stands for itself at least)."""
    if not quasi_identifiers:
        raise TableSpecError("re-identification risk needs at least one quasi-identifier")
    if weight is not None:
        if weight not in df.columns:
            raise TableSpecError(f"columns not in the data: [{weight!r}]")
        if not df.schema[weight].is_numeric():
            raise TableSpecError(f"weight column {weight!r} is {df.schema[weight]}, not numeric")
        bad = df.select((pl.col(weight).is_null() | (pl.col(weight) < 1)).sum()).item()
        if bad:
            raise TableSpecError(f"weight column {weight!r} is missing or below 1 in {bad} rows")
    counted = frequency_counts(df, quasi_identifiers, weight=weight)
    return counted.with_columns(_risk(pl.col("fk").cast(pl.Float64), pl.col("Fk")).alias("risk"))


def _risk(fk: pl.Expr, big_fk: pl.Expr) -> pl.Expr:
    pk = fk / big_fk
    odds = pk / (1 - pk)
    log_inv = (1 / pk).log()
    return (
        pl.when(fk >= big_fk)
        .then(1 / fk)
        .when(fk == 1)
        .then(odds * log_inv)
        .when(fk == 2)
        .then(odds - odds.pow(2) * log_inv)
        .otherwise(pk / (fk - (1 - pk)))
    )


def assess_risk(
    df: pl.DataFrame, quasi_identifiers: Sequence[str], limits: RiskLimits | None = None
) -> RiskReport:
    """Individual and global risk of ``df`` against ``limits`` (no limits: report only)."""
    limits = limits or RiskLimits()
    risk = individual_risk(df, quasi_identifiers, weight=limits.weight).get_column("risk")
    return risk_report(risk, limits)


def risk_report(risk: pl.Series, limits: RiskLimits) -> RiskReport:
    """The report of records with individual risks ``risk`` (:func:`individual_risk`)."""
    above = 0
    if limits.max_individual_risk is not None:
        # A tolerance, so that 1/k against a limit of 1/k is not "above" by rounding.
        above = int((risk > limits.max_individual_risk * (1 + 1e-12)).sum())
    total = exact_sum(risk)
    return RiskReport(
        records=risk.len(),
        expected_reidentifications=total,
        global_risk=total / risk.len() if risk.len() else 0.0,
        max_individual_risk=float(risk.max()) if risk.len() else 0.0,  # type: ignore[arg-type]
        records_above_limit=above,
        limits=limits,
    )


def exact_sum(values: pl.Series) -> float:
    """The correctly rounded sum of ``values`` whatever their order, so a rerun's manifest is
    byte-identical. Unweighted risks take few distinct values (1/fk): each is then summed
    once, times its count, in exact integer arithmetic (Python's int / int rounds
    correctly); otherwise :func:`math.fsum`, also correctly rounded: the same result."""
    counted = values.value_counts(name="n")
    if counted.height > _FEW_DISTINCT:
        return math.fsum(values.to_list())
    ratios = [(float(v).as_integer_ratio(), int(n)) for v, n in counted.iter_rows()]
    scale = max((den for (_, den), _ in ratios), default=1)  # powers of two: a multiple of all
    return sum(num * (scale // den) * n for (num, den), n in ratios) / scale


_FEW_DISTINCT = 100_000


def check_risk(
    df: pl.DataFrame, quasi_identifiers: Sequence[str], limits: RiskLimits
) -> RiskReport:
    """:func:`assess_risk`, failing closed: raises :class:`ReidentificationRiskExceeded`
    (exit code 3) when the extract is above either limit."""
    return fail_above_limits(assess_risk(df, quasi_identifiers, limits))


def fail_above_limits(report: RiskReport) -> RiskReport:
    """``report``, or :class:`ReidentificationRiskExceeded` when it is above its limits."""
    if not report.within_limits:
        limits = report.limits
        raise ReidentificationRiskExceeded(
            expected=report.expected_reidentifications,
            max_expected=limits.max_expected_reidentifications,
            records_above=report.records_above_limit,
            max_individual=limits.max_individual_risk,
        )
    return report
