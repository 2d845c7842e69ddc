"""Linkage settings: a plain dataclass, loadable from a dict or JSON, validated all at once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkage.blocking import MAX_RULES, BlockingRule, LinkType
from linkage.comparisons import Comparison
from linkage.errors import SettingsError


@dataclass
class LinkageSettings:
    """What to compare and how to block, independent of any data or backend.

    ``memory_limit`` and ``threads`` bound the DuckDB backend; ``temp_directory`` is where it
    spills when the limit is reached (DuckDB's default when ``None``). ``source_column``
    (``dedupe_only``) names the column saying which file each record came from: see
    :mod:`linkage.sources` for what it changes.
    """

    link_type: LinkType
    comparisons: list[Comparison]
    blocking_rules: list[BlockingRule]
    unique_id_column: str = "id"
    probability_two_random_records_match: float = 1e-4
    em_max_iterations: int = 50
    em_convergence: float = 1e-5
    memory_limit: str = "2GB"
    threads: int = 2
    temp_directory: str | None = None
    source_column: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.comparisons = list(self.comparisons)
        self.blocking_rules = [
            r if isinstance(r, BlockingRule) else BlockingRule.from_dict(r)
            for r in self.blocking_rules
        ]
        self.validate()

    def validate(self) -> None:
        """Raise one :class:`SettingsError` listing every problem."""
        problems: list[str] = []
        if self.link_type not in ("link_only", "dedupe_only"):
            problems.append("link_type must be 'link_only' or 'dedupe_only'")
        if not self.comparisons:
            problems.append("at least one comparison is required")
        if not all(isinstance(c, Comparison) for c in self.comparisons):
            problems.append("comparisons must be Comparison objects")
        else:
            names = [c.name for c in self.comparisons]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(f"comparison names must be unique (repeated: {', '.join(dupes)})")
        if not self.blocking_rules:
            problems.append("at least one blocking rule is required")
        if len(self.blocking_rules) > MAX_RULES:
            problems.append(f"at most {MAX_RULES} blocking rules are supported")
        if not isinstance(self.unique_id_column, str) or not self.unique_id_column:
            problems.append("unique_id_column must be a non-empty string")
        p = self.probability_two_random_records_match
        if not isinstance(p, int | float) or not 0.0 < p < 1.0:
            problems.append("probability_two_random_records_match must be in (0, 1)")
        if not isinstance(self.em_max_iterations, int) or self.em_max_iterations < 1:
            problems.append("em_max_iterations must be an integer >= 1")
        if not isinstance(self.em_convergence, int | float) or self.em_convergence <= 0:
            problems.append("em_convergence must be > 0")
        if not isinstance(self.threads, int) or self.threads < 1:
            problems.append("threads must be an integer >= 1")
        problems += self._source_problems()
        if problems:
            raise SettingsError(problems)

    def _source_problems(self) -> list[str]:
        if self.source_column is None:
            return []
        if not isinstance(self.source_column, str) or not self.source_column:
            return ["source_column must be a non-empty string or None"]
        if self.link_type != "dedupe_only":
            return ["source_column applies to dedupe_only (a link's two inputs are its sources)"]
        if self.source_column == self.unique_id_column:
            return ["source_column must not be the unique_id_column"]
        return []

    def required_columns(self) -> list[str]:
        """Every input column the comparisons and blocking rules read, plus the id."""
        cols = [self.unique_id_column]
        cols += [c for comp in self.comparisons for c in comp.columns()]
        cols += [c for rule in self.blocking_rules for c in rule.columns]
        if self.source_column is not None:
            cols.append(self.source_column)
        return list(dict.fromkeys(cols))

    def to_dict(self) -> dict[str, Any]:
        return {
            "link_type": self.link_type,
            "unique_id_column": self.unique_id_column,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "blocking_rules": [r.to_dict() for r in self.blocking_rules],
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "em_max_iterations": self.em_max_iterations,
            "em_convergence": self.em_convergence,
            "memory_limit": self.memory_limit,
            "threads": self.threads,
            "temp_directory": self.temp_directory,
            "source_column": self.source_column,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkageSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown settings keys: {', '.join(unknown)}")
        kwargs = dict(data)
        kwargs["comparisons"] = [
            c if isinstance(c, Comparison) else Comparison.from_dict(c)
            for c in data.get("comparisons", [])
        ]
        kwargs["blocking_rules"] = [
            BlockingRule.from_dict(r) for r in data.get("blocking_rules", [])
        ]
        missing = [k for k in ("link_type", "comparisons", "blocking_rules") if k not in data]
        if missing:
            raise SettingsError(f"missing settings keys: {', '.join(missing)}")
        return cls(**kwargs)

    @classmethod
    def from_json(cls, path: str | Path) -> LinkageSettings:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
