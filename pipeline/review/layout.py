"""How a review file's row is shown to a curator: which columns face each other, where two
values differ, and the waterfall of the pair's weights.

The review files share the decision format (:mod:`pipeline.review.decisions`) but lay out the
evidence differently: the batch pipeline's (:mod:`pipeline.review.persons`) and a ``pprl
link`` job's (:mod:`pipeline.linkjob.review_file`) put each field side by side as
``<field>_l`` / ``<field>_r`` and add ``level_<comparison>`` / ``weight_<comparison>``
columns (a link job's file holds the fields only when asked for them, and a
``match_weight``); the business register's (:mod:`pipeline.business.clerical_review`) has
``incoming_<field>`` / ``register_<field>`` and no weights.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.review.decisions import CANDIDATE, DECISION, KEY

PROBABILITY, WEIGHT = "match_probability", "match_weight"
UNSURE = "unsure"  # the decided file's extra column: "yes" where a curator was unsure
# below this similarity (difflib's ratio) two values are marked as different throughout
WHOLE_VALUE_BELOW = 0.5
_NOT_FIELDS = (KEY, CANDIDATE, PROBABILITY, WEIGHT, DECISION, UNSURE)


@dataclass(frozen=True)
class FieldPair:
    """One row of the side-by-side view: a field's label and the two columns it compares."""

    label: str
    left: str | None
    right: str | None


def field_pairs(columns: Sequence[str]) -> list[FieldPair]:
    """The side-by-side fields of a review file's ``columns``, in file order.

    ``x_l`` faces ``x_r``; ``register_x`` faces ``incoming_x``, or failing that the incoming
    column named by x's last words (``register_trading_name`` faces ``incoming_name``).
    Columns that fit neither pattern are shown on their own.
    """
    present = set(columns)
    pairs: list[FieldPair] = []
    used: set[str] = set()
    for column in columns:
        if column in used or column in _NOT_FIELDS or column.startswith(("level_", "weight_")):
            continue
        if column.endswith("_l") and f"{column[:-2]}_r" in present:
            pairs.append(FieldPair(column[:-2].lstrip("_"), column, f"{column[:-2]}_r"))
            used |= {column, f"{column[:-2]}_r"}
        elif column.startswith("incoming_") and f"register_{column[9:]}" in present:
            pairs.append(FieldPair(column[9:], column, f"register_{column[9:]}"))
            used |= {column, f"register_{column[9:]}"}
        elif column.startswith("register_"):
            pairs.append(
                FieldPair(column[9:].replace("_", " "), _incoming(column, present), column)
            )
            used.add(column)
        elif not column.endswith("_r") and not column.startswith("incoming_"):
            pairs.append(FieldPair(column, column, None))
    return pairs


def _incoming(register_column: str, present: set[str]) -> str | None:
    words = register_column[9:].split("_")
    for start in range(len(words)):
        candidate = "incoming_" + "_".join(words[start:])
        if candidate in present:
            return candidate
    return None


def side_labels(columns: Sequence[str]) -> tuple[str, str]:
    """Headings of the two sides: the record under review and its candidate."""
    if any(c.startswith("register_") for c in columns):
        return "incoming record", "register enterprise"
    return "record (key)", "candidate"


def _normal(value: str) -> str:
    return " ".join(value.split()).casefold()


def differs(left: str | None, right: str | None) -> bool:
    """True when both are present and differ beyond case and spacing."""
    if not left or not right:
        return False
    return _normal(left) != _normal(right)


def diff_segments(left: str, right: str) -> tuple[list[list[object]], list[list[object]]]:
    """Each side as ``[text, differs]`` segments: characters the other side lacks (compared
    ignoring case) are marked, so a curator sees exactly where two values part. Values with
    little in common are marked whole rather than as a scatter of letters."""
    matcher = difflib.SequenceMatcher(None, left.casefold(), right.casefold(), autojunk=False)
    if matcher.ratio() < WHOLE_VALUE_BELOW:  # little in common: the whole value differs
        return [[left, True]], [[right, True]]
    ours: list[list[object]] = []
    theirs: list[list[object]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            ours.append([left[i1:i2], changed])
        if j2 > j1:
            theirs.append([right[j1:j2], changed])
    return ours, theirs


def waterfall_steps(row: Mapping[str, str | None], columns: Sequence[str]) -> pl.DataFrame:
    """The pair's waterfall rows (as :func:`linkage.explain.waterfall` gives them) rebuilt
    from a review row's ``level_*`` and ``weight_*`` columns; empty when it has none.

    The file does not store the prior, so it is taken as the pair's log2 odds less the
    comparisons' weights: the waterfall then ends at the file's (rounded) probability.
    """
    weights = [c for c in columns if c.startswith("weight_")]
    probability = _number(row.get(PROBABILITY))
    if not weights or probability is None:
        return pl.DataFrame()
    p = min(max(probability, 1e-12), 1 - 1e-12)
    total = math.log2(p / (1 - p))
    steps = [(c[7:], row.get(f"level_{c[7:]}"), _number(row.get(c)) or 0.0) for c in weights]
    prior = total - sum(w for _, _, w in steps)
    names = ["prior", *(s[0] for s in steps)]
    labels = ["prior", *(s[1] for s in steps)]
    values = [prior, *(s[2] for s in steps)]
    frame = pl.DataFrame(
        {
            "id_l": row.get(KEY),
            "id_r": row.get(CANDIDATE),
            "step": list(range(len(values))),
            "component": names,
            "label": labels,
            "match_weight": values,
        },
        schema_overrides={"label": pl.String, "id_l": pl.String, "id_r": pl.String},
    )
    return frame.with_columns(
        pl.col("match_weight").cum_sum().alias("cumulative_weight")
    ).with_columns(
        (1.0 / (1.0 + 2.0 ** (-pl.col("cumulative_weight")))).alias("cumulative_probability")
    )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
