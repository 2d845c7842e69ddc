"""Exceptions raised by :mod:`pipeline`, and the exit codes a scheduler acts on.

Every exception derives from :class:`PipelineError` and carries an ``exit_code``. Errors are
picklable (they cross process boundaries under dask) and say whether a retry may help
(``transient``). Messages name the file, row and field of a problem, never the value.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_DATA = 3
EXIT_TRANSIENT = 75  # EX_TEMPFAIL from sysexits.h: schedulers retry these


class PipelineError(Exception):
    """Base class for every error raised by the pipeline package."""

    exit_code: int = 1
    transient: bool = False


class ProblemList(PipelineError):
    """An error listing every problem found, not just the first, each naming where (a
    field, a row), never a value. ``source`` (a file or option) prefixes the message."""

    def __init__(self, problems: list[str] | str, *, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            message = f"{where}{self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{where}{len(self.problems)} problems:\n{lines}"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_problem_list, (type(self), self.problems, self.source))


def _rebuild_problem_list(
    cls: type[ProblemList], problems: list[str], source: str | None
) -> ProblemList:
    return cls(problems, source=source)


class ConfigError(ProblemList, ValueError):
    """A configuration is invalid. Lists every problem found, not just the first."""

    exit_code = EXIT_CONFIG


class DataError(PipelineError):
    """Input data cannot be processed (unreadable file, missing column, bad encoding...)."""

    exit_code = EXIT_DATA


class TransientError(PipelineError):
    """A failure that may succeed on retry (lock held by another run, resource busy)."""

    exit_code = EXIT_TRANSIENT
    transient = True
