"""Identifier rules against published vectors, and the loader for tests/vectors/identifiers/.

One vector file per identifier type (the file stem is the type).

Each file starts with '#' lines: the identifier type, one 'source KEY: ...' line per source (the
provenance of the vectors citing it), and the column description. Data lines are tab separated:
input, options ("-" or "allow_test"), normalised ("-" if invalid), reason ("-" if valid), source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pseudonym.identifiers import (
    IDENTIFIER_TYPES,
    InvalidIdentifier,
    check,
    check_expr,
    normalise_one,
)

VECTOR_DIR = Path(__file__).resolve().parent.parent / "vectors" / "identifiers"
NULL = "<null>"


@dataclass(frozen=True)
class Vector:
    id_type: str
    value: str | None
    allow_test_numbers: bool
    normalised: str | None
    reason: str | None
    source: str
    line: int

    @property
    def label(self) -> str:
        return f"{self.id_type}:{self.line}"


def load_vectors(path: Path) -> list[Vector]:
    """Parse one vector file; every vector must cite a source declared in its header."""
    id_type = path.stem
    sources: set[str] = set()
    vectors: list[Vector] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# source "):
            sources.add(line.removeprefix("# source ").split(":", 1)[0])
            continue
        if line.startswith("#") or not line.strip():
            continue
        value, options, normalised, reason, source = line.split("\t")
        if source not in sources:
            raise ValueError(f"{path.name}:{number}: source {source!r} not declared")
        if options not in ("-", "allow_test"):
            raise ValueError(f"{path.name}:{number}: unknown options {options!r}")
        vectors.append(
            Vector(
                id_type=id_type,
                value=None if value == NULL else value,
                allow_test_numbers=options == "allow_test",
                normalised=None if normalised == "-" else normalised,
                reason=None if reason == "-" else reason,
                source=source,
                line=number,
            )
        )
    return vectors


def all_vectors() -> list[Vector]:
    return [v for path in sorted(VECTOR_DIR.glob("*.tsv")) for v in load_vectors(path)]


# ---------------------------------------------------------------------------------------- tests

VECTORS = all_vectors()


def test_every_identifier_type_has_a_vector_file_with_valid_and_invalid_cases() -> None:
    by_type: dict[str, list[Vector]] = {}
    for vector in VECTORS:
        by_type.setdefault(vector.id_type, []).append(vector)
    assert set(by_type) == set(IDENTIFIER_TYPES)
    for id_type, vectors in by_type.items():
        assert any(v.reason is None for v in vectors), id_type
        assert any(v.reason is not None for v in vectors), id_type


@pytest.mark.parametrize("allow_test_numbers", [False, True])
@pytest.mark.parametrize("id_type", sorted(IDENTIFIER_TYPES))
def test_vectors_in_one_batch(id_type: str, allow_test_numbers: bool) -> None:
    """All of a type's vectors in one column: checks order, length and per-row independence."""
    vectors = [
        v for v in VECTORS if v.id_type == id_type and v.allow_test_numbers == allow_test_numbers
    ]
    if not vectors:
        return
    values = pl.Series([v.value for v in vectors], dtype=pl.String)
    result = check(id_type, values, allow_test_numbers=allow_test_numbers)
    assert result.columns == ["normalised", "reason"]
    assert result.schema == {"normalised": pl.String, "reason": pl.String}
    got = result.rows()
    expected = [(v.normalised, v.reason) for v in vectors]
    mismatches = [(v.label, g, e) for v, g, e in zip(vectors, got, expected, strict=True) if g != e]
    assert not mismatches
    # The unstaged, purely inline expressions give the same answers.
    normalised, reason = IDENTIFIER_TYPES[id_type].exprs(
        pl.col("v"), allow_test_numbers=allow_test_numbers
    )
    inline = values.to_frame("v").select(normalised.alias("normalised"), reason.alias("reason"))
    assert inline.rows() == expected


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.label)
def test_normalise_one_and_check_expr_agree_with_the_vector(vector: Vector) -> None:
    options = {"allow_test_numbers": vector.allow_test_numbers}
    if vector.reason is None:
        assert vector.value is not None
        assert normalise_one(vector.id_type, vector.value, **options) == vector.normalised
    elif vector.value is not None:
        with pytest.raises(InvalidIdentifier) as caught:
            normalise_one(vector.id_type, vector.value, **options)
        assert caught.value.reason == vector.reason
    normalised, reason = check_expr(vector.id_type, pl.col("raw"), **options)
    frame = pl.DataFrame({"raw": pl.Series([vector.value], dtype=pl.String), "other": [1]})
    out = frame.with_columns(normalised.alias("normalised"), reason.alias("reason"))
    assert out.select("normalised", "reason").row(0) == (vector.normalised, vector.reason)
    assert out["other"].to_list() == [1]


def test_allow_test_numbers_only_relaxes_the_test_range() -> None:
    """Every vector valid without the option stays valid with it, with the same normal form."""
    for id_type in IDENTIFIER_TYPES:
        vectors = [v for v in VECTORS if v.id_type == id_type]
        values = pl.Series([v.value for v in vectors], dtype=pl.String)
        strict = check(id_type, values)
        relaxed = check(id_type, values, allow_test_numbers=True)
        for s, r in zip(strict.rows(), relaxed.rows(), strict=True):
            if s[1] is None or s[1] != "test_range":
                assert s == r, id_type
            else:
                assert r[1] is None or r[1] != "test_range"
