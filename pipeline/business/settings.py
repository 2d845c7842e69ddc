"""Thresholds and options of business matching (:class:`MatchSettings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import ConfigError

#: A fixed cut. ``"auto"`` (the cut that maximises the model's expected F1,
#: :mod:`pipeline.business.threshold`) beats 0.9 on F1 on the seen and the unseen benchmark
#: data (unseen, seeds 0-5: +0.0004 to +0.0044), but costs 1.6-2.4 points of precision, takes
#: names-only links to sister companies over 1% of incoming (1.2-1.3%), and empties the review
#: band curators work from (benchmarks/README.md, "Unseen business data").
DEFAULT_MATCH_THRESHOLD: float | Literal["auto"] = 0.9


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds and model options (probabilities in [0, 1]).

    A best candidate with probability >= ``match_threshold`` is a match; between
    ``review_threshold`` and it, clerical review (defaults 0.9 and 0.5). With
    ``match_threshold="auto"``, the cut that maximises the model's expected F1 for the run,
    never below 0.5 (:mod:`pipeline.business.threshold`); the review band is empty when that
    cut falls below ``review_threshold``. A name token is *rare* when it is in at most
    ``max(rare_frequency * N, rare_min_records)`` of the N records; only tokens in at most
    ``max(block_frequency * N, block_min_records)`` records are used as blocking keys.

    ``office_size`` and ``large_office_size``: a postcode where at least this many register
    rows are is an office (an accountant's, a formation agent's); a record elsewhere is scored
    apart for its rows, per size (see
    :func:`pipeline.business.location.location_comparison`). An ordinary postcode covers
    about 15 addresses, so ten companies at one is a building that holds companies, not a
    business's own premises (a family of sister companies usually has fewer); a hundred is a
    registered-office service.

    ``contradicting_crn``: a record whose valid CRN is in no register row, matched by name to
    a company with another valid CRN, goes to ``"review"`` (default), or is decided by the
    model's evidence alone (``"evidence"``: the CRN disagreement weighs against it, a mistyped
    CRN of a registered company can still link).
    """

    match_threshold: float | Literal["auto"] = DEFAULT_MATCH_THRESHOLD
    review_threshold: float = 0.5
    rare_frequency: float = 0.001
    rare_min_records: int = 10
    block_frequency: float = 0.0002
    block_min_records: int = 20
    min_labelled_pairs: int = 30
    max_training_pairs: int = 300_000
    contradicting_crn: Literal["review", "evidence"] = "review"
    office_size: int = 10
    large_office_size: int = 100
    memory_limit: str = "4GB"
    threads: int = 2
    seed: int = 1

    def __post_init__(self) -> None:
        problems = []
        problems.extend(self._threshold_problems())
        for name in ("rare_frequency", "block_frequency"):
            if not 0.0 < getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in (0, 1]")
        for name in (
            "rare_min_records",
            "block_min_records",
            "min_labelled_pairs",
            "max_training_pairs",
            "threads",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        sizes = (self.office_size, self.large_office_size)
        if any(isinstance(n, bool) or not isinstance(n, int) for n in sizes):
            problems.append("office_size and large_office_size must be integers")
        elif not 2 <= self.office_size < self.large_office_size:
            problems.append("office sizes must satisfy 2 <= office_size < large_office_size")
        if self.contradicting_crn not in ("review", "evidence"):
            problems.append("contradicting_crn must be 'review' or 'evidence'")
        if problems:
            raise ConfigError(problems, source="match settings")

    def _threshold_problems(self) -> list[str]:
        match, review = self.match_threshold, self.review_threshold
        if not _is_probability(review):
            return ["review_threshold must be a number in [0, 1]"]
        if match == "auto":
            return []
        if not _is_probability(match):
            return ["match_threshold must be 'auto' or a number in [0, 1]"]
        if review > match:
            return ["thresholds must satisfy 0 <= review <= match <= 1"]
        return []


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
