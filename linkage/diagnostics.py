"""What training found wrong, kept where reports can show it.

Every problem training meets (EM that did not converge, a pass discarded as implausible, a
fallback pass, a comparison whose m could not be estimated, a column that is entirely null,
dates that do not parse, a lambda beyond what the data allow, a model its own training blocks
disagree with) is logged at WARNING on the ``linkage`` loggers *and* recorded as a
:class:`TrainingWarning` on the linker's :class:`TrainingDiagnostics`, which is saved with the
model. Messages and details name comparisons, rules and counts, never record values.

>>> linker.train()                                        # doctest: +SKIP
>>> [w.code for w in linker.training_warnings]            # doctest: +SKIP
['em_not_converged', 'precision_estimate_unreliable']
>>> linker.diagnostics.to_dict()                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Detail = float | int | str | bool | None
Step = Literal["data", "estimate_u", "estimate_m", "dependencies", "lambda", "evaluate"]

#: Every warning code, with what it means (reports may show this text beside the code).
CODES: dict[str, str] = {
    "column_all_null": "a comparison's column is null in every record of an input: "
    "the comparison carries no evidence",
    "dates_unparsed": "most values of a date column do not parse as dates (give date_format): "
    "the date-distance levels never apply",
    "em_not_converged": "an EM pass stopped at its iteration limit without converging",
    "pass_discarded": "an EM pass expected more matches than the data allow and was not used",
    "all_passes_implausible": "every EM pass expected more matches than the data allow; the "
    "least implausible one was used",
    "fallback_pass": "a comparison no prediction block could train was trained on a fallback block",
    "m_not_estimated": "no usable EM pass estimated a comparison's m: its previous values are kept",
    "m_from_all_candidates": "no EM pass could train a comparison: its m was estimated over "
    "all candidate pairs under the whole model (less robust to households than a pass)",
    "small_training_block": "an EM pass was fitted on few pairs: its estimates are noisy",
    "lambda_exceeds_bound": "the model expects more matches than the blocking and one-to-one "
    "bounds allow",
    "records_expect_many_matches": "some records expect several matches each (households "
    "taken for people?)",
    "blocks_disagree": "a training block's own EM pass and the final model expect very "
    "different numbers of matches among the same pairs",
    "links_beyond_one_to_one": "more links at the automatic threshold go to records already "
    "linked (on either side) than the model expects false links: if either input lists each "
    "person once, the precision estimate is too high",
    "precision_estimate_unreliable": "the unsupervised precision and recall estimates are "
    "unreliable for this model (see the checks in linkage.checks)",
}


@dataclass(frozen=True)
class TrainingWarning:
    """One problem met in training. ``code`` is one of :data:`CODES`; ``details`` holds
    counts and ratios (never record values)."""

    code: str
    message: str
    step: Step
    comparison: str | None = None
    rule: str | None = None
    details: Mapping[str, Detail] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["details"] = dict(self.details)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingWarning:
        return cls(
            str(data["code"]),
            str(data["message"]),
            data["step"],
            data.get("comparison"),
            data.get("rule"),
            dict(data.get("details") or {}),
        )


@dataclass
class PassRecord:
    """One EM pass of :meth:`~linkage.training.Trainer.estimate_m`."""

    rule: str
    pairs: int
    iterations: int
    converged: bool
    match_rate: float
    expected_matches: float
    trained: list[str]
    kind: Literal["prediction", "training", "supplementary"] = "prediction"
    used: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingDiagnostics:
    """Warnings, EM passes and checks of one linker's training (JSON-serialisable)."""

    warnings: list[TrainingWarning] = field(default_factory=list)
    passes: list[PassRecord] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def warn(
        self,
        logger: logging.Logger,
        code: str,
        message: str,
        *,
        step: Step,
        comparison: str | None = None,
        rule: str | None = None,
        **details: Detail,
    ) -> None:
        """Log ``message`` at WARNING on ``logger`` and record it (``code`` from CODES)."""
        if code not in CODES:
            raise ValueError(f"unknown training warning code {code!r}")
        logger.warning("%s [%s]", message, code)
        self.warnings.append(TrainingWarning(code, message, step, comparison, rule, details))

    def clear(self, *steps: Step) -> None:
        """Forget the warnings of ``steps`` (a step run again reports afresh)."""
        self.warnings = [w for w in self.warnings if w.step not in steps]

    def withdraw(self, code: str, comparisons: Sequence[str]) -> None:
        """Forget the ``code`` warnings about ``comparisons`` (the problem was mended)."""
        self.warnings = [
            w for w in self.warnings if not (w.code == code and w.comparison in comparisons)
        ]

    @property
    def codes(self) -> list[str]:
        return [w.code for w in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "warnings": [w.to_dict() for w in self.warnings],
            "passes": [p.to_dict() for p in self.passes],
            "checks": self.checks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrainingDiagnostics:
        if not data:
            return cls()
        return cls(
            [TrainingWarning.from_dict(w) for w in data.get("warnings", [])],
            [PassRecord(**p) for p in data.get("passes", [])],
            dict(data.get("checks", {})),
        )
