"""The shape of an identifier rule, and how its checks become (normalised, reason) expressions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pseudonym.identifiers.reasons import Reason

Failure = tuple[pl.Expr, Reason]

# Reason codes are computed as small integers (cheaper than a chain of string literals) and
# turned into strings with one gather at the end; index 0 means "valid".
_CODES: tuple[Reason, ...] = tuple(Reason)
_CODE_NAMES = pl.Series([None, *(r.value for r in _CODES)], dtype=pl.String)


class Scope:
    """Names intermediate expressions that several checks share.

    ``check`` stages them as columns computed once; ``check_expr`` inlines them (polars' common
    subexpression elimination then does what it can).
    """

    def __init__(self, *, staged: bool) -> None:
        self.staged = staged
        self.stages: list[tuple[str, pl.Expr]] = []

    def let(self, name: str, expr: pl.Expr) -> pl.Expr:
        """Use ``expr`` under ``name``; returns the expression later checks should refer to."""
        if not self.staged:
            return expr
        column = f"__id_{name}_{len(self.stages)}"
        self.stages.append((column, expr))
        return pl.col(column)


@dataclass(frozen=True)
class Validation:
    """What a rule says about compacted values.

    ``canonical`` is the normalised form, only meaningful where no failure applies. ``failures``
    are checked in order and the first true one is the reason; each may assume every earlier one
    was false (but must still evaluate without error on any string: polars evaluates all rows).
    """

    canonical: pl.Expr
    failures: Sequence[Failure]


Validator = Callable[[pl.Expr, bool, Scope], Validation]


@dataclass(frozen=True)
class IdentifierRule:
    """Validation and normalisation for one identifier type.

    ``prepare`` turns raw input into a compact string (separators removed, case folded) and
    ``validate`` inspects that compact string. ``examples`` are valid values in canonical form
    (synthetic or published examples, not taken from records).

    ``digits_only`` (set for all-digit identifiers) is the length of the compact form: values
    that are already exactly that many ASCII digits are returned unchanged by ``prepare``, so
    ``check`` runs ``prepare`` only on the other rows.
    """

    name: str
    description: str
    examples: tuple[str, ...]
    prepare: Callable[[pl.Expr], pl.Expr] = field(repr=False)
    validate: Validator = field(repr=False)
    digits_only: int | None = None

    def reason_expr(self, compact: pl.Expr, validation: Validation) -> pl.Expr:
        """Reason code (String) from the ordered failures; null where the value is valid."""
        conditions: list[Failure] = [
            (compact.is_null() | (compact == ""), Reason.MISSING),
            *validation.failures,
        ]
        # One flat when/then chain: several times faster in polars than nested otherwise().
        first, *rest = conditions
        chain: Any = pl.when(first[0]).then(_code(first[1]))
        for condition, reason in rest:
            chain = chain.when(condition).then(_code(reason))
        code = chain.otherwise(pl.lit(0, dtype=pl.UInt8))
        return pl.lit(_CODE_NAMES).gather(code)

    def exprs(self, value: pl.Expr, *, allow_test_numbers: bool = False) -> tuple[pl.Expr, pl.Expr]:
        """(normalised, reason) as plain inline expressions: no Python at all, but slower.

        The reference form that ``check`` and ``check_expr`` optimise; tests hold them equal.
        """
        compact = self.prepare(value)
        validation = self.validate(compact, allow_test_numbers, Scope(staged=False))
        reason = self.reason_expr(compact, validation)
        normalised = pl.when(reason.is_null()).then(validation.canonical.cast(pl.String))
        return normalised, reason


def _code(reason: Reason) -> pl.Expr:
    return pl.lit(_CODES.index(reason) + 1, dtype=pl.UInt8)
