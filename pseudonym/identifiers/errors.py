"""Identifier-rule exceptions. Messages name the identifier type and reason, never the value."""

from __future__ import annotations

from collections.abc import Iterable

from pseudonym.errors import PseudonymError
from pseudonym.identifiers.reasons import Reason


class InvalidIdentifier(PseudonymError, ValueError):
    """A single value is not a valid identifier of its type (raised by ``normalise_one``)."""

    def __init__(self, id_type: str, reason: Reason | str) -> None:
        self.id_type = id_type
        self.reason = Reason(reason)
        super().__init__(f"invalid {id_type} identifier: {self.reason.value}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.id_type, self.reason.value))


class UnknownIdentifierType(PseudonymError, ValueError):
    """The identifier type name is not registered. The message lists the known types."""

    def __init__(self, id_type: str, known: Iterable[str]) -> None:
        self.id_type = id_type
        self.known = tuple(sorted(known))
        super().__init__(
            f"unknown identifier type {id_type!r}; known types: {', '.join(self.known)}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.id_type, self.known))
