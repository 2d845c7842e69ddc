"""k-anonymity (and distinct l-diversity) over quasi-identifiers, sdcMicro style.

Semantics of missing values (as sdcMicro's ``freqCalc``): a missing quasi-identifier matches any
value. Record *j* counts towards record *i* when, for every quasi-identifier, both are equal or
either is missing. ``fk`` is the number of such records (including *i*), ``Fk`` the sum of their
weights. So a record missing a value can have a larger ``fk`` than any complete record, and
the relation is not transitive: matching sets overlap rather than partition the data.

Work is done on distinct combinations (with their record counts) rather than records, by
:mod:`pipeline.disclosure.matching`.

Setting a quasi-identifier to null can only enlarge every record's matching set, so suppressions
decided together never undo each other; local suppression relies on this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from pipeline.disclosure import matching as m
from pipeline.disclosure.errors import SuppressionBudgetExceeded, TableSpecError
from pipeline.disclosure.generalise import Ladder
from pipeline.disclosure.settings import KAnonymitySettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KAnonymityReport:
    """What anonymisation did: counts only, never values."""

    k: int
    records: int
    unsafe_before: int
    unsafe_after: int
    levels: dict[str, str]
    suppressed: dict[str, int]
    records_suppressed: int
    l_diversity: int | None = None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "records": self.records,
            "unsafe_before": self.unsafe_before,
            "unsafe_after": self.unsafe_after,
            "levels": dict(self.levels),
            "suppressed_per_variable": dict(self.suppressed),
            "records_suppressed": self.records_suppressed,
            "l_diversity": self.l_diversity,
            "steps": list(self.steps),
        }


def frequency_counts(
    df: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    *,
    weight: str | None = None,
    sensitive: m.Sensitive = None,
) -> pl.DataFrame:
    """Return ``df`` with ``fk`` (UInt32) and ``Fk`` (Float64) columns, and ``l`` when
    ``sensitive`` is given (distinct non-null sensitive values among the matching records; the
    smallest over the sensitive attributes when there are several)."""
    qis = m.check_columns(df, quasi_identifiers, weight, sensitive)
    records, combos = m.tagged_combinations(df, qis, weight, sensitive)
    stats = m.assess(combos, combos, qis, sensitive)
    out = records.join(stats, on=m.ID, how="left", maintain_order="left")
    cols = [pl.col("fk").cast(pl.UInt32), pl.col("Fk").cast(pl.Float64)]
    if m.listed(sensitive):
        cols.append(pl.col("l").cast(pl.UInt32))
    return out.select(pl.exclude(m.ID, "fk", "Fk", "l"), *cols)


def count_unsafe(
    df: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    sensitive: m.Sensitive = None,
    l_diversity: int | None = None,
) -> int:
    """Number of records with fewer than ``k`` matches (or fewer than ``l`` sensitive values)."""
    qis = m.check_columns(df, quasi_identifiers, None, sensitive)
    combos = m.combinations(df, qis, None, sensitive)
    stats = m.assess(m.candidates(combos, k, l_diversity), combos, qis, sensitive)
    unsafe = m.unsafe(stats, k, l_diversity)
    joined = combos.join(stats.filter(unsafe), on=m.ID, how="inner")
    return int(joined.get_column(m.N).sum())


def _recoded(
    df: pl.DataFrame, ladders: Mapping[str, Ladder], levels: Mapping[str, int]
) -> pl.DataFrame:
    return df.with_columns([ladders[name].apply(levels[name]) for name in ladders])


def _generalise(
    df: pl.DataFrame,
    qis: list[str],
    ladders: Mapping[str, Ladder],
    unsafe_in: Callable[[pl.DataFrame], int],
    budget: int,
) -> tuple[pl.DataFrame, dict[str, int], list[str], int]:
    """Climb the ladders from their floors, each time taking the one step that leaves the
    fewest unsafe records, until no more records are unsafe than ``budget`` or no step is
    left ("suppressed" levels are never taken). Returns the recoded frame, the levels, a
    line per step taken and the unsafe records at the floors."""
    levels = {name: 0 for name in ladders}
    current = _recoded(df, ladders, levels)
    unsafe = at_floors = unsafe_in(current)
    steps: list[str] = []
    while unsafe > budget:
        best: tuple[int, str, pl.DataFrame] | None = None
        for name in (q for q in qis if q in ladders):
            nxt = levels[name] + 1
            if nxt >= len(ladders[name].levels) or ladders[name].label(nxt) == "suppressed":
                continue
            trial = _recoded(df, ladders, {**levels, name: nxt})
            n_unsafe = unsafe_in(trial)
            if best is None or n_unsafe < best[0]:
                best = (n_unsafe, name, trial)
        if best is None:
            break
        unsafe, name, current = best
        levels[name] += 1
        steps.append(f"{name} -> {ladders[name].label(levels[name])} ({unsafe} unsafe records)")
        logger.info("generalised %s to %s", name, ladders[name].label(levels[name]))
    return current, levels, steps, at_floors


def anonymise(
    df: pl.DataFrame,
    settings: KAnonymitySettings,
    ladders: Mapping[str, Ladder] | None = None,
) -> tuple[pl.DataFrame, KAnonymityReport]:
    """Make ``df`` k-anonymous on ``settings.quasi_identifiers``.

    Every laddered quasi-identifier is first recoded at its floor (level 0). While more records
    are unsafe than the suppression budget allows, the ladder step that leaves the fewest unsafe
    records is taken (ladder levels named ``"suppressed"`` are never taken automatically). Then
    local suppression nulls single quasi-identifiers in the unsafe records. Raises
    :class:`SuppressionBudgetExceeded` (fail closed) when that needs more records than the budget.
    """
    ladders = dict(ladders or {})
    qis = list(settings.quasi_identifiers)
    if not qis:
        raise TableSpecError("k-anonymity needs at least one quasi-identifier")
    unknown = sorted(set(ladders) - set(qis))
    if unknown:
        raise TableSpecError(f"ladders given for non-quasi-identifiers: {unknown}")
    m.check_columns(df, qis, None, settings.sensitive)
    k, lval, sens = settings.k, settings.l_diversity, settings.sensitive
    budget = int(settings.suppression_budget * df.height)

    def unsafe_in(frame: pl.DataFrame) -> int:
        return count_unsafe(frame, qis, k, sensitive=sens, l_diversity=lval)

    current, levels, steps, unsafe_before = _generalise(df, qis, ladders, unsafe_in, budget)
    order = _suppression_order(current, qis, settings.suppression_order)
    result, suppressed, touched = local_suppression(
        current, qis, k, order=order, budget=budget, sensitive=sens, l_diversity=lval
    )
    report = KAnonymityReport(
        k=k,
        records=df.height,
        unsafe_before=unsafe_before,
        unsafe_after=unsafe_in(result),
        levels={name: ladders[name].label(level) for name, level in levels.items()},
        suppressed=suppressed,
        records_suppressed=touched,
        l_diversity=lval,
        steps=steps,
    )
    logger.info(
        "k-anonymity k=%d: %d unsafe records before, %d after; %d records locally suppressed",
        k, report.unsafe_before, report.unsafe_after, touched,
    )  # fmt: skip
    return result, report


def local_suppression(
    df: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    order: Sequence[str] | None = None,
    budget: int | None = None,
    sensitive: m.Sensitive = None,
    l_diversity: int | None = None,
) -> tuple[pl.DataFrame, dict[str, int], int]:
    """Null quasi-identifiers in unsafe records until every record has ``fk >= k``.

    For each variable in ``order`` (first = cheapest to lose), every unsafe record that becomes
    safe by nulling that one variable has it nulled; records that no single variable rescues
    lose the first still-present variable in ``order`` and the search repeats. Returns the
    treated frame, suppressions per variable (in records) and the number of records touched.
    """
    qis = m.check_columns(df, quasi_identifiers, None, sensitive)
    records, combos = m.tagged_combinations(df, qis, None, sensitive)
    search = _Search(combos, qis, k, budget, records.height, sensitive, l_diversity)
    search.run(list(order or qis))
    treated = records.drop(qis).join(
        search.combos.select(m.ID, *qis), on=m.ID, how="left", maintain_order="left"
    )
    return treated.select(df.columns), search.suppressed, search.touched()


def suppressed_members(
    df: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    member: str,
    *,
    order: Sequence[str] | None = None,
) -> dict[str, pl.Series]:
    """:func:`local_suppression` of ``df`` (no budget, no l-diversity), reported per
    quasi-identifier as the ``member`` values of the rows that lost it. Cheaper when only that
    is wanted: rows are grouped once, and never joined back to their treated combination."""
    qis = m.check_columns(df, quasi_identifiers, None, None)
    members = "__members"
    combos = (
        df.lazy()
        .group_by(qis, maintain_order=True)
        .agg(
            pl.len().alias(m.N), pl.len().cast(pl.Float64).alias(m.W), pl.col(member).alias(members)
        )
        .with_row_index(m.ID)
        .collect()
    )  # as matching.combinations, with each combination's members
    search = _Search(combos, qis, k, None, df.height, None, None)
    search.run(list(order or qis))
    lost = {}
    for q in qis:
        hit = combos.get_column(q).is_not_null() & search.combos.get_column(q).is_null()
        lost[q] = combos.filter(hit).get_column(members).explode().alias(member)
    return lost


class _Search:
    """The local-suppression search over distinct combinations (see
    :func:`local_suppression`); ``combos`` holds the treated combinations as it goes."""

    def __init__(
        self,
        combos: pl.DataFrame,
        qis: list[str],
        k: int,
        budget: int | None,
        total: int,
        sensitive: m.Sensitive,
        l_diversity: int | None,
    ) -> None:
        self.combos = combos.with_columns(pl.lit(False).alias("__touched"))
        self.qis, self.k, self.budget, self.total = qis, k, budget, total
        self.sensitive, self.l_diversity = sensitive, l_diversity
        self.suppressed = dict.fromkeys(qis, 0)
        self._parts: tuple[pl.DataFrame, dict[int, pl.DataFrame]] | None = None

    def assess(self, probe: pl.DataFrame) -> pl.DataFrame:
        # The population changes only when values are nulled: partition it once per change.
        if self._parts is None or self._parts[0] is not self.combos:
            self._parts = (self.combos, m.partition(self.combos, self.qis, self.sensitive))
        return m.assess(probe, self.combos, self.qis, self.sensitive, self._parts[1])

    def still_unsafe(self, ids: pl.Series) -> pl.Series:
        if ids.is_empty():
            return ids
        stats = self.assess(self.combos.filter(pl.col(m.ID).is_in(ids.implode())))
        return stats.filter(m.unsafe(stats, self.k, self.l_diversity)).get_column(m.ID)

    def null_out(self, name: str, ids: pl.Series) -> None:
        hit = pl.col(m.ID).is_in(ids.implode())
        self.suppressed[name] += int(self.combos.filter(hit).get_column(m.N).sum())
        self.combos = self.combos.with_columns(
            pl.when(hit).then(None).otherwise(pl.col(name)).alias(name),
            (pl.col("__touched") | hit).alias("__touched"),
        )

    def touched(self) -> int:
        touched = int(self.combos.filter(pl.col("__touched")).get_column(m.N).sum())
        if self.budget is not None and touched > self.budget:
            raise SuppressionBudgetExceeded(touched, self.budget, self.total)
        return touched

    def run(self, order: list[str]) -> None:
        unsafe = self.still_unsafe(
            m.candidates(self.combos, self.k, self.l_diversity).get_column(m.ID)
        )
        while not unsafe.is_empty():
            unsafe = self.rescue_one_at_a_time(unsafe, order)
            self.touched()  # fail as soon as the budget is exceeded
            if unsafe.is_empty():
                break
            self.drop_cheapest(unsafe, order)
            unsafe = self.still_unsafe(unsafe)
        self.touched()

    def rescue_one_at_a_time(self, unsafe: pl.Series, order: list[str]) -> pl.Series:
        """Null each variable in turn where that alone makes a combination safe."""
        for name in order:
            cand = self.combos.filter(
                pl.col(m.ID).is_in(unsafe.implode()) & pl.col(name).is_not_null()
            )
            if cand.is_empty():
                continue
            probe = cand.with_columns(pl.lit(None, dtype=cand.schema[name]).alias(name))
            stats = self.assess(probe)
            rescued = stats.filter(~m.unsafe(stats, self.k, self.l_diversity)).get_column(m.ID)
            if rescued.is_empty():
                continue
            self.null_out(name, rescued)
            # The rescued stay safe (nulls only enlarge matching sets): re-assess the rest.
            unsafe = self.still_unsafe(unsafe.filter(~unsafe.is_in(rescued.implode())))
            if unsafe.is_empty():
                break
        return unsafe

    def drop_cheapest(self, unsafe: pl.Series, order: list[str]) -> None:
        """No single variable rescues these: null the cheapest one each still holds."""
        pending = unsafe
        for name in order:
            ids = self.combos.filter(
                pl.col(m.ID).is_in(pending.implode()) & pl.col(name).is_not_null()
            ).get_column(m.ID)
            if ids.is_empty():
                continue
            self.null_out(name, ids)
            pending = pending.filter(~pending.is_in(ids.implode()))
        if pending.len() == unsafe.len():
            # Every quasi-identifier of these records is already null: the file is too small.
            budget = self.budget if self.budget is not None else self.total
            raise SuppressionBudgetExceeded(self.total, budget, self.total)


def _suppression_order(
    df: pl.DataFrame, qis: Sequence[str], explicit: Sequence[str] | None
) -> list[str]:
    if explicit:
        return [*explicit, *(q for q in qis if q not in explicit)]
    distinct = {q: df.get_column(q).drop_nulls().n_unique() for q in qis}
    return sorted(qis, key=lambda q: (-distinct[q], qis.index(q)))
