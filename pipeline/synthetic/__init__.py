"""Deterministic synthetic data with known truth: people, business registers, demo source files.

Used by tests, ``pprl demo`` and benchmarks. Everything is seeded and vectorised; identifiers
carry valid check digits; corruption is realistic enough that linkage is not trivial.
"""

from pipeline.synthetic.corruption import Corruption
from pipeline.synthetic.persons import (
    EMPLOYMENT_STATUSES,
    PERSON_COLUMNS,
    generate_person_pair,
    generate_persons,
)

__all__ = [
    "EMPLOYMENT_STATUSES",
    "PERSON_COLUMNS",
    "Corruption",
    "generate_person_pair",
    "generate_persons",
]
