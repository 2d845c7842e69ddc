"""leak_check (distinct cells, one identifier table, word n-gram joins) against a plain-Python
reading of its rule, on generated extracts. Its speed at pipeline scale is measured by
benchmarks/bench_budgets.py, not asserted here."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.disclosure import IdentifierLeak, leak_check

WORD = re.compile(r"[0-9A-Za-z]+")


def reference(
    extract: pl.DataFrame, sources: dict[str, pl.Series], min_length: int | None = 6
) -> list[tuple[str, str, int]]:
    """The rule, row by row: a stripped cell equal to a value; or, in a text cell with a
    non-alphanumeric character, a long value's words appearing as consecutive words."""
    leaks = []
    for name, series in sources.items():
        values = {v.strip() for v in series.cast(pl.String).to_list() if v and v.strip()}
        phrases = [
            WORD.findall(v.upper())
            for v in values
            if min_length is not None and len(v) >= min_length and WORD.search(v)
        ]
        for column in extract.columns:
            texts = extract.get_column(column).cast(pl.String).to_list()
            count = 0
            for raw in texts:
                if raw is None:
                    continue
                cell = raw.strip()
                if cell in values:
                    count += 1
                elif extract.schema[column] == pl.String and re.search(r"[^0-9A-Za-z]", cell):
                    words = WORD.findall(cell.upper())
                    count += any(
                        words[i : i + len(p)] == p
                        for p in phrases
                        for i in range(len(words) - len(p) + 1)
                    )
            if count:
                leaks.append((column, name, count))
    return leaks


def found(extract: pl.DataFrame, sources: dict[str, pl.Series]) -> list[tuple[str, str, int]]:
    try:
        leak_check(extract, sources)
    except IdentifierLeak as err:
        return err.leaks
    return []


TOKENS = ["ann", "SMITH", "Whitfield", "9434765919", "grace", "12", "x", "road", "-", " "]
PIECE = st.lists(st.sampled_from(TOKENS), max_size=4).map(lambda parts: "".join(parts))
SEPARATED = st.lists(st.sampled_from(TOKENS[:8]), min_size=1, max_size=4).map(
    lambda parts: " ".join(parts)
)
VALUE = st.one_of(PIECE, SEPARATED)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=6),
    ids=st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=6),
    notes=st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=8),
)
def test_matches_the_rule_read_row_by_row(
    names: list[str | None], ids: list[str | None], notes: list[str | None]
) -> None:
    extract = pl.DataFrame(
        {
            "note": notes,
            "code": [n.upper() if n else n for n in notes],
            "number": list(range(len(notes))),
        }
    )
    sources = {"name": pl.Series(names, dtype=pl.String), "id": pl.Series(ids, dtype=pl.String)}
    assert found(extract, sources) == reference(extract, sources)


def test_counts_rows_not_distinct_values_and_orders_by_source_then_column() -> None:
    extract = pl.DataFrame(
        {
            "a": ["Grace Whitfield", "seen GRACE whitfield.", "Grace Whitfield", "other"],
            "b": [9434765919, 1, 9434765919, 9434765919],
        }
    )
    sources = {"nhs": pl.Series(["9434765919"]), "name": pl.Series(["Grace Whitfield"])}
    assert found(extract, sources) == [("b", "nhs", 3), ("a", "name", 3)]
    assert found(extract, sources) == reference(extract, sources)


def test_a_clean_extract_passes_and_one_planted_name_among_many_values_is_found() -> None:
    from benchmarks.bench_budgets import leak_inputs

    extract, sources = leak_inputs(20_000)
    leak_check(extract, sources)  # pseudonym-like text and numbers: no identifier, no error
    planted = extract.with_columns(
        pl.Series("note", ["seen PERSON 17 example"] + ["-"] * (extract.height - 1))
    )
    with pytest.raises(IdentifierLeak) as info:
        leak_check(planted, sources)
    assert info.value.leaks == [("note", "name", 1)]


def _found_with_pseudonyms(
    extract: pl.DataFrame, sources: dict[str, pl.Series]
) -> list[tuple[str, str, int]]:
    from pipeline.disclosure import LeakCheck

    check = LeakCheck(sources, pseudonyms=True)
    check.add(extract)
    try:
        check.finish()
    except IdentifierLeak as err:
        return err.leaks
    return []


B32 = "abcdefghijklmnopqrstuvwxyz234567"
PSEUDONYM = st.tuples(
    st.sampled_from(["research2", "demorese1", "ab7"]),
    st.text(B32, min_size=26, max_size=26),
).map(lambda t: f"{t[0]}_{t[1]}")


@settings(max_examples=150, deadline=None)
@given(
    tokens=st.lists(PSEUDONYM, min_size=1, max_size=6),
    names=st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=4),
    notes=st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=4),
    inside=st.sampled_from(["none", "prefix", "base32", "both", "other prefix"]),
)
def test_skipping_pseudonyms_finds_what_the_rule_finds(
    tokens: list[str], names: list[str | None], notes: list[str | None], inside: str
) -> None:
    # An identifier can only be inside a pseudonym as its prefix word, its base32 word or
    # both: each is planted in turn, and the shortcut must still find it.
    planted = {
        "none": [],
        "prefix": [tokens[0].split("_")[0].upper()],
        "base32": [tokens[0].split("_")[1].upper()],
        "both": [tokens[0].replace("_", " ")],
        "other prefix": ["OTHER12", "RESEARCH3"],
    }[inside]
    cells = (tokens + notes) * 2
    extract = pl.DataFrame({"pid": cells, "n": list(range(len(cells)))})
    sources = {
        "name": pl.Series(names, dtype=pl.String),
        "id": pl.Series([*planted, "9434765919"], dtype=pl.String),
    }
    assert _found_with_pseudonyms(extract, sources) == reference(extract, sources)


def test_pseudonym_cells_are_not_tokenised_when_no_phrase_fits_one() -> None:
    from pipeline.disclosure import LeakCheck

    cells = pl.Series(["research2_" + "a" * 26, "seen Grace Whitfield", "ab7_" + "b" * 26])
    names = pl.Series(["Grace Whitfield", "SC123456"])  # a prefix-shaped ID, not a prefix here
    assert LeakCheck({"n": names}, pseudonyms=True)._outside_pseudonyms(cells).to_list() == [
        "seen Grace Whitfield"
    ]
    assert LeakCheck({"n": names})._outside_pseudonyms(cells).len() == 3
    with_prefix = pl.Series(["Grace Whitfield", "RESEARCH2"])
    kept = LeakCheck({"n": with_prefix}, pseudonyms=True)._outside_pseudonyms(cells)
    assert kept.len() == 3
