"""Fellegi-Sunter parameters (m, u per level, lambda) and EM on aggregated comparison patterns.

EM never sees individual pairs: callers pass the distinct gamma patterns and their counts
(``GROUP BY`` the gamma columns in SQL), so an iteration costs O(distinct patterns), not O(pairs).
A gamma of ``-1`` (null level) contributes nothing to either likelihood.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from linkage.comparisons import Comparison
from linkage.errors import ModelNotTrainedError, SettingsError

logger = logging.getLogger(__name__)

# Floor for m and u: a level never seen in training must not get an infinite weight.
PROBABILITY_FLOOR = 1e-6

FloatArray = npt.NDArray[np.float64]
#: A dependency's anchor states (see :class:`Dependency`), in the order they are tried
AnchorState = Literal["top", "partial", "other"]
ANCHOR_STATES: tuple[AnchorState, ...] = ("top", "partial", "other")
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _log2_ratios(m: Sequence[float], u: Sequence[float]) -> list[float]:
    return [
        math.log2(max(a, PROBABILITY_FLOOR) / max(b, PROBABILITY_FLOOR))
        for a, b in zip(m, u, strict=True)
    ]


@dataclass
class ComparisonParameters:
    """m and u for each non-null level of one comparison, indexed by gamma code."""

    name: str
    labels: list[str]
    m: list[float | None]
    u: list[float | None]

    @classmethod
    def initial(cls, comparison: Comparison) -> ComparisonParameters:
        """m decays by 4x per level from the most similar; u unset until estimated."""
        infos = [i for i in comparison.level_info() if not i.is_null]
        k = len(infos)
        raw = [4.0 ** -(k - 1 - g) for g in range(k)]
        total = sum(raw)
        labels = [""] * k
        for info in infos:
            labels[info.gamma] = info.label
        return cls(comparison.name, labels, [r / total for r in raw], [None] * k)


@dataclass
class Dependency:
    """m and u of a comparison *given* the levels of others (its anchor).

    Fellegi-Sunter multiplies evidence from comparisons assumed independent given match
    status. Address parts are not: people sharing a postcode (a household, the neighbours)
    very often share the street, town, house number and surname too, and a person who moves
    changes all of them at once. A dependent comparison therefore has two sets of m/u: one
    for pairs whose anchor is at its most similar level (``top``) and one for pairs where
    the anchor is known but less similar (``other``); pairs with a null anchor use the
    comparison's ordinary m/u.

    An anchor may be several comparisons (``anchor`` names them, ``anchor_top`` gives each
    one's top gamma): it is at ``top`` when every one of them is, known when none is null.
    A part's ``anchor_top`` may sit one level below its most similar one, when pairs at that
    level (a street name misspelt) share the household as the exact ones do
    (:mod:`linkage.near_tops`): gammas at or above it count as the top.

    A household key (postcode, house number, surname) is an anchor widened from a shorter
    one (postcode). A pair agreeing on the postcode but not the whole key is still a pair of
    neighbours, among whom the street agrees three times in four, not one in four hundred:
    such a dependency also has m/u for the ``partial`` state, where the first ``prefix``
    anchor comparisons are at their top and the whole anchor is not (whatever the others'
    levels, null included). A pair missing one anchor part, the others at their top, mixes
    the top state with the one it would be in were that part to disagree
    (:meth:`missing_weights`). States are taken in the order top, missing, partial, other;
    a pair in none of them uses the comparison's ordinary m/u.
    """

    anchor: tuple[str, ...]
    anchor_top: tuple[int, ...]
    m_top: list[float]
    u_top: list[float]
    m_other: list[float]
    u_other: list[float]
    prefix: int = 0
    m_prefix: list[float] = field(default_factory=list)
    u_prefix: list[float] = field(default_factory=list)
    #: anchor part -> (share of non-matches, share of matches) agreeing on it among the
    #: pairs agreeing on the other parts (see :meth:`missing_weights`)
    missing: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.anchor) != len(self.anchor_top) or not self.anchor:
            raise SettingsError("a dependency needs one top gamma per anchor comparison")
        if self.prefix and not (
            0 < self.prefix < len(self.anchor) and len(self.m_prefix) == len(self.m_top)
        ):
            raise SettingsError("a partial anchor state needs a shorter prefix and its m/u")

    def given_prefix(self, prefix: int, given: Dependency) -> Dependency:
        """This dependency with the partial state of its first ``prefix`` anchor
        comparisons taken from ``given`` (the same comparison's dependency on them alone)."""
        self.prefix, self.m_prefix, self.u_prefix = prefix, list(given.m_top), list(given.u_top)
        self.__post_init__()
        return self

    def _m_u(self, bucket: AnchorState) -> tuple[list[float], list[float]]:
        return {
            "top": (self.m_top, self.u_top),
            "partial": (self.m_prefix, self.u_prefix),
            "other": (self.m_other, self.u_other),
        }[bucket]

    def weights(self, bucket: AnchorState) -> list[float]:
        """log2(m/u) per gamma code in anchor state ``bucket``."""
        return _log2_ratios(*self._m_u(bucket))

    def missing_weights(self, part: str) -> list[float]:
        """log2(m/u) per gamma code for a pair missing anchor part ``part`` whose other parts
        are at their top: top-state m and u mixed with those of the state the pair would be
        in were the part to disagree, by the shares of matches and of non-matches agreeing
        on the other parts that agree on ``part`` too."""
        u_agree, m_agree = self.missing[part]
        later = self.prefix and self.anchor.index(part) >= self.prefix
        m_else, u_else = self._m_u("partial" if later else "other")
        m = [m_agree * a + (1.0 - m_agree) * b for a, b in zip(self.m_top, m_else, strict=True)]
        u = [u_agree * a + (1.0 - u_agree) * b for a, b in zip(self.u_top, u_else, strict=True)]
        return _log2_ratios(m, u)

    def weighted_rows(self, states: AnchorStates) -> Iterator[tuple[list[float], BoolArray]]:
        """Each anchor state's log2(m/u) per gamma code and its rows in ``states``."""
        for bucket, rows in zip(ANCHOR_STATES, states[:3], strict=True):
            yield self.weights(bucket), rows
        for part, rows in states.missing:
            yield self.missing_weights(part), rows

    def anchor_states(self, names: Sequence[str], patterns: IntArray) -> AnchorStates | None:
        """Row masks of pattern rows (columns: comparisons ``names``) in each anchor state;
        None when an anchor comparison is not among ``names``."""
        if not set(self.anchor) <= set(names):
            return None
        cols = [patterns[:, list(names).index(a)] for a in self.anchor]
        at_top = [g >= t for g, t in zip(cols, self.anchor_top, strict=True)]
        top = np.logical_and.reduce(at_top)
        missing = []
        for part in self.missing:
            i = self.anchor.index(part)
            others = [t for k, t in enumerate(at_top) if k != i]
            missing.append((part, (cols[i] < 0) & np.logical_and.reduce(others)))
        partial = np.zeros_like(top)
        if self.prefix:
            partial = np.logical_and.reduce(
                [*at_top[: self.prefix], ~top, *(~r for _, r in missing)]
            )
        known = np.logical_and.reduce([g >= 0 for g in cols])
        return AnchorStates(top, partial, known & ~top & ~partial, tuple(missing))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "anchor": list(self.anchor),
            "anchor_top": list(self.anchor_top),
            "m_top": self.m_top,
            "u_top": self.u_top,
            "m_other": self.m_other,
            "u_other": self.u_other,
        }
        if self.prefix:
            out |= {"prefix": self.prefix, "m_prefix": self.m_prefix, "u_prefix": self.u_prefix}
        if self.missing:
            out["missing"] = {
                p: {"non_matches": u, "matches": m} for p, (u, m) in self.missing.items()
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dependency:
        """Read :meth:`to_dict` output; a single anchor name and top (version 1) too."""
        anchor, top = data["anchor"], data["anchor_top"]
        names = (str(anchor),) if isinstance(anchor, str) else tuple(map(str, anchor))
        tops = (int(top),) if isinstance(top, int) else tuple(map(int, top))
        m_top, u_top, m_other, u_other = (
            list(map(float, data[k])) for k in ("m_top", "u_top", "m_other", "u_other")
        )
        prefix = int(data.get("prefix", 0))
        m_prefix, u_prefix = (list(map(float, data.get(k, []))) for k in ("m_prefix", "u_prefix"))
        missing = {
            str(p): (float(v["non_matches"]), float(v["matches"]))
            for p, v in data.get("missing", {}).items()
        }
        return cls(names, tops, m_top, u_top, m_other, u_other, prefix, m_prefix, u_prefix, missing)


class AnchorStates(NamedTuple):
    """Row masks of a dependency's anchor states (see :class:`Dependency`); a row is in at
    most one of them."""

    top: BoolArray
    partial: BoolArray
    other: BoolArray
    #: (anchor part, rows missing it whose other parts are at their top), per part in
    #: :attr:`Dependency.missing`
    missing: tuple[tuple[str, BoolArray], ...] = ()

    def conditional(self) -> BoolArray:
        """Rows in any state (the others use the comparison's ordinary m/u)."""
        out = self.top | self.partial | self.other
        for _, rows in self.missing:
            out = out | rows
        return out


@dataclass
class ModelParameters:
    """Everything scoring needs: lambda, per-comparison m/u and any dependencies
    (comparison name -> :class:`Dependency` on an anchor comparison)."""

    probability_two_random_records_match: float
    comparisons: dict[str, ComparisonParameters] = field(default_factory=dict)
    dependencies: dict[str, Dependency] = field(default_factory=dict)

    @classmethod
    def initial(cls, comparisons: Sequence[Comparison], prior: float) -> ModelParameters:
        return cls(prior, {c.name: ComparisonParameters.initial(c) for c in comparisons})

    def check_trained(self) -> None:
        missing = [n for n, p in self.comparisons.items() if any(u is None for u in p.u)]
        if missing:
            raise ModelNotTrainedError(
                "u probabilities are not estimated for: "
                + ", ".join(missing)
                + " (call estimate_u first)"
            )

    def bayes_factors(self, name: str) -> list[float]:
        """Bayes factor m/u for each gamma code of comparison ``name``."""
        p = self.comparisons[name]
        return [
            max(m or 0.0, PROBABILITY_FLOOR) / max(u or 0.0, PROBABILITY_FLOOR)
            for m, u in zip(p.m, p.u, strict=True)
        ]

    def weights(self, name: str) -> list[float]:
        """Match weight log2(m/u) for each gamma code of comparison ``name``."""
        return [math.log2(bf) for bf in self.bayes_factors(name)]

    def log2_bayes_factors(self, names: Sequence[str], patterns: IntArray) -> FloatArray:
        """Total log2 Bayes factor (no prior, no term frequencies) of each pattern row, whose
        columns are the gamma codes of comparisons ``names``; dependencies are applied."""
        out = np.zeros(patterns.shape[0])
        for j, name in enumerate(names):
            g = patterns[:, j]
            valid = g >= 0
            plain = np.asarray(self.weights(name))
            w = np.where(valid, plain[np.maximum(g, 0)], 0.0)
            dep = self.dependencies.get(name)
            states = None if dep is None else dep.anchor_states(names, patterns)
            if dep is not None and states is not None:
                for weights, rows in dep.weighted_rows(states):
                    if rows.any():
                        given = np.asarray(weights)[np.maximum(g, 0)]
                        w = np.where(valid & rows, given, w)
            out += w
        return out

    def prior_weight(self) -> float:
        lam = self.probability_two_random_records_match
        return math.log2(lam / (1.0 - lam))

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "dependencies": {n: d.to_dict() for n, d in self.dependencies.items()},
            "comparisons": [
                {
                    "name": p.name,
                    "levels": [
                        {"gamma": g, "label": p.labels[g], "m": p.m[g], "u": p.u[g]}
                        for g in range(len(p.m))
                    ],
                }
                for p in self.comparisons.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelParameters:
        try:
            comps = {}
            for c in data["comparisons"]:
                levels = sorted(c["levels"], key=lambda v: v["gamma"])
                comps[c["name"]] = ComparisonParameters(
                    c["name"],
                    [v["label"] for v in levels],
                    [v["m"] for v in levels],
                    [v["u"] for v in levels],
                )
            deps = {n: Dependency.from_dict(d) for n, d in data.get("dependencies", {}).items()}
            return cls(float(data["probability_two_random_records_match"]), comps, deps)
        except (KeyError, TypeError, ValueError) as exc:
            raise SettingsError(f"model parameters are malformed ({type(exc).__name__})") from None


@dataclass
class EMResult:
    """Outcome of one EM run."""

    m: list[FloatArray]
    u: list[FloatArray]
    lambda_: float
    iterations: int
    converged: bool


def _level_probabilities(gammas: IntArray, weights: FloatArray, n_levels: int) -> FloatArray:
    """Weighted share of each gamma code among non-null observations."""
    valid = gammas >= 0
    totals = np.bincount(gammas[valid], weights=weights[valid], minlength=n_levels)
    denom = totals.sum()
    if denom <= 0:
        return np.full(n_levels, 1.0 / n_levels)
    return np.asarray(totals / denom, dtype=np.float64)


def _log_likelihood(patterns: IntArray, probs: Sequence[FloatArray]) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for j, p in enumerate(probs):
        g = patterns[:, j]
        valid = g >= 0
        out[valid] += np.log(np.maximum(p[g[valid]], PROBABILITY_FLOOR))
    return out


def posterior(
    patterns: IntArray, m: Sequence[FloatArray], u: Sequence[FloatArray], lambda_: float
) -> FloatArray:
    """P(match | pattern) for each pattern row."""
    log_odds = (
        math.log(lambda_)
        - math.log1p(-lambda_)
        + _log_likelihood(patterns, m)
        - _log_likelihood(patterns, u)
    )
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700))), dtype=np.float64)


def expectation_maximisation(
    patterns: IntArray,
    counts: FloatArray,
    m_init: Sequence[FloatArray],
    u_init: Sequence[FloatArray],
    lambda_init: float,
    *,
    estimate_u: bool = False,
    max_iterations: int = 50,
    convergence: float = 1e-5,
    free_m: Sequence[bool] | None = None,
    free_u: Sequence[bool] | None = None,
) -> EMResult:
    """EM over distinct patterns (rows of gamma codes) weighted by ``counts``.

    u stays fixed (estimated from random pairs) unless ``estimate_u``. ``free_m`` (one flag
    per column, default all) says which comparisons' m EM may move, ``free_u`` (default
    ``free_m``) which u it may move with ``estimate_u``; the others keep their initial
    values. Stops when no m, u or lambda moves by more than ``convergence``.
    """
    if patterns.ndim != 2 or patterns.shape[0] != counts.shape[0]:
        raise ValueError("patterns must be 2-D with one count per row")
    m = [np.asarray(v, dtype=np.float64).copy() for v in m_init]
    u = [np.asarray(v, dtype=np.float64).copy() for v in u_init]
    lam = float(lambda_init)
    total = float(counts.sum())
    free = [True] * len(m) if free_m is None else list(free_m)
    free_u_ = free if free_u is None else list(free_u)
    if len(free) != len(m) or len(free_u_) != len(m):
        raise ValueError("free_m and free_u need one flag per comparison")
    for iteration in range(1, max_iterations + 1):
        p = posterior(patterns, m, u, lam)
        w_match = counts * p
        new_lam = float(np.clip(w_match.sum() / total, 1e-12, 1 - 1e-12))
        new_m = [
            _level_probabilities(patterns[:, j], w_match, len(m[j])) if free[j] else m[j]
            for j in range(len(m))
        ]
        new_u = u
        if estimate_u:
            w_non = counts * (1.0 - p)
            new_u = [
                _level_probabilities(patterns[:, j], w_non, len(u[j])) if free_u_[j] else u[j]
                for j in range(len(u))
            ]
        change = max(
            abs(new_lam - lam),
            max(float(np.max(np.abs(a - b))) for a, b in zip(new_m, m, strict=True)),
            max(float(np.max(np.abs(a - b))) for a, b in zip(new_u, u, strict=True)),
        )
        m, u, lam = new_m, new_u, new_lam
        if change < convergence:
            return EMResult(m, u, lam, iteration, True)
    logger.info("EM stopped after %d iterations without converging", max_iterations)
    return EMResult(m, u, lam, max_iterations, False)


def estimate_global_lambda(
    patterns: IntArray,
    counts: FloatArray,
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    total_pairs: float,
    lambda_init: float,
    *,
    max_iterations: int = 200,
    tolerance: float = 1e-9,
) -> float:
    """Fixed point of lambda = E[matches among candidates | lambda] / all possible pairs.

    Assumes pairs outside the blocked candidates are (almost) never matches, which is what
    blocking rules are chosen for; the estimate is then the EM update of lambda alone.
    """
    log2_bf = (_log_likelihood(patterns, m) - _log_likelihood(patterns, u)) / math.log(2.0)
    return lambda_from_weights(
        log2_bf,
        counts,
        total_pairs,
        lambda_init,
        max_iterations=max_iterations,
        tolerance=tolerance,
    )


def lambda_from_weights(
    log2_bayes_factors: FloatArray,
    counts: FloatArray,
    total_pairs: float,
    lambda_init: float,
    *,
    max_iterations: int = 200,
    tolerance: float = 1e-9,
) -> float:
    """:func:`estimate_global_lambda` given each pattern's total log2 Bayes factor."""
    log_bf = log2_bayes_factors * math.log(2.0)
    lam = lambda_init
    for _ in range(max_iterations):
        log_odds = math.log(lam) - math.log1p(-lam) + log_bf
        p = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        new = min(max(float((counts * p).sum()) / total_pairs, 1e-15), 1 - 1e-9)
        if abs(new - lam) <= tolerance * max(lam, 1e-12):
            return new
        lam = new
    return lam
