"""The views of a linked delivery that :mod:`pipeline.disclosure.linked` keeps k-anonymous, and
the treatments that act on them (consistent local suppression, unlinking)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.disclosure.errors import TableSpecError
from pipeline.disclosure.held import HeldFiles, varying_keys
from pipeline.disclosure.kanon import frequency_counts, suppressed_members

UNIT, ROW, _KEY, _SPREAD = "__unit", "__row", "__key", "__spread"
# Separators of the earlier files' value tuples; no printable value contains them.
_NULL, _FIELD, _TUPLE = "\x00", "\x1f", "\x1e"


class Delivery:
    """The current files (tagged with row and unit ids) and the earlier ones, never changed
    (``held``: all of them, or the rows of them that can meet the current files)."""

    def __init__(
        self,
        frames: Mapping[str, pl.DataFrame],
        held: HeldFiles,
        quasi_identifiers: Sequence[str],
        keys: Sequence[str],
    ) -> None:
        earlier = held.frames
        self.held = held
        clash = sorted(set(frames) & set(earlier))
        if clash:
            raise TableSpecError(f"file names used for both current and earlier files: {clash}")
        if not keys:
            raise TableSpecError("the linked view needs at least one key column")
        self.keys = list(keys)
        self.qis = {n: [q for q in quasi_identifiers if q in f.columns] for n, f in frames.items()}
        self.old_qis = {
            n: [q for q in quasi_identifiers if q in f.columns] for n, f in earlier.items()
        }
        for name, frame in {**frames, **earlier}.items():
            reserved = [c for c in frame.columns if c.startswith("__")]
            if reserved:
                raise TableSpecError(f"file {name!r}: column names starting '__' are reserved")
        tagged = {n: f.with_row_index(ROW) for n, f in {**frames, **earlier}.items()}
        tagged = _with_key_codes(tagged, self.keys)
        tagged = _with_qi_codes(tagged, quasi_identifiers)
        self.original = dict(frames)
        units = _units(tagged, self.keys)
        self.current = {n: tagged[n].with_columns(units[n].alias(UNIT)) for n in frames}
        self.earlier = {n: tagged[n].with_columns(units[n].alias(UNIT)) for n in earlier}
        self.columns = {n: f.columns for n, f in frames.items()}
        self._per_unit: dict[str, pl.DataFrame] = {}
        self._spread: dict[str, pl.DataFrame] = {}
        self.unlinked_units = {n: pl.Series(UNIT, [], pl.Int64) for n in frames}

    def per_unit(self, name: str) -> pl.DataFrame:
        """One row per unit of current file ``name``: ``UNIT`` and the unit's value of each
        quasi-identifier (the largest non-missing one; after :meth:`make_consistent` the
        only one). Kept up to date by :meth:`suppress`."""
        if name not in self._per_unit:
            self._summarise(name, with_spread=False)
        return self._per_unit[name]

    def spread(self, name: str) -> pl.DataFrame:
        """``UNIT`` and, per quasi-identifier, whether the unit's rows in ``name`` disagree."""
        if name not in self._spread:
            self._summarise(name, with_spread=True)
        return self._spread[name]

    def _summarise(self, name: str, *, with_spread: bool) -> None:
        frame, qis = self.current[name], self.qis[name]
        if not qis:
            self._per_unit[name] = frame.select(UNIT).unique()
            self._spread[name] = pl.DataFrame(schema={UNIT: pl.Int64})
            return
        if frame.get_column(UNIT).n_unique() == frame.height:
            self._per_unit[name] = frame.select(UNIT, *qis)
            self._spread[name] = pl.DataFrame(
                schema={UNIT: pl.Int64, **dict.fromkeys(qis, pl.Boolean)}
            )
            return
        # Lazy, and one pass: about 40% faster than an eager aggregation on 600k rows.
        differ = (pl.col(qis).max() != pl.col(qis).min()).fill_null(False).name.prefix(_SPREAD)
        aggregations = [pl.col(qis).max(), *([differ] if with_spread else [])]
        stats = frame.lazy().group_by(UNIT).agg(aggregations).collect()
        self._per_unit.setdefault(name, stats.select(UNIT, *qis))  # kept if already treated
        if not with_spread:
            return
        spread = [pl.col(f"{_SPREAD}{q}").alias(q) for q in qis]
        self._spread[name] = stats.select(UNIT, *spread).filter(pl.any_horizontal(qis))

    def suppress(self, name: str, q: str, units: pl.Series) -> pl.Series:
        """Set ``q`` missing in every row of ``units`` in file ``name``; returns the rows
        that lost a value."""
        frame = self.current[name]
        hit = pl.col(UNIT).is_in(units.implode())
        rows = frame.filter(hit & pl.col(q).is_not_null()).get_column(ROW)
        self.current[name] = frame.with_columns(
            pl.when(hit).then(None).otherwise(pl.col(q)).alias(q)
        )
        if name in self._per_unit:
            self._per_unit[name] = self._per_unit[name].with_columns(
                pl.when(hit).then(None).otherwise(pl.col(q)).alias(q)
            )
        return rows

    def as_delivered(self) -> None:
        """Units from the keys left after treatment, so that every view is the one a
        :class:`Delivery` of :meth:`result` would build (a row whose key was removed no longer
        joins its person), without coding the keys and quasi-identifiers again. Removing keys
        can only split the units that lost them: only those are redrawn."""
        gone = pl.concat(list(self.unlinked_units.values())).unique()
        self.unlinked_units = {n: pl.Series(UNIT, [], pl.Int64) for n in self.current}
        if gone.is_empty():
            return
        frames = {**self.current, **self.earlier}
        if len(self.keys) == 1:
            units = _units(frames, self.keys)  # the key's code itself: no graph to search
        else:
            units = _split(frames, self.keys, gone)
        self.current = {n: f.with_columns(units[n].alias(UNIT)) for n, f in self.current.items()}
        self.earlier = {n: f.with_columns(units[n].alias(UNIT)) for n, f in self.earlier.items()}
        self._per_unit.clear()
        self._spread.clear()

    def rows(self) -> int:
        return sum(f.height for f in self.current.values())

    def units(self) -> int:
        ids = [f.get_column(UNIT) for f in (*self.current.values(), *self.earlier.values())]
        return (pl.concat(ids).n_unique() if ids else 0) + self.held.units_elsewhere

    def result(self) -> dict[str, pl.DataFrame]:
        """The original frames with every value suppressed here (QI or key) set missing."""
        out = {}
        for name, frame in self.current.items():
            lost = [c for c in (*self.qis[name], *self.keys) if c in frame.columns]
            codes = {c: frame.get_column(code(c) if c in self.keys else c) for c in lost}
            out[name] = self.original[name].with_columns(
                pl.when(codes[c].is_null()).then(None).otherwise(pl.col(c)).alias(c) for c in lost
            )
        return out


def code(key: str) -> str:
    """The column holding ``key`` as an integer code shared by every file (null stays null)."""
    return f"__code{_FIELD}{key}"


def _with_key_codes(
    tagged: Mapping[str, pl.DataFrame], keys: Sequence[str]
) -> dict[str, pl.DataFrame]:
    out = dict(tagged)
    for key in keys:
        _encode(out, key, code(key), dense=len(keys) > 1)
    return out


def _encode(frames: dict[str, pl.DataFrame], column: str, into: str, *, dense: bool) -> None:
    """Add ``column`` of every file holding it, as shared codes, as column ``into``."""
    holders = [n for n, f in frames.items() if column in f.columns]
    for name, codes in _shared_codes(frames, column, holders, dense=dense).items():
        frames[name] = frames[name].with_columns(codes.alias(into))


def _shared_codes(
    frames: Mapping[str, pl.DataFrame], column: str, holders: Sequence[str], *, dense: bool
) -> dict[str, pl.Series]:
    """``column`` of every holder as one integer code space (equal values, equal codes; null
    stays null): integers as they are, or ranked when ``dense`` codes from 1 are needed (a
    sort of integers: six times faster than text at 20M hashed keys); anything else through a
    categorical (a hash, not a sort)."""
    columns = [frames[n].get_column(column) for n in holders]
    if not columns:
        return {}
    joined = (
        pl.concat([c.cast(pl.String) for c in columns])
        if len({c.dtype for c in columns}) > 1
        else pl.concat(columns)
    )
    if joined.dtype.is_integer() and dense:
        codes = joined.rank("dense").cast(pl.Int64)
    elif joined.dtype.is_integer() and (joined.min() or 0) >= 0:  # type: ignore[operator]
        codes = joined.cast(pl.Int64)
    else:
        codes = joined.cast(pl.String).cast(pl.Categorical).to_physical().cast(pl.Int64) + 1
    out, offset = {}, 0
    for name in holders:
        out[name] = codes.slice(offset, frames[name].height)
        offset += frames[name].height
    return out


def _with_qi_codes(
    tagged: Mapping[str, pl.DataFrame], quasi_identifiers: Sequence[str]
) -> dict[str, pl.DataFrame]:
    """Quasi-identifiers as integer codes: text is hashed once here instead of in every view."""
    out = dict(tagged)
    for q in quasi_identifiers:
        holders = [n for n, f in tagged.items() if q in f.columns]
        kinds = {tagged[n].schema[q] for n in holders}
        if len(kinds) != 1 or not next(iter(kinds)).is_numeric():
            _encode(out, q, q, dense=True)
    return out


def _units(tagged: Mapping[str, pl.DataFrame], keys: Sequence[str]) -> dict[str, pl.Series]:
    """Unit id per row of every file: connected components of rows and key values. With one
    key the unit is the key's code; a row without any key is a unit of its own."""
    offsets, total = {}, 0
    for name, frame in tagged.items():
        offsets[name] = total
        total += frame.height
    if len(keys) == 1:
        own = {
            n: -(pl.col(ROW).cast(pl.Int64) + offsets[n] + 1) for n in tagged
        }  # negative: never a code
        return {
            n: f.select(
                pl.col(code(keys[0])).fill_null(own[n]) if code(keys[0]) in f.columns else own[n]
            ).to_series()
            for n, f in tagged.items()
        }
    edges, base = [], total
    for key in keys:
        top = 0
        for name, frame in tagged.items():
            if code(key) not in frame.columns:
                continue
            pairs = frame.select(
                (pl.col(ROW).cast(pl.Int64) + offsets[name]).alias("row"),
                (pl.col(code(key)) - 1 + base).alias("value"),
            ).drop_nulls()
            edges.append(pairs)
            top = max(top, int(frame.get_column(code(key)).max() or 0))  # type: ignore[arg-type]
        base += top
    pairs = pl.concat(edges) if edges else pl.DataFrame({"row": [], "value": []})
    rows, values = pairs["row"].to_numpy(), pairs["value"].to_numpy()
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, values)), (base, base))
    _, labels = connected_components(graph, directed=False)
    return {
        name: pl.Series(UNIT, labels[offsets[name] : offsets[name] + frame.height], pl.Int64)
        for name, frame in tagged.items()
    }


def _split(
    frames: Mapping[str, pl.DataFrame], keys: Sequence[str], units: pl.Series
) -> dict[str, pl.Series]:
    """Every row's unit after the rows of ``units`` were redrawn from their keys as they are
    now (connected components of those rows alone, numbered above every existing unit)."""
    hit = {n: f.filter(pl.col(UNIT).is_in(units.implode())) for n, f in frames.items()}
    sub = {n: f.drop(ROW).with_row_index(ROW) for n, f in hit.items()}
    for key in keys:  # small codes for a small graph
        _encode(sub, code(key), code(key), dense=True)
    labels = _units(sub, keys)
    top = max(int(f.get_column(UNIT).max() or 0) for f in frames.values()) + 1  # type: ignore[arg-type]
    out = {}
    for name, frame in frames.items():
        at = hit[name].get_column(ROW).cast(pl.Int64)
        out[name] = frame.get_column(UNIT).clone().scatter(at, labels[name] + top)
    return out


@dataclass(frozen=True)
class View:
    """One row per unit. ``qis`` are matched (wildcard on missing values); only ``order`` may
    be suppressed; ``targets`` maps a view column to its (file, quasi-identifier)."""

    frame: pl.DataFrame
    qis: list[str]
    order: list[str]
    targets: dict[str, tuple[str, str]]


def file_view(delivery: Delivery, name: str) -> View:
    """The file alone: one row per unit with rows in it (values consistent within a unit, so
    the largest non-missing value is the unit's value)."""
    qis = delivery.qis[name]
    return View(delivery.per_unit(name), list(qis), list(qis), {q: (name, q) for q in qis})


def key_view(delivery: Delivery, key: str) -> View:
    """Units of ``key`` found in two or more files, at least one of them current: a presence
    flag per file, a column per current file and quasi-identifier, and one per earlier file
    holding the set of its value tuples."""
    parts: list[pl.DataFrame] = []
    flags: list[str] = []
    fixed: list[str] = []
    free: list[str] = []
    targets: dict[str, tuple[str, str]] = {}
    for name, frame in delivery.current.items():
        if code(key) not in frame.columns:
            continue
        flags.append(f"in{_FIELD}{name}")
        columns = {f"{name}{_FIELD}{q}": q for q in delivery.qis[name]}
        targets |= {c: (name, q) for c, q in columns.items()}
        free += list(columns)
        if delivery.keys == [key]:  # the unit is the key: reuse the per-unit values
            # Units unlinked from this file have lost the key in it.
            gone = delivery.unlinked_units[name]
            part = delivery.per_unit(name).filter(
                (pl.col(UNIT) >= 0) & ~pl.col(UNIT).is_in(gone.implode())
            )
            part = part.select(
                pl.col(UNIT).alias(_KEY),
                pl.col(UNIT).alias(f"{UNIT}{_FIELD}{name}"),
                *(pl.col(q).alias(c) for c, q in columns.items()),
            )
        else:
            part = _keyed(frame, key, [pl.col(q).max().alias(c) for c, q in columns.items()])
            part = part.rename({UNIT: f"{UNIT}{_FIELD}{name}"})
        parts.append(part.with_columns(pl.lit(True).alias(f"in{_FIELD}{name}")))
    for name, frame in delivery.earlier.items():
        if code(key) not in frame.columns:
            continue
        varying = delivery.held.is_varying(name, key)
        part, values = _earlier_values(frame, key, name, delivery.old_qis[name], varying)
        fixed += values
        parts.append(part.with_columns(pl.lit(True).alias(f"in{_FIELD}{name}")))
        flags.append(f"in{_FIELD}{name}")
    if not any(f.split(_FIELD, 1)[1] in delivery.current for f in flags):
        return View(pl.DataFrame(), [], [], {})
    # Units in two or more files: with two files, those in both (an inner join is cheaper).
    how: Literal["inner", "full"] = "inner" if len(parts) == 2 else "full"
    lazy = parts[0].lazy()
    for part in parts[1:]:
        lazy = lazy.join(part.lazy(), on=_KEY, how=how, coalesce=True)
    current = [f for f in flags if f.split(_FIELD, 1)[1] in delivery.current]
    present = pl.sum_horizontal(pl.col(f).fill_null(False) for f in flags)
    units = [c for part in parts for c in part.columns if c.startswith(UNIT)]
    view = (
        lazy.filter((present >= 2) & pl.any_horizontal(pl.col(f).fill_null(False) for f in current))
        .with_columns(pl.col(f).fill_null(False) for f in flags)
        .with_columns(pl.coalesce(units).alias(UNIT))
        .collect()
    )
    # A flag every unit shares (e.g. two files, all units in both) tells no units apart.
    flags = [f for f in flags if view.get_column(f).n_unique() > 1]
    return View(view, [*flags, *fixed, *free], free, targets)


def _earlier_values(
    frame: pl.DataFrame, key: str, name: str, qis: Sequence[str], varying: bool | None
) -> tuple[pl.DataFrame, list[str]]:
    """One row per key value of earlier file ``name`` and its fixed view columns. Where no
    key value has two different values of a quasi-identifier in the file (as this module
    delivers: values are made consistent per person), one column per quasi-identifier holding
    the value (as for current files: a row missing it matches more, so the row holding it is
    the one to hide), matched like the join (a missing value matches anything); otherwise one
    column holding the set of value tuples, compared exactly, which is stricter than the join.
    ``varying`` says which, for a frame that is only part of its file (None: from the frame)."""
    columns = {f"{name}{_FIELD}{q}": q for q in qis}
    if varying is None:
        varying = bool(varying_keys(frame, [code(key)], qis))
    if not qis or not varying:
        values = [pl.col(q).max().alias(c) for c, q in columns.items()]
        fixed = list(columns)
    else:
        tuples = pl.concat_str(
            [pl.col(q).cast(pl.String).fill_null(_NULL) for q in qis], separator=_FIELD
        )
        values = [tuples.unique().sort().str.join(_TUPLE).alias(f"{name}{_FIELD}*")]
        fixed = [f"{name}{_FIELD}*"]
    part = _keyed(frame, key, values).rename({UNIT: f"{UNIT}{_FIELD}{name}"})
    return part, fixed


def _keyed(frame: pl.DataFrame, key: str, values: list[pl.Expr]) -> pl.DataFrame:
    keyed = frame.filter(pl.col(code(key)).is_not_null()).rename({code(key): _KEY})
    return keyed.group_by(_KEY).agg(pl.col(UNIT).first(), *values)


def suppress_view(
    delivery: Delivery,
    view: View,
    k: int,
    preferred: Sequence[str] | None,
    suppressed: dict[str, dict[str, int]],
    touched: dict[str, pl.Series],
) -> None:
    """Local suppression on ``view``, applied to every row of each treated unit in the file."""
    if view.frame.is_empty() or not view.order:
        return
    lost = suppressed_members(view.frame, view.qis, k, UNIT, order=_order(view, preferred))
    for column in view.order:
        units = lost[column]
        if units.is_empty():
            continue
        name, q = view.targets[column]
        rows = delivery.suppress(name, q, units)
        suppressed[name][q] += rows.len()
        touched[name] = pl.concat([touched[name], rows])


def _order(view: View, preferred: Sequence[str] | None) -> list[str]:
    """Suppress first the quasi-identifiers listed in ``preferred``, then the ones with most
    distinct values (as :func:`pipeline.disclosure.kanon.anonymise`)."""
    rank = {q: i for i, q in enumerate(preferred or [])}
    distinct = {c: view.frame.get_column(c).drop_nulls().n_unique() for c in view.order}
    return sorted(view.order, key=lambda c: (rank.get(view.targets[c][1], len(rank)), -distinct[c]))


def unlink(
    delivery: Delivery,
    view: View,
    key: str,
    k: int,
    unlinked: dict[str, int],
    touched: dict[str, pl.Series],
) -> View:
    """Remove ``key`` from the current rows of units of ``view`` that no suppression can hide:
    fewer than ``k`` units share their files (and earlier files' values, which cannot
    change). Returns the view without them."""
    if view.frame.is_empty():
        return view
    fixed = [c for c in view.qis if c not in view.order]
    kept, gone = _hideable(view.frame, fixed, k)
    if gone.is_empty():
        return view
    for name, frame in delivery.current.items():
        if code(key) not in frame.columns:
            continue
        hit = pl.col(code(key)).is_in(gone.implode())
        rows = frame.filter(hit).get_column(ROW)
        if rows.is_empty():
            continue
        delivery.current[name] = frame.with_columns(
            pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in (key, code(key))
        )
        unlinked[name] += rows.len()
        units = frame.filter(hit).get_column(UNIT).unique()
        delivery.unlinked_units[name] = pl.concat([delivery.unlinked_units[name], units])
        touched[name] = pl.concat([touched[name], rows])
    return View(kept, view.qis, view.order, view.targets)


def _hideable(frame: pl.DataFrame, fixed: Sequence[str], k: int) -> tuple[pl.DataFrame, pl.Series]:
    """The units that match at least ``k`` units on the ``fixed`` columns (a missing value
    matches anything), and the keys of the others. Removing a unit can leave another below
    ``k``, so this repeats until none is removed."""
    gone = [frame.get_column(_KEY).clear()]
    while not frame.is_empty():
        if fixed:
            fk = frequency_counts(frame.select(fixed), fixed).get_column("fk")
        else:
            fk = pl.Series([frame.height] * frame.height)
        lone = fk < k
        if not lone.any():
            break
        gone.append(frame.filter(lone).get_column(_KEY))
        frame = frame.filter(~lone)
    return frame, pl.concat(gone)
