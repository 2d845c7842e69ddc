"""Household keys: the anchor widened by the two dependents its non-matches share together.

A dependency (:class:`~linkage.model.Dependency`) makes each dependent comparison conditional
on its anchor, but keeps the dependents independent of each other given the anchor. Within
a postcode they are not: the non-matches that share a house number are a household, and
nearly all of them share a surname too, while neighbours at other numbers rarely do. Taken
as independent given the postcode, house number and surname multiply two lifts that are one
fact, and "same postcode, house number and surname" reads as several bits more evidence of a
match than it is. The error grows with the number of people per postcode (both lifts grow,
their product twice as fast): on generated files whose postcodes fill up with size, the
precision estimate went from 0.02 over the truth at 1M x 1M records to 0.05 at 3M x 3M, with
household members (twins, a parent and child of one name, a relative whose date of birth is
missing) as the confident false links.

The key is the anchor plus the pair of its exact-match dependents whose joint agreement among
non-matches sharing the anchor most exceeds what independence predicts (at least
DEPENDENCE_LIFT times), from exact counts of agreeing record pairs. The second of the pair is
then conditional on the anchor and the first (a chain, so the household is counted once),
and the dependents that agree still more often within the key than within the anchor (a date
of birth: twins) become conditional on the whole key. Address parts that move with the
anchor (street, town) stay conditional on the anchor alone.

A small file has too few such pairs for a key (MIN_KEY_NON_MATCHES), yet its lifts are just
as real: where the anchor is a building (street number and street name), non-matches sharing
it and a surname are a household, and among them a shared date of birth (twins) is six times
as common as the surname and date of birth taken separately predict. There the more often
agreed part of the most lifted pair (the surname) widens the anchor for the dependents lifted
with it only, each conditional on anchor and surname with its u from exact counts
(:meth:`HouseholdKeyTraining._chained_on_head`).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from linkage.anchors import Anchor, exact_top
from linkage.comparisons import Comparison
from linkage.model import PROBABILITY_FLOOR, Dependency
from linkage.patterns import TrainingBase

logger = logging.getLogger("linkage.dependencies")

# A comparison depends on an anchor when non-matches sharing the anchor agree on it at
# least this many times as often as random pairs (see estimate_dependencies); two dependents
# form a household key when non-matches sharing the anchor agree on both this many times as
# often as on each alone predicts
DEPENDENCE_LIFT = 2.0
# Non-matches that must agree on a household key before their u is estimated there
MIN_KEY_NON_MATCHES = 1000.0
# Non-matches that must agree on two dependents of an anchor (or every part of an anchor:
# surname and date of birth, twins) before their joint count replaces independence
MIN_JOINT_NON_MATCHES = 30


class LiftedPair(NamedTuple):
    """Two dependents of an anchor its non-matches agree on together disproportionately."""

    first: Comparison
    second: Comparison
    #: non-matches agreeing on the anchor and both
    non_matches: float
    #: of those, how many independence given the anchor does not predict
    excess: float


class HouseholdKeyTraining(TrainingBase):
    """Widening an anchor into a household key (see the module docstring)."""

    @abstractmethod
    def _agreeing_pairs(self, columns: Sequence[str], present: Sequence[str] = ()) -> int:
        """Record pairs (all of them, not only candidates) equal and non-null on ``columns``
        (and non-null on ``present``)."""

    @abstractmethod
    def _correlated(self, a: Comparison, b: Comparison) -> bool:
        """Do random non-matches agree on both far more often than independence predicts?"""

    @abstractmethod
    def _dependencies_on(
        self, anchor: Anchor, candidates: Sequence[Comparison], agreeing: int
    ) -> tuple[dict[str, Dependency], float] | None:
        """Dependents of ``anchor`` among ``candidates``, their conditional m/u and the
        share of matches among the pairs agreeing on it."""

    @abstractmethod
    def _joint_anchor(self, anchor: Anchor, matches: float) -> dict[str, Dependency]:
        """Each anchor part after the first, given those before it, from exact counts."""

    def _household_key(
        self, anchor: Anchor, found: dict[str, Dependency], matches: float
    ) -> dict[str, Dependency]:
        """Dependencies that replace some of ``found`` (the dependents of ``anchor``, whose
        agreeing pairs hold ``matches`` matches) once the anchor is widened into a household
        key; empty when no pair of dependents is agreed on together disproportionately."""
        lifted = self._lifted_pairs(anchor, found, matches)
        key = self._widened(anchor, lifted)
        if key is None:
            return self._chained_on_head(anchor, found, matches, lifted)
        first, second = key.parts[-2:]
        key_matches = matches * self._m_top(first) * self._m_top(second)
        prefix = len(anchor.parts)
        chained = self._chained(key, key_matches, found[second.name])
        out = {second.name: chained.given_prefix(prefix, found[second.name])}
        movers = [c for c in self.comparisons if c.name in found and self._moves_with(anchor, c)]
        rest = [
            c
            for c in self.comparisons
            if c.name in found and c not in key.parts and c not in movers
        ]
        agreeing = self._agreeing_pairs(key.columns())
        fitted = self._dependencies_on(key, rest, agreeing) if rest else None
        for name, dep in (fitted[0] if fitted else {}).items():
            if dep.u_top[-1] >= DEPENDENCE_LIFT * found[name].u_top[-1]:
                out[name] = dep.given_prefix(prefix, found[name])
        logger.info(
            "household key %s: conditional m/u given it for %s",
            " + ".join(key.names),
            ", ".join(out),
        )
        return out

    def _chained(self, key: Anchor, matches: float, given_anchor: Dependency) -> Dependency:
        """The key's last part given the parts before it: its top level's u from exact counts
        (:meth:`_joint_anchor`), its other levels in the proportions they have among
        non-matches sharing the anchor alone (random pairs rarely share a household)."""
        dep = self._joint_anchor(key, matches)[key.parts[-1].name]
        top_u = dep.u_top[-1]
        rest = given_anchor.u_top[:-1]
        scale = (1.0 - top_u) / max(sum(rest), 1e-300)
        dep.u_top = [*(v * scale for v in rest), top_u]
        return dep

    def _given_head(self, key: Anchor, matches: float, given_anchor: Dependency) -> Dependency:
        """The last part of ``key`` (anchor, head, dependent) given the others: its top
        level's u is the share of the non-matches agreeing on anchor and head, the dependent
        known, that agree on it too (a unit number is mostly missing: counted over all
        pairs it would look rare within a household; the anchor's ``matches`` are taken as
        known on it as often as those non-matches); its other levels as in
        :meth:`_chained`."""
        *parts, last = key.parts
        columns = list(dict.fromkeys(key.columns(len(parts))))
        column = exact_top(last).column  # type: ignore[union-attr]
        pairs = float(self._agreeing_pairs(columns))
        known = float(self._agreeing_pairs(columns, [column]))
        agree = float(self._agreeing_pairs([*columns, column]))
        known_matches = matches * self._m_top(parts[-1]) * known / max(pairs, 1.0)
        within = max(agree - known_matches * self._m_top(last), 1.0)
        top_u = within / max(known - known_matches, within)
        top_u = min(max(top_u, PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR)
        rest = given_anchor.u_top[:-1]
        scale = (1.0 - top_u) / max(sum(rest), 1e-300)
        params = self.parameters.comparisons[last.name]
        m, u = [float(v or 0.0) for v in params.m], [float(v or 0.0) for v in params.u]
        u_top = [*(v * scale for v in rest), top_u]
        return Dependency(key.names[:-1], key.tops[:-1], m, u_top, m, u)

    def _moves_with(self, anchor: Anchor, comparison: Comparison) -> bool:
        return any(self._correlated(a, comparison) for a in anchor.parts)

    def _m_top(self, comparison: Comparison) -> float:
        return float(self.parameters.comparisons[comparison.name].m[-1] or 1.0)

    def _lifted_pairs(
        self, anchor: Anchor, found: dict[str, Dependency], matches: float
    ) -> list[LiftedPair]:
        """Pairs of exact-match dependents of ``anchor`` that its non-matches agree on
        together at least DEPENDENCE_LIFT times as often as their separate agreement
        predicts, and on at least MIN_JOINT_NON_MATCHES pairs; each with the more often
        agreed first."""
        parts = [c for c in self.comparisons if c.name in found and exact_top(c) is not None]
        if len(parts) < 2:
            return []
        base = self._key_non_matches(anchor, (), matches)
        alone = {c.name: self._key_non_matches(anchor, (c,), matches) for c in parts}
        out = []
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                both = self._key_non_matches(anchor, (a, b), matches)
                independent = alone[a.name] * alone[b.name] / base
                logger.info(
                    "anchor %s: non-matches agreeing on %s and %s: %.0f (independence: %.0f)",
                    " + ".join(anchor.names),
                    a.name,
                    b.name,
                    both,
                    independent,
                )
                if both >= max(DEPENDENCE_LIFT * independent, MIN_JOINT_NON_MATCHES):
                    first, second = sorted((a, b), key=lambda c: -alone[c.name])
                    out.append(LiftedPair(first, second, both, both - independent))
        return out

    def _widened(self, anchor: Anchor, lifted: Sequence[LiftedPair]) -> Anchor | None:
        """The anchor plus the ``lifted`` pair with the most non-matches beyond independence
        among those agreed on together by at least MIN_KEY_NON_MATCHES (households, not
        twins), the more often agreed first; None if none is."""
        common = [p for p in lifted if p.non_matches >= MIN_KEY_NON_MATCHES]
        if not common:
            return None
        best = max(common, key=lambda p: p.excess)
        pair = (best.first, best.second)
        params = self.parameters.comparisons
        tops = tuple(len(params[c.name].m) - 1 for c in pair)
        return Anchor((*anchor.parts, *pair), (*anchor.tops, *tops))

    def _chained_on_head(
        self,
        anchor: Anchor,
        found: dict[str, Dependency],
        matches: float,
        lifted: Sequence[LiftedPair],
    ) -> dict[str, Dependency]:
        """Too few non-matches for a household key, but enough to count: the more often
        agreed part of the ``lifted`` pair with the most excess (the head: a surname) widens
        the anchor, and each dependent lifted together with it (a date of birth: twins)
        becomes conditional on anchor and head, its top level's u from exact counts (the
        household counted once, not once per shared part); empty when nothing is lifted."""
        if not lifted:
            return {}
        head = max(lifted, key=lambda p: p.excess).first
        params = self.parameters.comparisons
        prefix = len(anchor.parts)
        out = {}
        for pair in lifted:
            if pair.first is not head or pair.second.name in out:
                continue
            tops = (len(params[head.name].m) - 1, len(params[pair.second.name].m) - 1)
            key = Anchor((*anchor.parts, head, pair.second), (*anchor.tops, *tops))
            given = found[pair.second.name]
            chained = self._given_head(key, matches, given)
            out[pair.second.name] = chained.given_prefix(prefix, given)
        logger.info(
            "anchor %s widened by %s: conditional u given both for %s",
            " + ".join(anchor.names),
            head.name,
            ", ".join(out),
        )
        return out

    def _key_non_matches(
        self, anchor: Anchor, extra: Sequence[Comparison], matches: float
    ) -> float:
        """Record pairs agreeing on the anchor and the ``extra`` comparisons' top levels,
        less the matches among them (the anchor's ``matches``, kept by each extra's m)."""
        columns = anchor.columns() + [exact_top(c).column for c in extra]  # type: ignore[union-attr]
        kept = 1.0
        for c in extra:
            kept *= self._m_top(c)
        return max(float(self._agreeing_pairs(list(dict.fromkeys(columns)))) - matches * kept, 1.0)
