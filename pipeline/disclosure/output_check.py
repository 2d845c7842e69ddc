"""Check one output request end to end: what ``pprl check-output`` calls.

A request (:class:`OutputCheckOptions`) names a table (``data``: microdata, or ``table``:
cells already counted) grouped ``by`` some columns, and/or regression models' residual
degrees of freedom. :func:`check_output` checks and treats them, writes the treated table
(CSV and Parquet; only when a table was given), ``disclosure.json`` and ``disclosure.html``
atomically into ``out``, and returns an :class:`OutputCheckReport`; whether the outputs are
safe is for the caller to act on (the CLI exits 3 when not).

>>> report = check_output(OutputCheckOptions(Path("out"), data=Path("cohort.parquet"),
...                                          by=("region", "sex")))  # doctest: +SKIP
>>> report.summary_line()                                            # doctest: +SKIP
'pass: 12 cells, 0 primary and 0 secondary suppressions -> out'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.disclosure.cellkey import PerturbationTable, cast_record_keys, resolve_ptable
from pipeline.disclosure.check import TableCheckResult, check_counts, check_table
from pipeline.disclosure.errors import PerturbationTableError, TableSpecError, UnsafeTable
from pipeline.disclosure.regression import ModelCheck, check_models, load_models
from pipeline.disclosure.report import report_dict, report_html
from pipeline.disclosure.settings import RoundingRule, TableCheckSettings
from pipeline.disclosure.tables import TableSpec
from pipeline.errors import ConfigError
from pipeline.io import read_table


@dataclass(frozen=True)
class OutputCheckOptions:
    """One output request. ``None`` for ``count_column``, ``p_ratio`` and ``nk`` means "not
    asked for": the defaults of :class:`TableCheckSettings` (and ``count``) apply, and asking
    for them with counted cells (``table``) is an error, as dominance needs microdata.

    ``residual_dof`` holds ``[NAME=]N`` texts (unnamed ones become "model 1", "model 2", ...
    by position); ``models_file`` is a CSV with columns ``model``, ``residual_dof``.
    """

    out: Path
    data: Path | None = None
    table: Path | None = None
    by: tuple[str, ...] = ()
    stat: str = "count"
    count_column: str | None = None
    threshold: int = 10
    round_base: int | None = None
    random_round: bool = False
    seed: int = 0
    secondary: bool = True
    zeros_safe: bool = False
    p_ratio: float | None = None
    nk: tuple[int, float] | None = None
    protection: float = 0.0
    cell_key: str | None = None
    ptable: str = "generated"
    margins: bool = True
    residual_dof: tuple[str, ...] = ()
    models_file: Path | None = None
    dof_threshold: int = 10
    accept_review: bool = False


@dataclass(frozen=True)
class OutputCheckReport:
    """What a check found: the report written as ``disclosure.json``, the checked table (if
    any) and models, and the output folder."""

    report: dict[str, Any]
    table: TableCheckResult | None
    models: list[ModelCheck]
    out: Path

    @property
    def unsafe(self) -> list[str]:
        """The outputs not safe to release: ``table`` and/or ``regression outputs``."""
        found = []
        if self.table is not None and not self.table.safe:
            found.append("table")
        if any(m.status == "fail" for m in self.models):
            found.append("regression outputs")
        return found

    def summary_line(self) -> str:
        summary, parts = self.report["summary"], []
        if self.table is not None:
            parts.append(
                f"{summary['cells']} cells, {summary['primary_suppressions']} primary and "
                f"{summary['secondary_suppressions']} secondary suppressions"
            )
        if self.models:
            plural = "s" if summary["models"] != 1 else ""
            threshold = self.models[0].threshold
            parts.append(
                f"{summary['models']} model{plural}, {summary['models_failed']} below "
                f"{threshold} residual degrees of freedom"
            )
        return f"{self.report['verdict']}: {'; '.join(parts)} -> {self.out}"

    def raise_if_unsafe(self) -> None:
        """Raise :class:`UnsafeTable` (exit code 3) naming what is not safe to release."""
        if self.unsafe:
            raise UnsafeTable(
                f"{' and '.join(self.unsafe)} not safe to release; see disclosure.html"
            )


def check_output(options: OutputCheckOptions) -> OutputCheckReport:
    """Check and treat the request's table and models; write the outputs into ``out``."""
    problems = _input_problems(options)
    if problems:
        raise ConfigError(problems)
    settings = _settings(options)
    given = _models(options.residual_dof, options.models_file)
    models = check_models(given, settings) if given else []
    result: TableCheckResult | None = None
    source = options.models_file.name if options.models_file is not None else None
    path = options.data if options.data is not None else options.table
    if path is not None:
        try:
            spec = TableSpec.parse(options.by, options.stat, margins=options.margins)
        except TableSpecError as exc:
            raise ConfigError(str(exc)) from None
        result = _check(path, spec, settings, options)
        source = path.name
    report = report_dict(result, models=models, settings=settings, source=source)
    _write(options.out, result, report)
    return OutputCheckReport(report, result, models, options.out)


def _input_problems(o: OutputCheckOptions) -> list[str]:
    """Every problem with the choice of inputs, at once."""
    problems = []
    models = bool(o.residual_dof or o.models_file)
    if o.data is not None and o.table is not None:
        problems.append("give --data (microdata) or --table (counted cells), not both")
    elif o.data is None and o.table is None and not models:
        problems.append(
            "nothing to check: give --data or --table with --by, and/or --residual-dof or --models"
        )
    if (o.data is not None or o.table is not None) and not o.by:
        problems.append("--by: give at least one group-by column")
    if o.data is None and o.table is None and o.by:
        problems.append("--by needs --data or --table")
    if o.table is not None:
        problems += _counted_cell_problems(o)
    elif o.count_column is not None:
        problems.append("--count-column applies to --table only")
    return problems


def _counted_cell_problems(o: OutputCheckOptions) -> list[str]:
    """What a frequency table (counted cells) cannot give: statistics, record keys, dominance."""
    problems = []
    if o.stat != "count":
        problems.append(
            f"--stat {o.stat}: --table holds counts; sums, means, medians, minima and "
            "maxima need --data (microdata)"
        )
    if o.cell_key is not None:
        problems.append("--cell-key needs each record's key: use --data (microdata)")
    dominance = [
        flag for flag, value in (("--p-ratio", o.p_ratio), ("--nk", o.nk)) if value is not None
    ]
    if dominance:
        problems.append(
            f"{' and '.join(dominance)}: dominance needs record-level contributions; "
            "use --data (microdata)"
        )
    return problems


def _settings(o: OutputCheckOptions) -> TableCheckSettings:
    """The request's settings; every invalid value is reported at once."""
    dominance: dict[str, Any] = {} if o.p_ratio is None else {"p_ratio": o.p_ratio}
    if o.nk is not None:
        dominance |= {"nk_n": o.nk[0], "nk_k": o.nk[1]}
    rounding: RoundingRule = "random" if o.random_round else "nearest"
    if o.round_base is None:
        rounding = "none"
    try:
        return TableCheckSettings(
            threshold=o.threshold, zeros_are_disclosive=not o.zeros_safe, secondary=o.secondary,
            protection_interval=o.protection, rounding=rounding, rounding_base=o.round_base or 5,
            seed=o.seed, cell_key_column=o.cell_key, ptable=o.ptable,
            accept_review=o.accept_review, dof_threshold=o.dof_threshold, **dominance,
        )  # fmt: skip
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise ConfigError(problems) from None
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None


def _models(residual_dof: tuple[str, ...], models_file: Path | None) -> dict[str, int]:
    """``[NAME=]N`` texts and the rows of ``models_file``; names must not repeat."""
    models: dict[str, int] = {}
    problems = []
    sources = []
    for position, text in enumerate(residual_dof, start=1):
        name, sep, number = text.rpartition("=")
        name = name.strip() if sep else f"model {position}"
        if not re.fullmatch(r"\s*[0-9]+\s*", number) or not name:
            problems.append(f"--residual-dof {text!r}: give N or NAME=N, N a whole number >= 0")
            continue
        sources.append((name, int(number)))
    if models_file is not None:
        sources += list(load_models(models_file).items())
    for name, dof in sources:
        if name in models:
            problems.append(f"model {name!r} is given more than once")
        models[name] = dof
    if problems:
        raise ConfigError(problems)
    return models


def _check(
    path: Path, spec: TableSpec, settings: TableCheckSettings, o: OutputCheckOptions
) -> TableCheckResult:
    """Read ``path`` (microdata, or counted cells) and check it; library errors that mean
    "fix the request" become :class:`ConfigError` naming the file."""
    option = "--data" if o.data is not None else "--table"
    frame = read_table(path, infer_schema=True, label=f"{option} {path.name}")
    try:
        if o.data is None:
            return check_counts(frame, spec, settings, count_column=o.count_column or "count")
        ptable: PerturbationTable | None = None
        if settings.cell_key_column is not None:
            ptable = resolve_ptable(settings.ptable)
            frame = cast_record_keys(frame, settings.cell_key_column, ptable.keys)
        return check_table(frame, spec, settings, ptable=ptable)
    except PerturbationTableError as exc:  # the --ptable file itself is wrong
        raise ConfigError(exc.problems, source=f"--ptable {exc.source}") from None
    except TableSpecError as exc:  # a request that does not fit the data: fix the command line
        raise ConfigError(str(exc), source=path.name) from None


def _write(out: Path, result: TableCheckResult | None, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if result is not None:
        published = result.published_table()
        write_with_atomic(out / "table.csv", lambda p: published.write_csv(p))
        write_with_atomic(out / "table.parquet", lambda p: published.write_parquet(p))
    write_text_atomic(out / "disclosure.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "disclosure.html", report_html(report))
