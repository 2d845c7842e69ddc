"""Every Companies House prefix the CRN rule accepts has a published-source vector, and OE
(Register of Overseas Entities) numbers validate like the others."""

from __future__ import annotations

import polars as pl

from pseudonym.identifiers import check
from pseudonym.identifiers.crn import PREFIXES
from tests.pseudonym.test_identifiers_vectors import VECTOR_DIR, load_vectors


def test_every_prefix_has_a_valid_vector() -> None:
    vectors = load_vectors(VECTOR_DIR / "crn.tsv")
    covered = {v.normalised[:2] for v in vectors if v.normalised and not v.normalised.isdigit()}
    assert set(PREFIXES) <= covered


def test_overseas_entity_numbers() -> None:
    values = pl.Series(["OE000123", "oe123", "OE1234567", "OE000000", "OX000123"])
    result = check("crn", values)
    assert result["normalised"].to_list() == ["OE000123", "OE000123", None, None, None]
    assert result["reason"].to_list() == [None, None, "bad_format", "placeholder", "bad_prefix"]
