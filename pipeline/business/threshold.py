"""The match threshold of a business run, and what the model expects of it.

With ``MatchSettings.match_threshold="auto"`` (``--match-threshold auto``) the cut on the
records' best exclusive probabilities is the one that maximises the model's expected F1 for
the whole run (:func:`linkage.evaluate.expected_f1_curve`):

* expected true links = the identifier (and clerical) links, counted as right, + for every
  record with candidates the probability that its enterprise is among them (the sum of its
  candidates' exclusive probabilities);
* expected right links at cut t = the identifier links + the sum of the best probabilities
  >= t (a record links to its best candidate only), over records no rule keeps unlinked (a
  contradicting CRN: :mod:`pipeline.business.crn_rule`).

The automatic cut never goes below :data:`AUTO_FLOOR`, so a record whose best candidate is
more likely wrong than right is not linked unattended. Without it the cut would sit at about
half the expected F1: with R expected right links among L links and E expected true links,
F1 = 2R / (L + E), and one more link of probability p raises it exactly when p > F1 / 2. So
the unguarded optimum is below 0.5 whenever the model expects an F1 below 1, and the floor
binds on nearly every run; the unguarded cut is reported next to it. A number given instead
of ``"auto"`` is used as it is (a WARNING below 0.5), with the model's expectations at it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from linkage.evaluate import expected_f1_curve

logger = logging.getLogger(__name__)

AUTO = "auto"
#: The automatic cut links only records whose best candidate is at least as likely right.
AUTO_FLOOR = 0.5


@dataclass(frozen=True)
class ThresholdChoice:
    """The cut a run used, how it was set, and the model's expectations at it.

    ``setting``: ``"auto"`` or the number given; ``unguarded``: the cut maximising the
    expected F1 before :data:`AUTO_FLOOR` (``None`` for a given number).
    """

    setting: float | str
    threshold: float
    expected_precision: float
    expected_recall: float
    expected_f1: float
    expected_true_links: float
    unguarded: float | None = None

    def facts(self) -> dict[str, object]:
        """Numbers for the report and the manifest (rounded to 6 places)."""
        return {
            "setting": self.setting,
            "match_threshold": round(self.threshold, 6),
            "unguarded_threshold": None if self.unguarded is None else round(self.unguarded, 6),
            "expected_precision": round(self.expected_precision, 6),
            "expected_recall": round(self.expected_recall, 6),
            "expected_f1": round(self.expected_f1, 6),
            "expected_true_links": round(self.expected_true_links, 3),
        }


def choose_threshold(
    best: pl.DataFrame, setting: float | str, *, certain_links: int
) -> ThresholdChoice:
    """The run's cut (module docstring) from ``best``, one row per record with candidates:
    ``match_probability`` (its best candidate's exclusive probability), ``total`` (the sum of
    its candidates' exclusive probabilities) and ``linkable`` (False: a rule keeps it
    unlinked). ``certain_links``: records linked by an identifier or a curator."""
    linkable = best.filter(pl.col("linkable"))
    histogram = linkable.group_by("match_probability").agg(
        pl.col("match_probability").first().alias("probability"),
        pl.len().alias("pairs"),
        pl.col("match_probability").sum().alias("sum_probability"),
    )
    expected = certain_links + float(best["total"].sum())
    missed = max(expected - certain_links - float(linkable["match_probability"].sum()), 0.0)
    curve = expected_f1_curve(histogram, certain=certain_links, missed=missed)
    unguarded = None
    if setting == AUTO:
        best_cut = int(np.argmax(curve["expected_f1"].to_numpy())) if curve.height else None
        unguarded = AUTO_FLOOR if best_cut is None else float(curve["probability"][best_cut])
        threshold = max(unguarded, AUTO_FLOOR)
    else:
        threshold = float(setting)
    precision, recall, f1 = _at(curve, threshold, certain_links, expected)
    choice = ThresholdChoice(setting, threshold, precision, recall, f1, expected, unguarded)
    _log(choice)
    return choice


def _at(
    curve: pl.DataFrame, threshold: float, certain: int, expected: float
) -> tuple[float, float, float]:
    """Expected precision, recall and F1 when every record at or above ``threshold`` is
    linked (with no record there, the certain links alone)."""
    reached = curve.filter(pl.col("probability") >= threshold)
    if reached.height:
        row = reached.row(reached.height - 1, named=True)
        return row["expected_precision"], row["expected_recall"], row["expected_f1"]
    precision = 1.0 if certain else 0.0
    recall = certain / expected if expected else 0.0
    return precision, recall, (2 * certain / (certain + expected) if certain else 0.0)


def _log(choice: ThresholdChoice) -> None:
    how = "as set" if choice.unguarded is None else f"auto, unguarded {choice.unguarded:.4f}"
    logger.info(
        "match threshold %.4f (%s): expected precision %.4f, recall %.4f, F1 %.4f",
        choice.threshold, how, choice.expected_precision, choice.expected_recall,
        choice.expected_f1,
    )  # fmt: skip
    if choice.threshold < AUTO_FLOOR:
        logger.warning(
            "match threshold %.4f is below %.1f: a record linked near it is more likely "
            "wrong than right",
            choice.threshold, AUTO_FLOOR,
        )  # fmt: skip
