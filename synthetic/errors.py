"""The one exception the generators raise."""

from __future__ import annotations


class SyntheticError(ValueError):
    """A generator was asked for something it cannot make (a negative count, a rate outside
    0-1). One argument per problem, all found at once; pickles like any exception."""

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.args]

    def __str__(self) -> str:
        return "; ".join(self.problems)
