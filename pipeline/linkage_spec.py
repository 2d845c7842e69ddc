"""The ``linkage`` section of a pipeline config: roles, blocking rules, comparisons, thresholds.

Linkage names fields by *role*: a person role (``surname``, ``date_of_birth``, ...) or an
identifier role ``identifier:<type>`` (``identifier:nhs``), the column a source maps as
``identifier:nhs`` after validation. Blocking rules join roles with ``&``; comparisons map a
role to a comparison kind from linkage's registry (:mod:`linkage.kinds`).

The ``identifier`` kind is for identifier roles only and makes the identifier *evidence*: records
sharing a valid identifier of that type are the same person (linked before any model is
consulted), two valid identifiers that differ count strongly against a match, and a missing
or invalid one is neutral. Only values that passed ``pseudonym.identifiers.check`` reach
linkage (invalid ones are quarantined or nulled at ingest).

>>> spec = LinkageSpec.model_validate({"mode": "link",
...     "blocking": ["identifier:nhs", "surname & date_of_birth"],
...     "comparisons": {"identifier:nhs": "identifier", "surname": "name"}})
>>> spec.deterministic_roles(), role_column("identifier:nhs"), spec.thresholds.match
(['identifier:nhs'], 'id_nhs', 'auto')
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkage.kinds import comparison_kind, kind_names

PersonRole = Literal[
    "first_name",
    "surname",
    "full_name",
    "address",
    "postcode",
    "date_of_birth",
    "sex",
]
PERSON_ROLES: tuple[str, ...] = get_args(PersonRole)
IDENTIFIER_ROLE = "identifier"
#: The comparison kind that makes an identifier role deterministic evidence.
IDENTIFIER_KIND = "identifier"


def identifier_types() -> tuple[str, ...]:
    """Identifier types the pseudonym package knows how to validate."""
    from pseudonym.identifiers import IDENTIFIER_TYPES

    return tuple(IDENTIFIER_TYPES)


def blocking_roles(rule: str) -> list[str]:
    """The roles a blocking rule such as ``"surname & date_of_birth"`` joins on."""
    return [part.strip() for part in rule.split("&")]


def identifier_type(role: str) -> str | None:
    """``nhs`` for the role ``identifier:nhs``; None for a person role."""
    prefix, sep, id_type = role.partition(":")
    return id_type.strip() if sep and prefix.strip() == IDENTIFIER_ROLE else None


def role_column(role: str) -> str:
    """The column that holds a role after ingest: ``id_<type>`` for an identifier role."""
    id_type = identifier_type(role)
    return role if id_type is None else f"id_{id_type}"


def _role_problem(role: str) -> str | None:
    """Why ``role`` cannot be used in linkage, or None."""
    if role in PERSON_ROLES:
        return None
    id_type = identifier_type(role)
    if id_type is None:
        return f"unknown role {role!r}"
    if id_type not in identifier_types():
        return f"unknown identifier type in {role!r}"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Match probability thresholds: ``match`` links a pair (``auto``, the default: the
    model's own threshold, the cut maximising its expected F1); ``review`` starts clerical
    review (lowered to the match threshold when that is lower)."""

    match: float | Literal["auto"] = "auto"
    review: float = 0.7

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        match = 1.0 if self.match == "auto" else self.match
        if not 0.0 <= self.review <= match <= 1.0:
            raise ValueError("need 0 <= review <= match <= 1 (match probabilities)")
        return self


class LinkageSpec(_Strict):
    """How records are linked. ``none`` skips linkage (pseudonymise and de-identify only)."""

    mode: Literal["link", "dedupe", "none"] = "none"
    blocking: list[str] = Field(default_factory=list)
    comparisons: dict[str, str] = Field(default_factory=dict)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    max_iterations: int = Field(default=25, ge=1, le=1000)
    # Score candidate pairs in this many partitions (records split by a hash of each blocking
    # rule's keys, files in the run's work folder): the engine's memory is bounded by a
    # partition, and under ``--executor dask`` the partitions are scored on the workers.
    # None: one in-memory DuckDB. The result is the same either way.
    partitions: int | None = Field(default=None, ge=1, le=4096)

    @field_validator("comparisons")
    @classmethod
    def _comparisons_by_role(cls, comparisons: dict[str, str]) -> dict[str, str]:
        problems = [p for role in comparisons if (p := _role_problem(role))]
        if problems:
            raise ValueError(
                "comparisons are keyed by person role or identifier:<type>; " + "; ".join(problems)
            )
        kinds = sorted({k for k in comparisons.values() if k not in kind_names()})
        if kinds:
            raise ValueError(
                f"unknown comparison {', '.join(kinds)}; choose from {', '.join(kind_names())}"
            )
        for role, kind in comparisons.items():
            is_identifier = identifier_type(role) is not None
            if kind == IDENTIFIER_KIND and not is_identifier:
                raise ValueError(
                    f"{role}: the identifier comparison is for identifier:<type> roles"
                )
            if is_identifier and comparison_kind(kind).standardise is not None:
                raise ValueError(f"{role}: identifiers are compared as they are, not as {kind}")
        return comparisons

    @field_validator("blocking")
    @classmethod
    def _blocking_by_role(cls, rules: list[str]) -> list[str]:
        for rule in rules:
            problems = [p for role in blocking_roles(rule) if (p := _role_problem(role))]
            if problems:
                raise ValueError(
                    "blocking rules join person roles or identifier:<type> with '&'; "
                    + "; ".join(problems)
                )
        return rules

    @model_validator(mode="after")
    def _needs_rules(self) -> LinkageSpec:
        if self.mode != "none" and not self.blocking:
            raise ValueError("linkage needs at least one blocking rule")
        if self.mode != "none" and not self.comparisons:
            raise ValueError("linkage needs at least one comparison")
        return self

    def roles(self) -> list[str]:
        """Every role the comparisons and blocking rules read, in order of first use."""
        blocked = [r for rule in self.blocking for r in blocking_roles(rule)]
        return list(dict.fromkeys([*self.comparisons, *blocked]))

    def deterministic_roles(self) -> list[str]:
        """Identifier roles compared as ``identifier``: a shared valid value links records."""
        return [r for r, kind in self.comparisons.items() if kind == IDENTIFIER_KIND]
