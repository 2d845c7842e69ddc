"""Deterministic synthetic data with known truth: people, business registers, demo source files.

Used by tests, ``pprl demo`` and benchmarks. Everything is seeded and vectorised where it
matters; identifiers carry valid check digits; corruption is realistic enough that linkage is
not trivial (households of near-duplicates, nicknames, typos, moves, missing values).

A tool beside the pipeline, not part of it: this package imports nothing from ``pipeline``,
``linkage`` or ``pseudonym`` (its check digits are written independently of the validators it
helps to test), and raises :class:`SyntheticError` (a ``ValueError``) for impossible requests.

>>> from synthetic import generate_person_pair
>>> left, right, truth = generate_person_pair(1000, 1000, overlap=0.8, seed=7)
>>> truth.height, truth.columns
(800, ['record_id_left', 'record_id_right'])
"""

from synthetic.businesses import (
    INCOMING_COLUMNS,
    REGISTER_COLUMNS,
    generate_incoming,
    generate_register,
)
from synthetic.corruption import Corruption
from synthetic.demo import INVALID_KINDS, DemoSources, split_demo_sources, write_demo_sources
from synthetic.errors import SyntheticError
from synthetic.persons import (
    EMPLOYMENT_STATUSES,
    PERSON_COLUMNS,
    generate_person_pair,
    generate_persons,
)

__all__ = [
    "EMPLOYMENT_STATUSES",
    "INCOMING_COLUMNS",
    "INVALID_KINDS",
    "PERSON_COLUMNS",
    "REGISTER_COLUMNS",
    "Corruption",
    "DemoSources",
    "SyntheticError",
    "generate_incoming",
    "generate_person_pair",
    "generate_persons",
    "generate_register",
    "split_demo_sources",
    "write_demo_sources",
]
