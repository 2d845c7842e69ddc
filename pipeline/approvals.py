"""The approval a project's deliveries rest on: a data-sharing agreement or access approval.

Data-sharing policies require each release to cite its agreement, go only to approved
recipients and stop when the approval lapses. The ``approvals`` section of a pipeline config
says so; it is optional, and a config without one is not checked.

>>> from datetime import date
>>> a = Approvals.model_validate({"reference": "DSA-2026-014", "recipient": "tre-a",
...     "approved_recipients": ["tre-a", "tre-b"], "expires": "2027-03-31"})
>>> a.problems(date(2027, 3, 31))
[]
>>> a.problems(date(2027, 4, 1))
['approvals.expires: approval DSA-2026-014 expired on 2027-03-31; no delivery until it is renewed']
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.errors import ConfigError

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Approvals(BaseModel):
    """The authority for a project's deliveries (a data-sharing agreement or access approval).

    ``reference`` names it (e.g. ``DSA-2026-014``), ``approved_recipients`` lists who may
    receive the project's extracts, ``recipient`` is who this config delivers to, and
    ``expires`` is the last day deliveries are allowed. A recipient not approved is a config
    error when the config loads; expiry depends on the day, so :meth:`enforce` checks it when
    a run or ``pprl validate`` starts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$")
    approved_recipients: list[str] = Field(min_length=1)
    recipient: str = Field(pattern=_NAME_PATTERN)
    expires: date

    @field_validator("approved_recipients")
    @classmethod
    def _names(cls, recipients: list[str]) -> list[str]:
        if any(not re.match(_NAME_PATTERN, r) for r in recipients):
            raise ValueError("recipient names are letters, digits, '_', '-', '.' (up to 64)")
        return recipients

    @model_validator(mode="after")
    def _recipient_approved(self) -> Approvals:
        if self.recipient not in self.approved_recipients:
            raise ValueError("recipient is not among approved_recipients")
        return self

    def problems(self, today: date) -> list[str]:
        """What stops a delivery on ``today`` (an expired approval), as config problems."""
        if today > self.expires:
            return [
                f"approvals.expires: approval {self.reference} expired on"
                f" {self.expires.isoformat()}; no delivery until it is renewed"
            ]
        return []

    def enforce(self, today: date) -> None:
        """Raise :class:`ConfigError` (exit 2) if nothing may be delivered on ``today``."""
        problems = self.problems(today)
        if problems:
            raise ConfigError(problems)

    def record(self) -> dict[str, str]:
        """The facts a manifest and an audit entry keep about the approval."""
        return {
            "reference": self.reference,
            "recipient": self.recipient,
            "expires": self.expires.isoformat(),
        }
