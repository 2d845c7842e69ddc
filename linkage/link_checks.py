"""A label-free bound on precision for linking two inputs: links beyond one per record.

When one input lists each person once, each record of the other input has at most one
match, and every link at a threshold beyond the first of such a record is a false link,
whatever the model says. Which input that is need not be known: the links beyond one per
record, counted on each side and the smaller count taken, are a lower bound on the false
links as long as either input lists each person once, and one minus their share an upper
bound on precision that needs no labels. A model whose own estimate of false links is below
that count is overconfident, and its precision estimate is too high by at least the
difference.

On generated files this caught what the model's own posterior could not: as files grew from
1M to 3M records a side, more people shared each postcode, household members (twins, a parent
and child of one name) scored as sure matches, and the precision estimate went from 0.02 to
0.05 over the truth with no warning; at 1M the model expected 14,700 false links at its
threshold where 23,600 links went to records already linked (true false links: 30,900).

One input repeating people (several SSA events or W-2 forms a person) leaves the bound
valid: its records' extra links are counted on its own side only, and the smaller side is
taken (counted on the larger side, the check fired on census vs SSA and census vs W-2/1099,
where the estimates were within 0.01 of the truth). Both inputs repeating people break the
assumption: there the check can fire on a sound model, and its message says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from linkage.backend import DuckDBBackend

#: Links beyond one per record must exceed the model's expected false links by this many
#: Poisson standard deviations (and MIN_SURPLUS links) before the estimate is called too high.
SURPLUS_SIGMAS = 3.0
MIN_SURPLUS = 10
#: An overconfident model's precision estimate is called unreliable when capping each
#: record's expected matches at one lowers it by at least this much; below, the contradiction
#: is real (and warned about) but moves the estimate by less than a point.
MATERIAL_GAP = 0.01


@dataclass(frozen=True)
class OneToOneCheck:
    """Links at ``threshold``; those going to a record already linked, on the side with
    fewer (``surplus``); the false links the model expects among the links; the model's
    precision at the threshold; the most it can be if either input lists each person once
    (``precision_bound``) and the model's own estimate with each record's expected matches
    capped at one, on the side where that caps less (``precision_capped``)."""

    threshold: float
    links: int
    surplus: int
    expected_false_links: float
    precision_estimate: float
    precision_bound: float
    precision_capped: float

    @property
    def overconfident(self) -> bool:
        """More links beyond one per record than the model's false links allow for."""
        allowance = self.expected_false_links + SURPLUS_SIGMAS * math.sqrt(
            max(self.expected_false_links, 1.0)
        )
        return self.surplus >= MIN_SURPLUS and self.surplus > allowance

    @property
    def material(self) -> bool:
        """Overconfident by enough to make the precision estimate unreliable."""
        gap = self.precision_estimate - self.precision_capped
        return self.overconfident and gap >= MATERIAL_GAP

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overconfident": self.overconfident, "material": self.material}


def one_to_one_check(backend: DuckDBBackend, scored: str, threshold: float) -> OneToOneCheck:
    """:class:`OneToOneCheck` of the pairs of query ``scored`` (``rid_l, rid_r,
    match_probability``) at ``threshold``: one pass over them, grouped per record of each
    side."""
    links = (
        f"SELECT rid_l, rid_r, match_probability AS p FROM ({scored}) "
        f"WHERE match_probability >= {float(threshold)!r}"
    )
    per_record = (
        f"SELECT rid_l, rid_r, count(*) AS n, sum(p) AS e FROM ({links}) "
        f"GROUP BY GROUPING SETS ((rid_l), (rid_r))"
    )
    rows = backend.rows(
        f"SELECT rid_l IS NULL AS right_side, sum(n), count(*), sum(e), sum(least(e, 1.0)) "
        f"FROM ({per_record}) GROUP BY right_side"
    )
    if not rows:
        return OneToOneCheck(float(threshold), 0, 0, 0.0, 1.0, 1.0, 1.0)
    n_links, expected_true = int(rows[0][1]), float(rows[0][3])
    surplus = min(int(n) - int(records) for _, n, records, _, _ in rows)  # both sides
    capped = max(float(c) for *_, c in rows)
    return OneToOneCheck(
        threshold=float(threshold),
        links=n_links,
        surplus=surplus,
        expected_false_links=n_links - expected_true,
        precision_estimate=expected_true / n_links,
        precision_bound=1.0 - surplus / n_links,
        precision_capped=capped / n_links,
    )
