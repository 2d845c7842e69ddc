"""Table-driven cases for every comparison level and the named comparisons.

Jaro-Winkler known answers MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813 are
Winkler's classic examples (W. E. Winkler, "String comparator metrics and enhanced decision
rules in the Fellegi-Sunter model", 1990; reproduced on Wikipedia's "Jaro-Winkler distance").
Random pairs are cross-checked against jellyfish, an independent implementation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import duckdb
import jellyfish
import polars as pl
import pytest
from rapidfuzz.distance import JaroWinkler

from linkage import comparisons as cl
from linkage.company_names import CompanyRareTokensLevel
from linkage.errors import DialectError, SettingsError
from linkage.levels import level_from_dict
from linkage.sql import DUCKDB
from tests.linkage._helpers import gamma_results, level_results

LEVEL_CASES = [
    (
        cl.NullLevel("x"),
        [("a", None), (None, "a"), (None, None), ("a", "b")],
        [True, True, True, False],
    ),
    (
        cl.ExactMatchLevel("x"),
        [("SMITH", "SMITH"), ("SMITH", "SMYTH"), ("a", "A")],
        [True, False, False],
    ),
    (cl.JaroWinklerLevel("x", 0.96), [("MARTHA", "MARHTA"), ("DWAYNE", "DUANE")], [True, False]),
    (cl.JaroWinklerLevel("x", 0.84), [("DWAYNE", "DUANE"), ("DIXON", "DICKSONX")], [True, False]),
    (cl.JaroWinklerLevel("x", 0.81), [("DIXON", "DICKSONX"), ("ABC", "XYZ")], [True, False]),
    (
        cl.LevenshteinLevel("x", 1),
        [("kitten", "sitten"), ("kitten", "sitting"), ("ab", "ba")],
        [True, False, False],
    ),
    (
        cl.LevenshteinLevel("x", 3),
        [("kitten", "sitting"), ("flaw", "lawn"), ("", "abcd")],
        [True, True, False],
    ),
    (
        cl.DamerauLevenshteinLevel("x", 1),
        [("ab", "ba"), ("19151111", "19151121"), ("19151111", "19511111"), ("CA", "ABC")],
        [True, True, True, False],
    ),
    (
        cl.DamerauLevenshteinLevel("x", 2),
        [("CA", "ABC"), ("abcd", "badc"), ("abc", "xyz")],
        [True, True, False],
    ),
    (
        cl.JaccardLevel("x", 0.6),
        [("abc", "abd"), ("abc", "cab"), ("", "a"), ("abc", "xyz")],
        [False, True, False, False],
    ),
    (cl.JaccardLevel("x", 0.5), [("abc", "abd")], [True]),
    (
        cl.PostcodePartialLevel("x", "sector"),
        [("SW1A 1AA", "sw1a1ab"), ("SW1A 1AA", "SW1A 2AA"), ("M1 1AE", "M1 1BB"), ("AB", "AB")],
        [True, False, True, False],
    ),
    (
        cl.PostcodePartialLevel("x", "district"),
        [("SW1A 1AA", "SW1A 2BB"), ("SW1A 1AA", "SW1B 1AA"), ("M1 1AE", "M11 1AE")],
        [True, False, False],
    ),
    (
        cl.PostcodePartialLevel("x", "area"),
        [
            ("SW1A 1AA", "SW9 9ZZ"),
            ("SW1A 1AA", "S1 1AA"),
            ("M1 1AE", "M60 1NW"),
            ("B1 1AA", "BS1 1AA"),
        ],
        [True, False, True, False],
    ),
    (cl.ElseLevel(), [("a", "b"), (None, None)], [True, True]),
]


@pytest.mark.parametrize(
    ("level", "pairs", "expected"),
    LEVEL_CASES,
    ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(LEVEL_CASES)],
)
def test_level_literal_cases(level: cl.Level, pairs: list, expected: list) -> None:
    got = [bool(v) if v is not None else False for v in level_results(level, pairs)]
    assert got == expected


def test_date_distance_on_dates_and_text() -> None:
    d = dt.date
    pairs = [
        (d(2000, 1, 1), d(2000, 1, 31)),
        (d(2000, 1, 1), d(2000, 3, 1)),
        (d(2000, 1, 1), d(2000, 12, 31)),
        (d(2000, 1, 1), d(2001, 1, 2)),
    ]
    assert level_results(cl.DateDistanceLevel("x", 1, "month"), pairs, dtype=pl.Date) == [
        True,
        False,
        False,
        False,
    ]
    assert level_results(cl.DateDistanceLevel("x", 1, "year"), pairs, dtype=pl.Date) == [
        True,
        True,
        True,
        False,
    ]
    text = [("19151111", "19151201"), ("19151111", "19161201"), ("19151111", "1915xx11")]
    got = level_results(cl.DateDistanceLevel("x", 30, "day", "%Y%m%d"), text)
    assert got == [True, False, None]  # unparseable -> NULL -> level does not hold


def test_numeric_and_reversed_levels() -> None:
    assert level_results(
        cl.NumericAbsDiffLevel("x", 2), [(10, 12), (10, 13), (5.5, 4)], dtype=pl.Float64
    ) == [True, False, True]
    con = duckdb.connect()
    sql = cl.ColumnsReversedLevel("first", "last").sql(DUCKDB)
    rows = con.execute(
        f"SELECT {sql} FROM (SELECT 'ANN' AS first, 'LEE' AS last) l, "
        f"(VALUES ('LEE', 'ANN'), ('ANN', 'LEE')) r(first, last)"
    ).fetchall()
    assert [r[0] for r in rows] == [True, False]


def test_combinators() -> None:
    exact, jw = cl.ExactMatchLevel("x"), cl.JaroWinklerLevel("x", 0.9)
    pairs = [("MARTHA", "MARTHA"), ("MARTHA", "MARHTA"), ("MARTHA", "ZED"), ("A", None)]
    assert [bool(v) for v in level_results(cl.And([jw, cl.Not(exact)]), pairs)[:3]] == [
        False,
        True,
        False,
    ]
    assert level_results(cl.Or([exact, jw]), pairs) == [True, True, False, False]
    assert level_results(cl.Not(exact), pairs) == [False, True, True, True]


def test_jaro_winkler_level_agrees_with_jellyfish() -> None:
    rng = random.Random(7)
    names = [
        "SMITH",
        "SMYTH",
        "JONES",
        "JOHNSON",
        "JOHNSTON",
        "MARTHA",
        "MARHTA",
        "BROWN",
        "BRAUN",
        "WILLIAMS",
        "WILLIAMSON",
        "TAYLOR",
        "TAILOR",
        "DAVIES",
        "DAVIS",
        "O'NEILL",
    ]
    pairs = [(rng.choice(names), rng.choice(names)) for _ in range(150)]
    for threshold in (0.7, 0.85, 0.92):
        expected = [jellyfish.jaro_winkler_similarity(a, b) >= threshold for a, b in pairs]
        assert level_results(cl.JaroWinklerLevel("x", threshold), pairs) == expected


def test_edit_distance_levels_agree_with_jellyfish() -> None:
    rng = random.Random(11)
    alphabet = "ABCDE"
    pairs = [
        (
            "".join(rng.choices(alphabet, k=rng.randint(0, 6))),
            "".join(rng.choices(alphabet, k=rng.randint(0, 6))),
        )
        for _ in range(200)
    ]
    for k in (1, 2, 3):
        lev = [jellyfish.levenshtein_distance(a, b) <= k for a, b in pairs]
        assert level_results(cl.LevenshteinLevel("x", k), pairs) == lev
    # DL <= 1 is the same for the restricted and unrestricted variants, so jellyfish's
    # (unrestricted) distance is a valid oracle at k = 1.
    dl = [jellyfish.damerau_levenshtein_distance(a, b) <= 1 for a, b in pairs]
    assert level_results(cl.DamerauLevenshteinLevel("x", 1), pairs) == dl


def test_damerau_one_edit_on_every_equal_length_pair() -> None:
    """The swap check skips Damerau-Levenshtein unless both strings hold the same set of
    characters: every pair of 4-letter strings over three letters (repeated letters,
    swaps of neighbours and of distant letters, two substitutions keeping the set) and
    dates one swap, two swaps or two substitutions apart agree with jellyfish."""
    words = ["".join(w) for w in itertools.product("ABC", repeat=4)]
    pairs = [(a, b) for a in words for b in words]
    pairs += [
        ("1980-03-12", "1980-03-21"),  # neighbours swapped
        ("1980-03-12", "1980-02-13"),  # same characters, two apart
        ("1980-03-12", "1908-03-12"),  # swapped across the century
        ("1980-03-12", "1980-04-15"),  # two substitutions
    ]
    expected = [jellyfish.damerau_levenshtein_distance(a, b) <= 1 for a, b in pairs]
    assert level_results(cl.DamerauLevenshteinLevel("x", 1), pairs) == expected


# Empty and one-character strings, where DuckDB's own functions differ from the reference
# implementations: hamming('', '') raises "Strings must be of length > 0" (one such pair
# aborted a whole query), jaro_winkler_similarity('', '') is 0. Expected values are those
# of rapidfuzz 3.14 (JaroWinkler.similarity('', '') = 1.0) and jellyfish 1.3 for the edit
# distances; jellyfish's jaro_winkler_similarity('', '') is 0.0, so JW is checked against
# rapidfuzz only.
EDGE_PAIRS = [("", ""), ("", "A"), ("A", ""), ("A", "A"), ("A", "B"), ("", "AB"), ("AB", "BA")]
EDGE_CASES = [
    (cl.LevenshteinLevel("x", 1), [True, True, True, True, True, False, False]),
    (cl.LevenshteinLevel("x", 2), [True, True, True, True, True, True, True]),
    (cl.DamerauLevenshteinLevel("x", 1), [True, True, True, True, True, False, True]),
    (cl.DamerauLevenshteinLevel("x", 2), [True, True, True, True, True, True, True]),
    (cl.JaroWinklerLevel("x", 0.9), [True, False, False, True, False, False, False]),
]


@pytest.mark.parametrize(("level", "expected"), EDGE_CASES)
def test_edge_cases_match_the_reference_implementations(level: cl.Level, expected: list) -> None:
    assert level_results(level, EDGE_PAIRS) == expected
    if isinstance(level, cl.JaroWinklerLevel):
        reference = [JaroWinkler.similarity(a, b) >= level.threshold for a, b in EDGE_PAIRS]
    elif isinstance(level, cl.DamerauLevenshteinLevel):
        reference = [
            jellyfish.damerau_levenshtein_distance(a, b) <= level.distance for a, b in EDGE_PAIRS
        ]
    else:
        assert isinstance(level, cl.LevenshteinLevel)
        reference = [jellyfish.levenshtein_distance(a, b) <= level.distance for a, b in EDGE_PAIRS]
    assert reference == expected


def test_two_empty_strings_do_not_abort_a_comparison() -> None:
    pairs = [("", ""), ("SMITH", "SMYTH"), ("", "SMITH")]
    for comparison in (
        cl.LevenshteinAtThresholds("x", (1, 2)),
        cl.DamerauLevenshteinAtThresholds("x", (1, 2)),
        cl.JaroWinklerAtThresholds("x", (0.9, 0.7)),
    ):
        top = len([v for v in comparison.levels if not v.is_null_level]) - 1
        assert gamma_results(comparison, pairs)[0] == top


def test_name_comparison_gamma_codes() -> None:
    comp = cl.NameComparison("x")
    assert [i.gamma for i in comp.level_info()] == [-1, 4, 3, 2, 1, 0]
    pairs = [
        (None, "SMITH"),
        ("SMITH", "SMITH"),
        ("MARTHA", "MARHTA"),
        ("DWAYNE", "DUANE"),
        ("DIXON", "DICKSONX"),
        ("SMITH", "ZZZZZ"),
    ]
    # MARHTA 0.961 >= 0.92 -> 3; DUANE 0.84 >= 0.7 -> 1; DICKSONX 0.813 >= 0.7 -> 1
    assert gamma_results(comp, pairs) == [-1, 4, 3, 1, 1, 0]


def test_shared_jaro_winkler_run_falls_through_to_later_levels() -> None:
    # Jaro-Winkler levels are evaluated once and shared; levels after them must still apply.
    comp = cl.Comparison(
        "c",
        [
            cl.JaroWinklerLevel("x", 0.97),
            cl.JaroWinklerLevel("x", 0.8),
            cl.LevenshteinLevel("x", 3),
            cl.ElseLevel(),
        ],
    )
    pairs = [
        ("MARTHA", "MARTHA"),
        ("MARTHA", "MARHTA"),
        ("DWAYNE", "DUANE"),
        ("ABC", "XYZ"),
        ("ABCDEFGH", "XYZ"),
        (None, "A"),
    ]
    assert gamma_results(comp, pairs) == [3, 2, 2, 1, 0, 0]


def test_postcode_and_dob_comparison_gamma_codes() -> None:
    pc = cl.PostcodeComparison("x")
    pairs = [
        ("SW1A 1AA", "SW1A 1AA"),
        ("SW1A 1AA", "SW1A 1AB"),
        ("SW1A 1AA", "SW1A 2BB"),
        ("SW1A 1AA", "SW2 1AA"),
        ("SW1A 1AA", "M1 1AA"),
        (None, "M1 1AA"),
    ]
    assert gamma_results(pc, pairs) == [4, 3, 2, 1, 0, -1]
    dob = cl.DateOfBirthComparison("x", date_format="%Y%m%d")
    pairs = [
        ("19800115", "19800115"),
        ("19800115", "19800151"),
        ("19800115", "19800130"),
        ("19800115", "19801020"),
        ("19800115", "19850316"),
        ("19800115", "19200720"),
    ]
    assert gamma_results(dob, pairs) == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: cl.JaroWinklerLevel("x", 1.5),
        lambda: cl.JaroWinklerLevel("x", 0),
        lambda: cl.LevenshteinLevel("x", 0),
        lambda: cl.DamerauLevenshteinLevel("x", 1.5),
        lambda: cl.DateDistanceLevel("x", -1),
        lambda: cl.DateDistanceLevel("x", 1, "week"),
        lambda: cl.PostcodePartialLevel("x", "street"),
        lambda: cl.ExactMatchLevel(""),
        lambda: cl.And([cl.ExactMatchLevel("x")]),
        lambda: cl.JaroWinklerAtThresholds("x", (0.7, 0.9)),
        lambda: cl.LevenshteinAtThresholds("x", (2, 1)),
        lambda: cl.Comparison("bad name", [cl.ExactMatchLevel("x"), cl.ElseLevel()]),
        lambda: cl.Comparison("x", [cl.ExactMatchLevel("x"), cl.JaroWinklerLevel("x", 0.9)]),
        lambda: cl.Comparison("x", [cl.ExactMatchLevel("x"), cl.NullLevel("x"), cl.ElseLevel()]),
    ],
)
def test_invalid_parameters_raise_settings_error(make: object) -> None:
    with pytest.raises(SettingsError):
        make()  # type: ignore[operator]


def test_comparison_lists_every_problem() -> None:
    with pytest.raises(SettingsError) as info:
        cl.Comparison("bad name", [cl.ElseLevel(), cl.NullLevel("x")])
    assert len(info.value.problems) >= 3


def test_levels_round_trip_through_dict() -> None:
    comp = cl.Comparison(
        "c",
        [
            cl.NullLevel("x"),
            cl.ExactMatchLevel("x", True),
            cl.Or([cl.ColumnsReversedLevel("x", "y"), cl.JaccardLevel("x", 0.8)]),
            cl.And([cl.JaroWinklerLevel("x", 0.9), cl.Not(cl.DateDistanceLevel("d", 2, "year"))]),
            cl.ElseLevel(),
        ],
    )
    again = cl.Comparison.from_dict(comp.to_dict())
    assert again.to_dict() == comp.to_dict()
    assert again.levels == comp.levels
    assert again.tf_column == "x"
    with pytest.raises(SettingsError):
        level_from_dict({"type": "NoSuchLevel"})


def test_missing_dialect_function_names_the_backend() -> None:
    bare = dataclasses.replace(DUCKDB, name="sqlite", functions={})
    with pytest.raises(DialectError, match="sqlite"):
        cl.JaroWinklerLevel("x", 0.9).sql(bare)
    with pytest.raises(DialectError, match="sqlite"):
        cl.PostcodePartialLevel("x", "area").derived_columns(bare)
    # list functions (company-name tokens) come from the dialect too
    with pytest.raises(DialectError, match="'list_sort' is not available in the sqlite"):
        CompanyRareTokensLevel("name_std").sql(bare)
