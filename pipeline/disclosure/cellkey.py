"""The cell-key method (ONS / Eurostat): the same cell always receives the same noise.

Each record carries a key fixed for the record (0-255; the pipeline derives it with a keyed
function in :mod:`pseudonym`). A cell's key is the sum of its records' keys mod the number of
cell keys in the p-table (256; ONS also uses 4096 for administrative data), and its noise is
looked up in a perturbation table (p-table) by (cell value, cell key).

Two kinds of p-table:

* **ONS format** (:func:`load_ptable`, :meth:`PerturbationTable.from_frame`): one row per
  ``pcv, ckey, pvalue`` for every pcv 1-750 and every cell key, the file ONS's
  ``cell_key_perturbation`` package reads (the cell-key method of ONS's Integrated Data
  Service). The lookup is that package's (``create_perturbed_table``; 1.1.1 and 3.1.0 read):
  a count v of at most 750 uses row v; a larger count uses row ((v - 1) mod 250) + 501, so rows
  501-750 serve 751-1000, 1001-1250, ... again; an empty cell gets no noise. ONS's code gives
  noise 0 to a (pcv, ckey) pair missing from the file; we refuse such a file instead.
  :func:`ons_10_5_ptable` rebuilds the example table ONS ships, ``ptable_10_5_rule.csv``
  (counts below 10 become 0, others round to the nearest 5; the cell key plays no part).
  ONS's Census 2021 p-table is confidential and not included.
* **Generated** (:func:`make_ptable`), our own design: for original value i, noise d lies in
  [-D, D]; i + d >= 0; published values 1..js never occur; zero cells stay zero (the
  constraints of sdcTools' ``ptable`` package, Giessing 2016). Probabilities maximise entropy
  subject to mean zero and variance V (p(d) proportional to exp(a*d + b*d^2); a, b solved
  numerically), where the range allows it. Each probability is then rounded to a whole number
  of the 256 cell keys (largest remainder), so noise for (i, key) is a pure table look-up. Rows
  beyond D + js are all alike; the last row serves every larger value. Defaults D=2, V=1.05,
  js=1 mirror ``ptable``'s example table ``pt_ex_cnts()``; our probabilities are our own
  solution, not a copy of theirs.
"""

from __future__ import annotations

import io
import lzma
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import least_squares

from pipeline.disclosure.columns import describe_rows, whole_numbers
from pipeline.disclosure.errors import PerturbationTableError, TableSpecError

KEYS = 256
ONS_KEY_RANGES = (256, 4096)
ONS_MAX_PCV = 750  # rows 1-750; counts above 750 reuse rows 501-750
ONS_CYCLE_START = 501
ONS_CYCLE = 250
PTABLE_COLUMNS = ("pcv", "ckey", "pvalue")
BUILTIN_PTABLES = ("generated", "ons-10-5")

Wrap = Literal["last-row", "ons"]


@dataclass(frozen=True)
class PerturbationTable:
    """``noise[row, key]``: the noise for a cell whose value maps to ``row`` and whose cell key
    is ``key``. Row 0 is the empty cell (no noise). ``wrap`` says how values map to rows:
    ``"last-row"`` (``min(value, rows - 1)``, generated tables) or ``"ons"`` (ONS's rows 1-750
    with 501-750 reused above 750). ``source`` names where the table came from."""

    noise: npt.NDArray[np.int64]
    wrap: Wrap = "last-row"
    source: str = "generated"

    def __post_init__(self) -> None:
        if self.noise.ndim != 2 or self.noise.shape[0] < 2 or self.noise.shape[1] < 2:
            raise TableSpecError("a p-table needs at least two rows and two cell keys")
        if (self.noise[0] != 0).any():
            raise TableSpecError("a p-table must leave empty cells (row 0) unperturbed")
        if self.wrap == "ons" and self.noise.shape[0] != ONS_MAX_PCV + 1:
            raise TableSpecError(f"an ONS-format p-table has rows 0-{ONS_MAX_PCV}")

    @property
    def keys(self) -> int:
        """Number of cell keys (the modulus of the cell-key sum)."""
        return int(self.noise.shape[1])

    def rows_for(self, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The p-table row (ONS's ``pcv``) used for each count."""
        v = np.asarray(values, dtype=np.int64)
        if self.wrap == "ons":
            cycled = (v - 1) % ONS_CYCLE + ONS_CYCLE_START
            return np.where(v <= ONS_MAX_PCV, v, cycled)
        return np.minimum(v, self.noise.shape[0] - 1)

    def perturb(self, values: npt.ArrayLike, cell_keys: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Perturbed counts for integer ``values`` and their cell keys (0 to ``keys - 1``)."""
        v = np.asarray(values, dtype=np.int64)
        k = np.asarray(cell_keys, dtype=np.int64)
        if v.size and (v.min() < 0 or k.min() < 0 or k.max() >= self.keys):
            raise TableSpecError(
                f"cell-key perturbation needs counts >= 0 and keys 0-{self.keys - 1}"
            )
        return v + self.noise[self.rows_for(v), k]

    def row_moments(self) -> list[tuple[float, float]]:
        """(mean, variance) of the noise in each row, as quantised to the cell keys."""
        out = []
        for row in self.noise:
            out.append((float(row.mean()), float(row.var())))
        return out

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, *, source: str = "p-table") -> PerturbationTable:
        """Validate an ONS-format p-table (columns ``pcv``, ``ckey``, ``pvalue``; other columns
        are ignored) and build it. Every problem is reported at once, by field and row."""
        missing = [c for c in PTABLE_COLUMNS if c not in frame.columns]
        if missing:
            raise PerturbationTableError(
                f"missing column(s) {missing}; an ONS p-table has columns pcv, ckey, pvalue",
                source=source,
            )
        if frame.is_empty():
            raise PerturbationTableError("the p-table has no rows", source=source)
        problems: list[str] = []
        columns: dict[str, npt.NDArray[np.int64]] = {}
        for name in PTABLE_COLUMNS:
            whole, ok = whole_numbers(frame.get_column(name))
            if not ok.all():
                problems.append(f"{name}: not a whole number in {describe_rows(~ok)}")
            columns[name] = whole
        if problems:
            raise PerturbationTableError(problems, source=source)
        pcv, ckey, pvalue = (columns[c] for c in PTABLE_COLUMNS)
        bad_pcv = (pcv < 1) | (pcv > ONS_MAX_PCV)
        if bad_pcv.any():
            problems.append(f"pcv: outside 1-{ONS_MAX_PCV} in {describe_rows(bad_pcv)}")
        if (ckey < 0).any():
            problems.append(f"ckey: negative in {describe_rows(ckey < 0)}")
        keys = int(ckey.max()) + 1
        if keys not in ONS_KEY_RANGES:
            problems.append("ckey: the largest cell key must be 255 or 4095 (ONS's key ranges)")
        negative = pcv + pvalue < 0
        if negative.any():
            problems.append(f"pvalue: makes the count negative in {describe_rows(negative)}")
        if problems:
            raise PerturbationTableError(problems, source=source)
        flat = pcv * keys + ckey
        _, first, counts = np.unique(flat, return_index=True, return_counts=True)
        repeated = np.ones(flat.size, dtype=bool)
        repeated[first] = False
        if repeated.any():
            problems.append(f"pcv, ckey: pair repeated in {describe_rows(repeated)}")
        expected = ONS_MAX_PCV * keys
        if counts.size < expected:
            present = np.zeros((ONS_MAX_PCV + 1) * keys, dtype=bool)
            present[flat] = True
            gap = int(np.flatnonzero(~present[keys:])[0]) + keys
            problems.append(
                f"pcv, ckey: {expected - counts.size} of {expected} pairs missing (first: pcv "
                f"{gap // keys}, ckey {gap % keys}); ONS's code would add no noise there"
            )
        if problems:
            raise PerturbationTableError(problems, source=source)
        noise = np.zeros((ONS_MAX_PCV + 1, keys), dtype=np.int64)
        noise[pcv, ckey] = pvalue
        return cls(noise, "ons", source)

    def to_frame(self) -> pl.DataFrame:
        """This table in ONS format (``pcv`` 1-750 by ``ckey``), giving the same noise under
        ONS's lookup. A generated table's last row is repeated down to row 750."""
        rows = self.noise.shape[0]
        if self.wrap == "last-row" and rows - 1 > ONS_CYCLE_START:
            raise TableSpecError(
                f"a last-row p-table with more than {ONS_CYCLE_START} rows has no ONS equivalent"
            )
        pcv = np.arange(1, ONS_MAX_PCV + 1)
        grid = self.noise[self.rows_for(pcv)]
        return pl.DataFrame(
            {
                "pcv": np.repeat(pcv, self.keys),
                "ckey": np.tile(np.arange(self.keys), ONS_MAX_PCV),
                "pvalue": grid.reshape(-1),
            }
        )


def cell_key(record_keys: npt.ArrayLike, keys: int = KEYS) -> int:
    """Sum of record keys mod ``keys`` (256 unless the p-table has 4096 cell keys)."""
    return int(np.asarray(record_keys, dtype=np.int64).sum() % keys)


def cast_record_keys(df: pl.DataFrame, column: str, keys: int = KEYS) -> pl.DataFrame:
    """Record keys read from a file (CSV keys load as Int64) as the type
    :func:`~pipeline.disclosure.check.check_table` needs: UInt8 for a p-table with 256 cell
    keys, UInt16 for more (ONS's 4096). Every key must be a whole number from 0 to
    ``keys - 1``; otherwise :class:`TableSpecError` names the column and the rows (data rows
    counted from 1), never a key."""
    if column not in df.columns:
        raise TableSpecError(f"record key column {column!r} is not in the data")
    if not 2 <= keys <= 65536:
        raise TableSpecError("a p-table has between 2 and 65536 cell keys")
    whole, ok = whole_numbers(df.get_column(column))
    problems = []
    if not ok.all():
        problems.append(f"null or not a whole number in {describe_rows(~ok)}")
    outside = ok & ((whole < 0) | (whole >= keys))
    if outside.any():
        problems.append(f"outside 0-{keys - 1} in {describe_rows(outside)}")
    if problems:
        raise TableSpecError(f"record key column {column!r}: " + "; ".join(problems))
    dtype = pl.UInt8 if keys <= 256 else pl.UInt16
    return df.with_columns(pl.Series(column, whole).cast(dtype))


def load_ptable(path: str | Path) -> PerturbationTable:
    """Read an ONS-format p-table (``.csv``, ``.csv.gz``, ``.csv.xz`` or ``.parquet``).

    Errors (:class:`PerturbationTableError`) name the file, field and rows, never a value.
    """
    p = Path(path)
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pl.read_parquet(p)
        elif name.endswith(".csv.xz"):
            frame = pl.read_csv(io.BytesIO(lzma.decompress(p.read_bytes())))
        elif name.endswith((".csv", ".csv.gz")):
            frame = pl.read_csv(p)
        else:
            raise PerturbationTableError(
                "use a .csv, .csv.gz, .csv.xz or .parquet p-table", source=p.name
            )
    except (OSError, lzma.LZMAError, pl.exceptions.PolarsError) as exc:
        raise PerturbationTableError(f"cannot read ({type(exc).__name__})", source=p.name) from None
    return PerturbationTable.from_frame(frame, source=p.name)


def ons_10_5_ptable(keys: int = KEYS) -> PerturbationTable:
    """ONS's example p-table, the "10-5 rule": counts 1-9 become 0, every other count rounds to
    the nearest 5, whatever the cell key. Rebuilt from the rule ONS's own generator uses
    (``generate_ptable_10_5_rule``); equal, row for row, to the published
    ``ptable_10_5_rule.csv`` (checked in the tests against a verbatim copy)."""
    if keys not in ONS_KEY_RANGES:
        raise TableSpecError("ONS p-tables have 256 or 4096 cell keys")
    pcv = np.arange(ONS_MAX_PCV + 1)
    to_nearest_5 = np.array([0, -1, -2, 2, 1])[pcv % 5]
    pvalue = np.where(pcv < 10, -pcv, to_nearest_5)
    noise = np.repeat(pvalue[:, None], keys, axis=1).astype(np.int64)
    return PerturbationTable(noise, "ons", "ons-10-5")


def resolve_ptable(choice: str) -> PerturbationTable:
    """``"generated"`` (:func:`make_ptable` defaults), ``"ons-10-5"``
    (:func:`ons_10_5_ptable`), or a path to an ONS-format p-table file."""
    if choice == "generated":
        return make_ptable()
    if choice == "ons-10-5":
        return ons_10_5_ptable()
    return load_ptable(choice)


def make_ptable(max_noise: int = 2, variance: float = 1.05, js: int = 1) -> PerturbationTable:
    """Generate a p-table by the design in the module docstring."""
    if max_noise < 1 or variance <= 0 or js < 0:
        raise TableSpecError("p-table needs max_noise >= 1, variance > 0, js >= 0")
    rows = max_noise + js + 2
    table = np.zeros((rows, KEYS), dtype=np.int64)
    for i in range(1, rows):
        d = np.array(
            [n for n in range(-max_noise, max_noise + 1) if i + n >= 0 and not 0 < i + n <= js]
        )
        probs = _max_entropy(d, variance)
        counts = _to_keys(probs)
        table[i] = np.repeat(d, counts)
    source = f"generated (D={max_noise}, V={variance:g}, js={js})"
    return PerturbationTable(table, "last-row", source)


def _max_entropy(d: npt.NDArray[np.int64], variance: float) -> npt.NDArray[np.float64]:
    x = d.astype(float)

    def probs(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        a, b = params
        z = a * x + b * x * x
        w = np.exp(z - z.max())
        return w / w.sum()

    def residuals(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        p = probs(params)
        mean = float(p @ x)
        # Zero mean matters most (unbiased noise); variance is met where the range allows.
        return np.array([10.0 * mean, float(p @ (x * x)) - variance])

    if x.size == 1:
        return np.ones(1)
    fit = least_squares(residuals, x0=np.array([0.0, -0.5]), bounds=([-20, -20], [20, 20]))
    return probs(fit.x)


def _to_keys(probs: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    raw = probs * KEYS
    counts = np.floor(raw).astype(np.int64)
    short = KEYS - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts
