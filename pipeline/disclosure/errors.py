"""Exceptions raised by disclosure control.

Messages name columns, cells (by their category labels) and counts, never a record's value.
All of them are data errors (exit code 3): the output cannot leave the TRE as it stands; the
exceptions are :class:`PerturbationTableError` (a bad p-table file) and
:class:`ModelOutputError` (bad model outputs), both exit code 2.
"""

from __future__ import annotations

from pipeline.errors import EXIT_CONFIG, EXIT_DATA, PipelineError, ProblemList


class DisclosureError(PipelineError):
    """Base class for every disclosure-control failure."""

    exit_code = EXIT_DATA


class IdentifierLeak(DisclosureError):
    """Values from a direct-identifier column appear in an extract.

    ``leaks`` holds ``(extract_column, source_name, count)`` triples; never the values.
    """

    def __init__(self, leaks: list[tuple[str, str, int]]) -> None:
        self.leaks = list(leaks)
        parts = [f"column {c!r} holds {n} value(s) from identifier {s!r}" for c, s, n in leaks]
        super().__init__("identifier leak: " + "; ".join(parts))

    def __reduce__(self) -> tuple[object, ...]:
        return (IdentifierLeak, (self.leaks,))


class SuppressionBudgetExceeded(DisclosureError):
    """k-anonymity (or l-diversity) needs more local suppression than the budget allows."""

    def __init__(self, needed: int, budget: int, total: int) -> None:
        self.needed, self.budget, self.total = needed, budget, total
        super().__init__(
            f"local suppression would touch {needed} of {total} records; budget is {budget}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (SuppressionBudgetExceeded, (self.needed, self.budget, self.total))


class ReidentificationRiskExceeded(DisclosureError):
    """The extract's re-identification risk is above a configured limit (fail closed).

    Carries the expected number of re-identifications and the number of records above the
    individual-risk limit, with the limits; never a record."""

    def __init__(
        self,
        *,
        expected: float,
        max_expected: float | None,
        records_above: int,
        max_individual: float | None,
    ) -> None:
        self.expected, self.max_expected = expected, max_expected
        self.records_above, self.max_individual = records_above, max_individual
        parts = []
        if max_expected is not None and expected > max_expected:
            parts.append(
                f"expected re-identifications {expected:.3g} exceed the limit {max_expected:g}"
            )
        if records_above:
            parts.append(
                f"{records_above} records have an individual risk above {max_individual:g}"
            )
        super().__init__("re-identification risk too high: " + "; ".join(parts))

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_risk, (self.expected, self.max_expected, self.records_above,
                                self.max_individual))  # fmt: skip


def _rebuild_risk(
    expected: float, max_expected: float | None, records_above: int, max_individual: float | None
) -> ReidentificationRiskExceeded:
    return ReidentificationRiskExceeded(
        expected=expected, max_expected=max_expected, records_above=records_above,
        max_individual=max_individual,
    )  # fmt: skip


class UnsafeTable(DisclosureError):
    """A table cannot be made safe by the configured treatments."""


class TableSpecError(DisclosureError):
    """A table specification does not fit the data (missing column, bad statistic...)."""


class _ProblemList(DisclosureError, ProblemList, ValueError):
    """A user-supplied file or value is malformed (exit code 2). Lists every problem found,
    each naming the field and the rows (data rows counted from 1), never a value."""

    exit_code = EXIT_CONFIG


class PerturbationTableError(_ProblemList):
    """A perturbation table (p-table) is malformed. Lists every problem found, each naming the
    field and the rows (data rows counted from 1, header excluded), never a table value."""


class ModelOutputError(_ProblemList):
    """Model outputs given for checking are malformed: a residual degrees of freedom that is
    not a whole number >= 0, a model name missing or repeated, a models file without its
    columns. Lists every problem, naming fields and rows."""
