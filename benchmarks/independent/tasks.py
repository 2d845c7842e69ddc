"""The linkage tasks of the independent benchmark: what each tool compares and blocks on.

A task is written once here and translated by each runner (pprl, Splink, recordlinkage), so
every tool scores the same candidate pairs (the union of ``blocking``) with comparisons of the
same kind per field. The task travels to the runner as ``task.json`` in its data folder.

Field kinds and their translation:

============  ==========================  ==============================  ====================
kind          pprl                        Splink 5                        recordlinkage (ECM)
============  ==========================  ==============================  ====================
``name``      NameComparison, tf          NameComparison, tf              Jaro-Winkler >= 0.85
``string``    JaroWinkler (0.9, 0.7)      JaroWinklerAtThresholds         Jaro-Winkler >= 0.85
``exact``     ExactComparison             ExactMatch                      exact
``dob``       DateOfBirthComparison       DateOfBirthComparison           exact
============  ==========================  ==============================  ====================

pseudopeople's sample data is one fictional town: city, state and ZIP code are the same for
almost every record (``Anytown``, ``WA``, ``00000``), so no task compares them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

#: Each source's record_id prefix (benchmarks.independent.sources writes the ids)
PREFIX = {"census": "c", "acs": "a", "cps": "p", "w2_1099": "w", "ssa": "s"}
FieldKind = Literal["name", "string", "exact", "dob"]
LinkType = Literal["link_only", "dedupe_only"]
ID_COLUMN = "record_id"
#: The file each record came from, in the data of a dedupe of several sources (tools may use it)
SOURCE_COLUMN = "source"
KINDS: tuple[str, ...] = ("name", "string", "exact", "dob")
#: Derived columns every prepared file has (for blocking), besides its fields.
DERIVED = ("dob_year",)


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    ``sources`` names the prepared source files: two for ``link_only`` (left, right); for
    ``dedupe_only`` the records of every source listed are deduplicated together.
    ``deterministic`` and ``em_blocks`` configure Splink's documented training (prior from
    deterministic rules at recall 0.7, then one EM session per block).
    """

    name: str
    link_type: LinkType
    sources: tuple[str, ...]
    fields: tuple[tuple[str, FieldKind], ...]
    blocking: tuple[tuple[str, ...], ...]
    deterministic: tuple[tuple[str, ...], ...]
    em_blocks: tuple[tuple[str, ...], ...]
    description: str = ""
    household_data: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        columns = {f for f, _ in self.fields} | set(DERIVED)
        if self.link_type == "link_only" and len(self.sources) != 2:
            problems.append("link_only needs two sources")
        if self.link_type == "dedupe_only" and not self.sources:
            problems.append("dedupe_only needs at least one source")
        problems += [f"unknown kind {k!r} of {f!r}" for f, k in self.fields if k not in KINDS]
        for rule in (*self.blocking, *self.deterministic, *self.em_blocks):
            problems += [f"rule column {c!r} is not a field" for c in rule if c not in columns]
        if problems:
            raise ValueError(f"task {self.name}: " + "; ".join(problems))

    @property
    def columns(self) -> list[str]:
        return [f for f, _ in self.fields]

    @property
    def has_source_column(self) -> bool:
        """Deduplicating several files: their records carry :data:`SOURCE_COLUMN`."""
        return self.link_type == "dedupe_only" and len(self.sources) > 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        def rules(key: str) -> tuple[tuple[str, ...], ...]:
            return tuple(tuple(r) for r in data[key])

        return cls(
            name=data["name"],
            link_type=data["link_type"],
            sources=tuple(data["sources"]),
            fields=tuple((f, k) for f, k in data["fields"]),
            blocking=rules("blocking"),
            deterministic=rules("deterministic"),
            em_blocks=rules("em_blocks"),
            description=data.get("description", ""),
            household_data=data.get("household_data", True),
            extra=dict(data.get("extra", {})),
        )

    def write(self, directory: Path) -> None:
        (directory / "task.json").write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def read(cls, directory: Path) -> Task:
        return cls.from_dict(json.loads((directory / "task.json").read_text()))


Fields = tuple[tuple[str, FieldKind], ...]
_PERSON: Fields = (("first_name", "name"), ("middle_initial", "exact"), ("last_name", "name"))
_DOB_SEX: Fields = (("dob", "dob"), ("sex", "exact"))
_ADDRESS: Fields = (("street_number", "exact"), ("street_name", "string"), ("unit_number", "exact"))
_ADDRESS_BLOCK = ("street_number", "street_name")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            name="febrl4",
            link_type="link_only",
            sources=("febrl4_a", "febrl4_b"),
            fields=(
                ("given_name", "name"),
                ("surname", "name"),
                ("dob", "dob"),
                ("soc_sec_id", "exact"),
                ("street_number", "exact"),
                ("address_1", "string"),
                ("suburb", "string"),
                ("postcode", "exact"),
            ),
            blocking=(
                ("given_name", "surname"),
                ("surname", "dob_year"),
                ("given_name", "dob"),
                ("postcode",),
            ),
            deterministic=(("given_name", "surname", "dob"), ("soc_sec_id",)),
            em_blocks=(("given_name", "surname"), ("dob",)),
            description="FEBRL4 5k x 5k (recordlinkage.datasets): smoke test, saturated",
            household_data=False,
        ),
        Task(
            name="census_ssa",
            link_type="link_only",
            sources=("census", "ssa"),
            fields=(*_PERSON, *_DOB_SEX),
            blocking=(("first_name", "dob"), ("last_name", "dob"), ("first_name", "last_name")),
            deterministic=(("first_name", "last_name", "dob"),),
            em_blocks=(("first_name", "last_name"), ("dob",)),
            description="decennial census 2020 vs SSA events to 2020 (no address in SSA)",
        ),
        Task(
            name="census_w2",
            link_type="link_only",
            sources=("census", "w2_1099"),
            fields=(*_PERSON, *_ADDRESS),
            blocking=(_ADDRESS_BLOCK, ("first_name", "last_name"), ("first_name", "street_name")),
            deterministic=(("first_name", "last_name", *_ADDRESS_BLOCK),),
            em_blocks=(("first_name", "last_name"), _ADDRESS_BLOCK),
            description="decennial census 2020 vs W-2/1099 tax year 2020 (mailing address; "
            "no dob or sex in W-2/1099), many-to-many",
        ),
        Task(
            name="dedupe_w2",
            link_type="dedupe_only",
            sources=("w2_1099",),
            fields=(*_PERSON, *_ADDRESS),
            blocking=(_ADDRESS_BLOCK, ("first_name", "last_name"), ("first_name", "street_name")),
            deterministic=(("first_name", "last_name", *_ADDRESS_BLOCK),),
            em_blocks=(("first_name", "last_name"), _ADDRESS_BLOCK),
            description="W-2/1099 tax year 2020 deduplicated (one form per job)",
        ),
        Task(
            name="dedupe_census_acs_cps",
            link_type="dedupe_only",
            sources=("census", "acs", "cps"),
            fields=(*_PERSON, *_DOB_SEX, *_ADDRESS),
            blocking=(
                _ADDRESS_BLOCK,
                ("first_name", "last_name"),
                ("first_name", "dob"),
                ("last_name", "dob"),
            ),
            deterministic=(("first_name", "last_name", "dob"),),
            em_blocks=(("first_name", "last_name"), ("dob",), _ADDRESS_BLOCK),
            description="decennial census 2020 + ACS + CPS (2020 surveys) deduplicated together",
        ),
    )
}

QUICK_TASKS = ("febrl4", "census_w2", "dedupe_census_acs_cps")
