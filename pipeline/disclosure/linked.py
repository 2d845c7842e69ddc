"""k-anonymity on the linked view: the files of one delivery, joined as researchers will join them.

Files that share a person key (``person_id``, or any other key column such as a pseudonym) are
joined by researchers; a quasi-identifier class can then be rarer in the join than in any one
file. Here every file's quasi-identifiers are assessed per *unit* across every file, and local
suppression is applied to the unit's rows in each file, so that in any inner join of any
combination of the files on any one key, every joined row matches at least ``k`` distinct key
values (a missing value matches anything, as in :mod:`pipeline.disclosure.kanon`).

Units. Rows connected through any key value form one unit (a person; union-find over every
key). Within one file a unit's quasi-identifiers are made consistent first: a value that
differs between a unit's own rows in one file is suppressed in all of them (two values for one
person are a rare combination in themselves). Each unit then has one value per file and
quasi-identifier, and the views below have one row per unit:

* per file: units with rows in the file, its quasi-identifiers (the file alone);
* per key: units of that key (its distinct values) found in at least two files, with one
  column per (file, quasi-identifier) and a presence flag per file. Presence flags are never
  suppressed, so a unit matches only units found in the same files, and all of those are in
  any join of those files: a class that holds k units in the view holds k key values in the
  join of every subset of its files. Units whose class cannot reach k even with every
  suppressible value removed (e.g. fewer than k persons are in both files) are *unlinked*:
  the key is removed from their rows in the current delivery, so they join nothing.

Earlier deliveries to the same recipient (``earlier``) are part of every view but were
already released: they are never changed. Their quasi-identifiers enter a view as one column
per file and quasi-identifier holding the unit's value, matched as in the join (a missing
value matches anything); where a unit holds two different values of one quasi-identifier in
an earlier file, that file enters as one column holding the unit's set of value tuples,
compared exactly, which is stricter than the join. Units matching fewer than ``k`` units on
these fixed columns and the presence flags are unlinked, until none is left (removing one can
leave another below ``k``).

Suppressions only add missing values, which only enlarge every matching set, so each view
stays k-anonymous while the others are treated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from pipeline.disclosure.errors import (
    SuppressionBudgetExceeded,
    TableSpecError,
    UnsafeTable,
)
from pipeline.disclosure.held import HeldFiles, as_held
from pipeline.disclosure.kanon import count_unsafe
from pipeline.disclosure.linked_views import (
    ROW,
    UNIT,
    Delivery,
    View,
    file_view,
    key_view,
    suppress_view,
    unlink,
)
from pipeline.disclosure.risk import (
    RiskReport,
    assess_risk,
    fail_above_limits,
    individual_risk,
    risk_report,
)
from pipeline.disclosure.settings import KAnonymitySettings, RiskLimits

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkedReport:
    """What linked-view anonymisation did: counts only, never values.

    ``unsafe_after``: units below k per view after treatment (``file:<name>`` for one file,
    ``key:<key>`` for the joins on a key; all 0, or None when not verified: the views are
    safe by construction, and ``verify`` re-checks them at the cost of a second
    :func:`assess_linked`); ``suppressed``: values set missing per file and
    quasi-identifier (in records); ``unlinked``: records whose keys were removed, per file;
    ``records_touched``: records with any suppression or unlinking, per file."""

    k: int
    records: int
    units: int
    unsafe_after: dict[str, int] | None
    suppressed: dict[str, dict[str, int]]
    unlinked: dict[str, int]
    records_touched: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "records": self.records,
            "units": self.units,
            "unsafe_after": None if self.unsafe_after is None else dict(self.unsafe_after),
            "suppressed": {f: dict(c) for f, c in self.suppressed.items()},
            "unlinked": dict(self.unlinked),
            "records_touched": dict(self.records_touched),
        }


def assess_linked(
    frames: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    keys: Sequence[str] = ("person_id",),
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None = None,
) -> dict[str, int]:
    """Units below ``k`` in each view of the linked delivery (see the module docstring), as
    delivered: no consistency suppression is applied first, so a unit whose values differ
    within one file is assessed on its first non-missing values (an estimate, not a bound)."""
    delivery = Delivery(frames, as_held(earlier), quasi_identifiers, keys)
    return _unsafe_per_view(delivery, k)


def anonymise_linked(
    frames: Mapping[str, pl.DataFrame],
    settings: KAnonymitySettings,
    *,
    keys: Sequence[str] = ("person_id",),
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None = None,
    verify: bool = True,
) -> tuple[dict[str, pl.DataFrame], LinkedReport]:
    """Make every join of ``frames`` (and of ``earlier`` deliveries, left unchanged) on any of
    ``keys`` k-anonymous on ``settings.quasi_identifiers`` by consistent local suppression and
    unlinking; see the module docstring. Returns the treated frames (same columns and rows, in
    the same order) and a report. Raises :class:`SuppressionBudgetExceeded` when more than
    ``settings.suppression_budget`` of the current records would be touched, and (with
    ``verify``) :class:`UnsafeTable` if a view is still below k afterwards (a bug: fail
    closed rather than deliver). The check as delivered is :func:`assess_linked`."""
    delivery = _delivery(frames, settings.quasi_identifiers, keys, earlier)
    report = _treat(delivery, settings)
    if verify:
        report = _verified(report, _unsafe_per_view(delivery, settings.k))
    return delivery.result(), report


def _delivery(
    frames: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
    keys: Sequence[str],
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None,
) -> Delivery:
    if not quasi_identifiers:
        raise TableSpecError("k-anonymity needs at least one quasi-identifier")
    return Delivery(frames, as_held(earlier), quasi_identifiers, keys)


def _treat(delivery: Delivery, settings: KAnonymitySettings) -> LinkedReport:
    """Treat ``delivery`` in place (see :func:`anonymise_linked`); the report is not yet
    verified (``unsafe_after`` None)."""
    k = settings.k
    touched = {n: pl.Series(ROW, [], pl.UInt32) for n in delivery.current}
    suppressed = {n: dict.fromkeys(delivery.qis[n], 0) for n in delivery.current}
    unlinked = dict.fromkeys(delivery.current, 0)
    _make_consistent(delivery, suppressed, touched)
    order = settings.suppression_order
    for key in delivery.keys:
        view = unlink(delivery, key_view(delivery, key), key, k, unlinked, touched)
        suppress_view(delivery, view, k, order, suppressed, touched)
    for name in delivery.current:
        if delivery.qis[name]:
            suppress_view(delivery, file_view(delivery, name), k, order, suppressed, touched)
    counts = {n: t.n_unique() for n, t in touched.items()}
    budget = int(settings.suppression_budget * delivery.rows())
    if sum(counts.values()) > budget:
        raise SuppressionBudgetExceeded(sum(counts.values()), budget, delivery.rows())
    logger.info(
        "linked k-anonymity k=%d over %d files: %d records touched, %d unlinked",
        k, len(delivery.current), sum(counts.values()), sum(unlinked.values()),
    )  # fmt: skip
    return LinkedReport(
        k=k,
        records=delivery.rows(),
        units=delivery.units(),
        unsafe_after=None,
        suppressed=suppressed,
        unlinked=unlinked,
        records_touched=counts,
    )


def _verified(report: LinkedReport, after: dict[str, int]) -> LinkedReport:
    if any(after.values()):
        raise UnsafeTable(f"linked view still below k after treatment: {after}")
    return replace(report, unsafe_after=after)


def _make_consistent(
    delivery: Delivery,
    suppressed: dict[str, dict[str, int]],
    touched: dict[str, pl.Series],
) -> None:
    """Suppress a value in all of a unit's rows of a file where those rows disagree."""
    for name in delivery.current:
        spread = delivery.spread(name)
        for q in delivery.qis[name]:
            units = spread.filter(pl.col(q)).get_column(UNIT)
            if units.is_empty():
                continue
            rows = delivery.suppress(name, q, units)
            suppressed[name][q] += rows.len()
            touched[name] = pl.concat([touched[name], rows])


def linked_risk(
    frames: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
    limits: RiskLimits | None = None,
    *,
    keys: Sequence[str] = ("person_id",),
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None = None,
) -> dict[str, RiskReport]:
    """Re-identification risk of each view of the linked delivery (``file:<name>``,
    ``key:<key>``), one unit (person) per row: the risk of a unit is 1/fk over the units it
    matches (weights do not carry across files), the expected re-identifications their sum.
    Limits are reported against, not enforced; see :func:`check_linked_risk`."""
    limits = _unweighted(limits or RiskLimits())
    delivery = Delivery(frames, as_held(earlier), quasi_identifiers, keys)
    return {name: assess_risk(view.frame, view.qis, limits) for name, view in _views(delivery)}


def _unweighted(limits: RiskLimits) -> RiskLimits:
    if limits.weight is not None:
        raise TableSpecError("the linked view counts persons: risk.weight does not apply to it")
    return limits


def check_linked_risk(
    frames: Mapping[str, pl.DataFrame],
    quasi_identifiers: Sequence[str],
    limits: RiskLimits,
    *,
    keys: Sequence[str] = ("person_id",),
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None = None,
) -> dict[str, RiskReport]:
    """:func:`linked_risk`, failing closed: raises :class:`ReidentificationRiskExceeded`
    (exit code 3) for the first view above a limit."""
    reports = linked_risk(frames, quasi_identifiers, limits, keys=keys, earlier=earlier)
    for report in reports.values():
        fail_above_limits(report)
    return reports


def protect_linked(
    frames: Mapping[str, pl.DataFrame],
    settings: KAnonymitySettings,
    *,
    keys: Sequence[str] = ("person_id",),
    earlier: Mapping[str, pl.DataFrame] | HeldFiles | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, object]]:
    """What the de-identify stage runs on a delivery: :func:`anonymise_linked`, then the
    re-identification risk of every view as delivered (what :func:`check_linked_risk` of the
    treated frames gives), failing closed above ``settings.risk``'s limits. The views are
    built once, from the treated delivery, for both the k check and the risk. Returns the
    treated frames and a summary for the manifest (counts and risks only)."""
    limits = _unweighted(settings.risk)
    delivery = _delivery(frames, settings.quasi_identifiers, keys, earlier)
    report = _treat(delivery, settings)
    treated = delivery.result()
    delivery.as_delivered()
    after = {f"key:{key}": 0 for key in delivery.keys}
    risks = {}
    for name, view in _views(delivery):
        counted = individual_risk(view.frame, view.qis)
        after[name] = int((counted.get_column("fk") < settings.k).sum())
        risks[name] = risk_report(counted.get_column("risk"), limits)
    report = _verified(report, after)
    for risk in risks.values():
        fail_above_limits(risk)
    return treated, {
        "linked_k_anonymity": report.to_dict(),
        "linked_risk": {view: r.to_dict() for view, r in risks.items()},
    }


def _views(delivery: Delivery) -> list[tuple[str, View]]:
    views = [(f"file:{n}", file_view(delivery, n)) for n in delivery.current if delivery.qis[n]]
    views += [(f"key:{key}", key_view(delivery, key)) for key in delivery.keys]
    return [(name, view) for name, view in views if view.frame.height]


def _unsafe_per_view(delivery: Delivery, k: int) -> dict[str, int]:
    out = {f"key:{key}": 0 for key in delivery.keys}
    for name, view in _views(delivery):
        out[name] = count_unsafe(view.frame, view.qis, k)
    return out
