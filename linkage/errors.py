"""Exceptions raised by :mod:`linkage`. Messages name columns and settings, never record values."""

from __future__ import annotations


class LinkageError(Exception):
    """Base class for every error raised by the linkage package."""


class SettingsError(LinkageError, ValueError):
    """Settings or comparison parameters are invalid. Lists every problem found, not the first."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{len(self.problems)} problems:\n{lines}"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (SettingsError, (self.problems,))


class InputDataError(SettingsError):
    """Input data does not fit the settings (missing column, duplicate or null ids).

    Like :class:`SettingsError` it lists every problem; messages name columns, never values.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (InputDataError, (self.problems,))


class ModelNotTrainedError(LinkageError):
    """Scoring or thresholding was asked for before the parameters it needs were estimated."""


class DialectError(LinkageError):
    """A SQL function needed by a comparison is not available in the chosen backend."""


class ClusterUnavailableError(LinkageError):
    """The dask scheduler named for partitioned linkage cannot be reached or started: a
    transient failure (retry later), not a problem with the settings or the data."""
