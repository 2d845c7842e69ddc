"""Table-driven cases for the rarity-weighted company-name levels and comparison.

Rarity comes from a small background population of names: tokens such as SERVICES, UK,
SOLUTIONS, NORTH and GROUP appear in many of them (common); ZYTRONIX, QUORVEX, HALBERD do not.
The gated token levels are checked against a direct Python computation on random token sets.
"""

from __future__ import annotations

import math
import random

import duckdb
import polars as pl
import pytest

from linkage.company_names import (
    CompanyNameComparison,
    CompanyNameExactLevel,
    CompanyNameHeldOnceLevel,
    CompanyNameJaroWinklerLevel,
    CompanyNameNearHeldOnceLevel,
    CompanyRareTokensLevel,
    CompanyTokenOverlapLevel,
    CompanyWordsComparison,
    CompanyWordsLevel,
    add_company_token_columns,
    idf_column,
    tokens_column,
)
from linkage.errors import SettingsError
from linkage.levels import Level, level_from_dict
from linkage.sql import DUCKDB
from linkage.standardise import standardise_business_frame
from linkage.standardise.companies import with_company_name_parts

COMMON = ["SERVICES", "UK", "SOLUTIONS", "NORTH", "GROUP", "SYSTEMS", "CONSULTING", "TRADING"]
# 400 background names, each with one unique-ish word and two common words: common tokens end up
# in about 100 records each (frequency ~0.1), unique words in one.
BACKGROUND = [f"FILLER{i} {COMMON[i % 8]} {COMMON[(i * 3 + 1) % 8]}" for i in range(400)]
RARE_FREQUENCY = 0.02  # tokens in at most ~8 of ~400 records are rare
MIN_IDF = -math.log(RARE_FREQUENCY)


def evaluate_sql(
    sql: str, pairs: list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]]
) -> list[object]:
    """Evaluate SQL over ``l``/``r`` on (left (legal, trading), right (legal, trading)) pairs."""
    schema = {"name": pl.String, "trading": pl.String}
    left = pl.DataFrame(
        {"name": [p[0][0] for p in pairs], "trading": [p[0][1] for p in pairs]}, schema=schema
    )
    right = pl.DataFrame(
        {"name": [p[1][0] for p in pairs], "trading": [p[1][1] for p in pairs]}, schema=schema
    )
    background = pl.DataFrame(
        {"name": BACKGROUND, "trading": [None] * len(BACKGROUND)}, schema=schema
    )
    frames = [
        standardise_business_frame(f, name="name", trading_name="trading", postcode=None)
        for f in (left, right, background)
    ]
    (left, right, _), _ = add_company_token_columns(frames, ("name_std", "trading_name_std"))
    con = duckdb.connect()
    con.register("lv", left.with_row_index("i"))
    con.register("rv", right.with_row_index("i"))
    rows = con.execute(f"SELECT l.i, {sql} FROM lv l JOIN rv r USING (i) ORDER BY l.i").fetchall()
    return [r[1] for r in rows]


def evaluate(
    level: Level, pairs: list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]]
) -> list[bool]:
    return [bool(v) for v in evaluate_sql(f"coalesce(({level.sql(DUCKDB)}), FALSE)", pairs)]


N, T = "name_std", "trading_name_std"

LEVEL_CASES: list[
    tuple[
        Level, list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]], list[bool]
    ]
] = [
    # Legal forms, '&'/AND, THE and punctuation do not break an exact match
    (
        CompanyNameExactLevel(N),
        [
            (("Acme Widgets Limited", None), ("ACME WIDGETS LTD", None)),
            (("The Smith & Sons Ltd.", None), ("SMITH AND SONS", None)),
            (("Acme Widgets Ltd", None), ("Acme Widget Ltd", None)),
            ((None, None), ("ACME", None)),
        ],
        [True, True, False, False],
    ),
    # Best of legal and trading names, on either side
    (
        CompanyNameExactLevel(N, T),
        [
            (("Bloggs Holdings Ltd", "Zephyr Cafe"), ("ZEPHYR CAFE", None)),
            (("Zephyr Cafe", None), ("Bloggs Ltd T/A Zephyr Cafe", None)),
            (("Bloggs Ltd", "Zephyr Cafe"), ("Other Ltd", "Zephyr Café")),
            (("Bloggs Ltd", "Zephyr Cafe"), ("Other Ltd", "Aurora Cafe")),
        ],
        [True, True, True, False],
    ),
    (
        CompanyNameExactLevel(N),
        [
            (("Bloggs Holdings Ltd", "Zephyr Cafe"), ("ZEPHYR CAFE", None)),
        ],
        [False],
    ),
    # Rare tokens: the identifying words agree; common words may differ or be missing
    (
        CompanyRareTokensLevel(N, MIN_IDF),
        [
            (("Zytronix Solutions Ltd", None), ("ZYTRONIX SYSTEMS", None)),
            (("Zytronix Solutions Ltd", None), ("Zytronix", None)),
            (("Zytronix Solutions Ltd", None), ("Quorvex Solutions Ltd", None)),
            (("Zytronix Halberd Ltd", None), ("Zytronix Ltd", None)),
            (("Services UK Ltd", None), ("Services UK", None)),  # no rare token at all
        ],
        [True, True, False, False, False],
    ),
    (
        CompanyRareTokensLevel(N, MIN_IDF, T),
        [
            (("Bloggs Ltd", "Zytronix Group"), ("Zytronix UK", None)),
        ],
        [True],
    ),
    # Weighted overlap: a dropped common word costs little, a dropped rare word a lot
    (
        CompanyTokenOverlapLevel(N, 0.7),
        [
            (("Quorvex Halberd North Ltd", None), ("QUORVEX HALBERD", None)),
            (("Quorvex Halberd Ltd", None), ("QUORVEX", None)),
            (("Quorvex Halberd", None), ("HALBERD QUORVEX", None)),
            (("Services UK", None), ("Systems Group", None)),
        ],
        [True, False, True, False],
    ),
    # Jaro-Winkler on the standardised name catches typos that change tokens
    (
        CompanyNameJaroWinklerLevel(N, 0.9),
        [
            (("Bravo Services Ltd", None), ("BRAVO SRVICES LIMITED", None)),
            (("Bravo Services Ltd", None), ("Charlie Services Ltd", None)),
        ],
        [True, False],
    ),
]


@pytest.mark.parametrize(
    ("level", "pairs", "expected"),
    LEVEL_CASES,
    ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(LEVEL_CASES)],
)
def test_level_cases(level: Level, pairs: list, expected: list[bool]) -> None:
    assert evaluate(level, pairs) == expected


COMPARISON_CASES = [
    # (left, right, expected gamma: 5 exact legal names, 4 exact through a trading name, 3 rare
    # tokens, 2 overlap, 1 Jaro-Winkler, 0 else)
    (("Acme Widgets Limited", None), ("ACME WIDGETS LTD", None), 5),
    (("Bloggs Ltd", "Zephyr Cafe"), ("ZEPHYR CAFE LTD", None), 4),
    (("Zytronix Solutions Ltd", None), ("ZYTRONIX SYSTEMS", None), 3),
    (("Valdrin North Group", None), ("Valdrin Systems Group", None), 3),
    (("Morwick North Group", None), ("Morwick North Group UK", None), 5),  # UK is stripped
    (("Teskel Brannock Ltd", None), ("TESKEL BRANNOCK NORTH", None), 3),
    (("Services North Group Ltd", None), ("Services North Group Consulting", None), 2),
    (("Ostrand Pelling Ltd", None), ("Ostrand Pellinq Ltd", None), 1),
    (("Fenwold Ltd", None), ("Zytronix Systems", None), 0),
    ((None, None), ("Zytronix Systems", None), -1),
]


def test_comparison_levels_in_order() -> None:
    comparison = CompanyNameComparison(rare_frequency=RARE_FREQUENCY)
    infos = comparison.level_info()
    assert [i.gamma for i in infos] == [-1, 5, 4, 3, 2, 1, 0]
    assert "null" in infos[0].label and "exact" in infos[1].label
    assert infos[1].tf_column == "name_std" and infos[2].tf_column is None
    assert "exact (best of legal/trading_name_std)" in infos[2].label
    assert "rare" in infos[3].label and "overlap" in infos[4].label
    assert "jaro-winkler" in infos[5].label and infos[6].label == "all other"
    gammas = evaluate_sql(comparison.gamma_sql(DUCKDB), [(a, b) for a, b, _ in COMPARISON_CASES])
    assert gammas == [g for _, _, g in COMPARISON_CASES]


def test_levels_round_trip_through_dicts() -> None:
    comparison = CompanyNameComparison(rare_frequency=0.01, held_column="held", words_column="w")
    for level in comparison.levels:
        assert level_from_dict(level.to_dict()) == level


def test_held_once_level_needs_the_right_side_to_hold_the_name_once() -> None:
    """Equal names whose right-side (register) record is the only one holding the name; the
    left side's count is not read (an incoming file may repeat a record)."""
    level = CompanyNameHeldOnceLevel("name", "held")  # words: see the next test
    cases = [  # (left name, left held, right name, right held)
        ("ZYTRONIX", 1, "ZYTRONIX", 1),
        ("ZYTRONIX", 3, "ZYTRONIX", 1),
        ("ZYTRONIX", 2, "ZYTRONIX", 2),  # a second register row holds it
        ("ZYTRONIX", 1, "QUORVEX", 1),
        (None, 0, "QUORVEX", 1),
    ]
    con = duckdb.connect()
    for alias, offset in (("l", 0), ("r", 2)):
        frame = pl.DataFrame(
            {"i": range(len(cases)), "name": [c[offset] for c in cases]},
            schema={"i": pl.Int64, "name": pl.String},
        ).with_columns(held=pl.Series([c[offset + 1] for c in cases]))
        con.register(f"{alias}_cases", frame)
    got = con.execute(
        f"SELECT {level.sql(DUCKDB)} FROM l_cases l JOIN r_cases r USING (i) ORDER BY i"
    ).fetchall()
    assert [g[0] for g in got] == [True, True, False, False, False]
    assert level.columns() == ("name", "held")
    levels = CompanyNameComparison("name", held_column="held").level_info()
    assert [i.gamma for i in levels][:3] == [-1, 6, 5]
    assert "held by one" in levels[1].label and levels[2].tf_column == "name"


def test_held_once_level_with_words_needs_them_equal() -> None:
    """An unregistered "X HOLDINGS LTD" shares the core of the one registered "X LTD"."""
    level = CompanyNameHeldOnceLevel("name", "held", "words")
    con = duckdb.connect()
    words = [["HOLDINGS"], [], ["HOLDINGS"]]
    con.register("l_cases", pl.DataFrame({"i": [0, 1, 2], "name": ["X"] * 3, "words": words}))
    right = pl.DataFrame({"i": [0, 1, 2], "name": ["X"] * 3, "words": [[], [], ["HOLDINGS"]]})
    con.register("r_cases", right.with_columns(held=pl.lit(1)))
    got = con.execute(
        f"SELECT {level.sql(DUCKDB)} FROM l_cases l JOIN r_cases r USING (i) ORDER BY i"
    ).fetchall()
    assert [g[0] for g in got] == [False, True, True]
    assert level.columns() == ("name", "held", "words")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("named", [True, True, False, True, True]),
        ("dropped", [False, False, True, False, False]),
    ],
)
def test_held_once_levels_with_a_form_column_part_records_that_drop_the_rights_form(
    kind: str, expected: list[bool]
) -> None:
    """A company's name is unique by law with its legal form; "X" alone may be another
    business's trading style, so a record that drops the form of the register's company has
    a level of its own. Two sole traders' names (no form on either side) are of the first
    kind."""
    level = CompanyNameHeldOnceLevel("name", "held", None, "form", kind == "dropped")
    forms = [("LTD", "LTD"), ("PLC", "LTD"), (None, "LTD"), (None, None), ("LTD", None)]
    con = duckdb.connect()
    for alias, side in (("l", 0), ("r", 1)):
        frame = pl.DataFrame(
            {"i": range(len(forms)), "name": ["ZYTRONIXES"] * 5, "form": [f[side] for f in forms]},
            schema={"i": pl.Int64, "name": pl.String, "form": pl.String},
        )
        con.register(f"{alias}_cases", frame.with_columns(held=pl.lit(1, pl.Int64)))
    got = con.execute(
        f"SELECT {level.sql(DUCKDB)} FROM l_cases l JOIN r_cases r USING (i) ORDER BY i"
    ).fetchall()
    assert [g[0] for g in got] == expected
    assert level.columns() == ("name", "held", "form")
    assert ("on the right only" in level.label) is (kind == "dropped")
    assert level_from_dict(level.to_dict()) == level


def test_the_comparison_adds_the_form_dropped_level_after_the_held_once_one() -> None:
    comparison = CompanyNameComparison(
        "core", held_column="held", compact_column="compact", form_column="form"
    )
    held = [level for level in comparison.levels if isinstance(level, CompanyNameHeldOnceLevel)]
    assert [(level.form_column, level.form_dropped) for level in held] == [
        ("form", False),
        ("form", True),
    ]
    assert comparison.levels.index(held[1]) == comparison.levels.index(held[0]) + 1
    plain = CompanyNameComparison("core", held_column="held", compact_column="compact")
    assert len(comparison.levels) == len(plain.levels) + 1


def test_held_once_level_checks_its_columns() -> None:
    with pytest.raises(SettingsError):
        CompanyNameHeldOnceLevel("name", "")
    with pytest.raises(SettingsError):
        CompanyNameHeldOnceLevel("name", "held", form_column="")
    with pytest.raises(SettingsError, match="needs a form_column"):
        CompanyNameHeldOnceLevel("name", "held", form_dropped=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rare_frequency": 0.0},
        {"rare_frequency": 1.5},
        {"overlap_thresholds": (0.5, 0.7)},
        {"overlap_thresholds": ()},
    ],
)
def test_invalid_comparison_settings(kwargs: dict) -> None:
    with pytest.raises(SettingsError):
        CompanyNameComparison(**kwargs)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CompanyTokenOverlapLevel(N, 0.0),
        lambda: CompanyTokenOverlapLevel(N, 1.2),
        lambda: CompanyRareTokensLevel(N, -1.0),
        lambda: CompanyNameJaroWinklerLevel("", 0.9),
        lambda: CompanyNameExactLevel(N, ""),
    ],
)
def test_invalid_levels(make: object) -> None:
    with pytest.raises(SettingsError):
        make()  # type: ignore[operator]


def test_token_columns_and_rarity() -> None:
    frame = standardise_business_frame(
        pl.DataFrame({"name": ["Zytronix Services Ltd", "Acme Services", None]}),
        postcode=None,
    )
    (out,), rarity = add_company_token_columns([frame], ("name_std",), max_block_frequency=0.5)
    assert out[tokens_column("name_std")].to_list() == [
        ["ZYTRONIX", "SERVICES"],
        ["ACME", "SERVICES"],
        None,
    ]
    idf = dict(zip(rarity["token"], rarity["idf"], strict=True))
    assert idf["SERVICES"] == pytest.approx(math.log(3 / 2))
    assert idf["ZYTRONIX"] == pytest.approx(math.log(3))
    assert out[idf_column("name_std")][0].to_list() == pytest.approx([math.log(3), math.log(3 / 2)])
    # rarest token, alphabetical on ties; null when even it is too common to block on
    assert out["name_std_top"].to_list() == ["ZYTRONIX", "ACME", None]
    # the blocking key: no other record holds ZYTRONIX or ACME, and SERVICES is too common
    assert out["name_std_rarest"].to_list() == [None, None, None]
    with pytest.raises(SettingsError):
        add_company_token_columns([frame], ("missing",))


def test_block_key_is_the_rarest_token_another_record_holds() -> None:
    """A mistyped word is the rarest token of its name but pairs the record with nothing: the
    blocking key is the rarest token some other record (here, on the other side) holds."""
    incoming = pl.DataFrame({"n": ["ONYXVIEW EENGINEERING", "QUOLAX", "BRENTLY PRINTING"]})
    register = pl.DataFrame({"n": ["ONYXVIEW ENGINEERING", "BRENTLY PRINTING", "ZED PRINTING"]})
    (inc, reg), _ = add_company_token_columns([incoming, register], ("n",), max_block_frequency=0.4)
    assert inc["n_top"].to_list() == ["EENGINEERING", "QUOLAX", "BRENTLY"]
    assert inc["n_rarest"].to_list() == ["ONYXVIEW", None, "BRENTLY"]
    assert reg["n_rarest"].to_list() == ["ONYXVIEW", "BRENTLY", None]


def _python_overlap(a: dict[str, float], b: dict[str, float]) -> float:
    shared = sum(w for t, w in a.items() if t in b)
    total = sum(a.values()) + sum(b.values()) - shared
    return shared / total if total else 0.0


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.9])
def test_gated_overlap_matches_direct_computation(threshold: float) -> None:
    """The cheap gate never changes the answer (random names over a small vocabulary)."""
    rng = random.Random(int(threshold * 100))
    vocabulary = [f"W{i}" for i in range(12)]
    weights = {w: rng.uniform(0.1, 5.0) for w in vocabulary}
    left, right = [], []
    for _ in range(400):
        left.append(rng.sample(vocabulary, rng.randint(1, 6)))
        right.append(rng.sample(vocabulary, rng.randint(1, 6)))

    def frame(tokens: list[list[str]]) -> pl.DataFrame:
        top = [min(ts, key=lambda t: (-weights[t], t)) for ts in tokens]
        return pl.DataFrame(
            {
                "x": [" ".join(ts) for ts in tokens],
                "x_tokens": tokens,
                "x_idf": [[weights[t] for t in ts] for ts in tokens],
                "x_top": top,
            }
        ).with_row_index("i")

    con = duckdb.connect()
    con.register("lv", frame(left))
    con.register("rv", frame(right))
    level = CompanyTokenOverlapLevel("x", threshold)
    got = [
        r[1]
        for r in con.execute(
            f"SELECT l.i, ({level.sql(DUCKDB)}) FROM lv l JOIN rv r USING (i) ORDER BY l.i"
        ).fetchall()
    ]
    expected = [
        _python_overlap({t: weights[t] for t in a}, {t: weights[t] for t in b}) >= threshold
        for a, b in zip(left, right, strict=True)
    ]
    assert got == expected
    assert any(expected) and not all(expected)


def test_gated_rare_tokens_match_direct_computation() -> None:
    rng = random.Random(7)
    vocabulary = [f"W{i}" for i in range(10)]
    weights = {w: rng.uniform(0.1, 5.0) for w in vocabulary}
    min_idf = 2.5
    pairs = [
        (rng.sample(vocabulary, rng.randint(1, 4)), rng.sample(vocabulary, rng.randint(1, 4)))
        for _ in range(400)
    ]
    pairs += [(a, [*a, "W0"]) for a, _ in pairs[:50]]  # many with equal rare sets

    def frame(tokens: list[list[str]]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "x": [" ".join(ts) for ts in tokens],
                "x_tokens": tokens,
                "x_idf": [[weights[t] for t in ts] for ts in tokens],
                "x_top": [min(ts, key=lambda t: (-weights[t], t)) for ts in tokens],
            }
        ).with_row_index("i")

    con = duckdb.connect()
    con.register("lv", frame([a for a, _ in pairs]))
    con.register("rv", frame([b for _, b in pairs]))
    level = CompanyRareTokensLevel("x", min_idf)
    got = [
        r[1]
        for r in con.execute(
            f"SELECT l.i, ({level.sql(DUCKDB)}) FROM lv l JOIN rv r USING (i) ORDER BY l.i"
        ).fetchall()
    ]

    def rare(ts: list[str]) -> set[str]:
        return {t for t in ts if weights[t] >= min_idf}

    expected = [bool(rare(a)) and rare(a) == rare(b) for a, b in pairs]
    assert got == expected
    assert sum(expected) > 10


def test_rarest_token_ties_break_alphabetically() -> None:
    frame = pl.DataFrame({"name_std": ["GAMMA DELTA", "OMEGA BETA ALPHA", "BETA"]})
    (out,), _ = add_company_token_columns([frame], ("name_std",), max_block_frequency=1.0)
    assert out["name_std_top"].to_list() == ["DELTA", "ALPHA", "BETA"]


# ------------------------------------------------------------ distinguishing words

Pair = tuple[tuple[str | None, str | None], tuple[str | None, str | None]]
W, TW = "name_words", "trading_words"


def evaluate_words(sql: str, pairs: list[Pair]) -> list[object]:
    """Evaluate SQL over ``l``/``r`` whose word columns come from with_company_name_parts."""

    def side(values: list[tuple[str | None, str | None]]) -> pl.DataFrame:
        frame = pl.DataFrame(
            {"legal": [v[0] for v in values], "trading": [v[1] for v in values]},
            schema={"legal": pl.String, "trading": pl.String},
        )
        frame = with_company_name_parts(frame, "legal", "name")
        return with_company_name_parts(frame, "trading", "trading").with_row_index("i")

    con = duckdb.connect()
    con.register("lv", side([p[0] for p in pairs]))
    con.register("rv", side([p[1] for p in pairs]))
    rows = con.execute(f"SELECT l.i, {sql} FROM lv l JOIN rv r USING (i) ORDER BY l.i").fetchall()
    return [r[1] for r in rows]


WORDS_CASES: list[tuple[Level, list[Pair], list[bool]]] = [
    (
        CompanyWordsLevel(W, "same"),
        [
            (("X Holdings Ltd", None), ("X HOLDINGS LIMITED", None)),
            (("X (UK) Holdings", None), ("X Holdings UK Ltd", None)),  # order and brackets
            (("X Ltd", None), ("X LIMITED", None)),  # no words: not "same"
            (("X Holdings Ltd", None), ("X Group Ltd", None)),
            (("X Services Services", None), ("X Services", None)),  # repeats count
        ],
        [True, True, False, False, False],
    ),
    (
        CompanyWordsLevel(W, "none"),
        [(("X Ltd", None), ("X LIMITED", None)), (("X Ltd", None), ("X Group", None))],
        [True, False],
    ),
    # direction: the left (incoming) name lacking a word the right has is "fewer"; the left
    # having a word the right lacks (the sister's pattern) is not
    (
        CompanyWordsLevel(W, "fewer"),
        [
            (("X Ltd", None), ("X Holdings Ltd", None)),
            (("X Holdings Ltd", None), ("X Ltd", None)),
            (("X UK", None), ("X UK Holdings", None)),
            (("X Services", None), ("X Services Services", None)),
            (("X Group", None), ("X Holdings UK", None)),
            (("X UK", None), ("X UK", None)),
        ],
        [True, False, True, True, False, False],
    ),
    # best of legal and trading names
    (
        CompanyWordsLevel(W, "same", TW),
        [
            (("Bloggs Ltd", "Zephyr Services"), ("Other Ltd", "ZEPHYR SERVICES")),
            (("Zephyr Services", None), ("Other Ltd", "Zephyr Services")),
            (("Bloggs Ltd", "Zephyr Services"), ("Other Ltd", None)),
        ],
        [True, True, False],
    ),
]


@pytest.mark.parametrize(
    ("level", "pairs", "expected"),
    WORDS_CASES,
    ids=[f"{c[0].label}-{i}" for i, c in enumerate(WORDS_CASES)],  # type: ignore[attr-defined]
)
def test_words_level_cases(level: Level, pairs: list[Pair], expected: list[bool]) -> None:
    sql = f"coalesce(({level.sql(DUCKDB)}), FALSE)"
    assert [bool(v) for v in evaluate_words(sql, pairs)] == expected


def test_words_comparison_levels_in_order() -> None:
    comparison = CompanyWordsComparison(W, trading_column=TW)
    assert [i.gamma for i in comparison.level_info()] == [-1, 4, 3, 2, 1, 0]
    assert comparison.tf_column == W and comparison.tf_gamma == 4
    cases: list[tuple[Pair, int]] = [
        ((("X Holdings Ltd", None), ("X HOLDINGS LTD", None)), 4),
        ((("Bloggs Ltd", "Zephyr Services"), ("Other Group", "Zephyr Services")), 3),
        ((("X Ltd", None), ("X LTD", None)), 2),
        ((("X Ltd", None), ("X Holdings Ltd", None)), 1),
        ((("X Holdings Ltd", None), ("X Ltd", None)), 0),  # a sister's extra word
        ((("X Holdings Ltd", None), ("X Group Ltd", None)), 0),
        (((None, None), ("X Ltd", None)), -1),
    ]
    gammas = evaluate_words(comparison.gamma_sql(DUCKDB), [c for c, _ in cases])
    assert gammas == [g for _, g in cases]


def test_term_frequencies_only_on_legal_names() -> None:
    # a level matched through a trading name cannot be scaled by the legal name's frequency
    with pytest.raises(SettingsError, match="legal names only"):
        CompanyWordsLevel(W, "same", TW, term_frequency=True)
    with pytest.raises(SettingsError, match="legal names only"):
        CompanyWordsLevel(W, "fewer", term_frequency=True)
    with pytest.raises(SettingsError, match="legal names only"):
        CompanyNameExactLevel(N, T, term_frequency=True)
    with pytest.raises(SettingsError, match="relation"):
        CompanyWordsLevel(W, "similar")  # type: ignore[arg-type]
    for level in CompanyWordsComparison(W, trading_column=TW).levels:
        assert level_from_dict(level.to_dict()) == level


def test_near_held_once_level_allows_one_keystroke_in_a_long_name_held_once() -> None:
    """Names without spaces one keystroke apart (or equal once split words are joined), the
    right-side name held once, long enough, with the same words when a words column is given."""
    level = CompanyNameNearHeldOnceLevel("name", "held", "words", min_length=8)
    cases = [  # (left name, right name, right held, left words, right words)
        ("GLOBBEBASE", "GLOBEBASE", 1, [], []),  # a letter added
        ("ONYXVIEWENGINERING", "ONYXVIEWENGINEERING", 1, [], []),  # dropped
        ("RAPIDFIELD", "RAPIDFIELD", 1, [], []),  # "RAPID FIELD": a split word
        ("FURNITRUESAGEITY", "FURNITURESAGEITY", 1, [], []),  # neighbours swapped
        ("GLOBBEBASE", "GLOBEBASE", 2, [], []),  # another register row holds the name
        ("GLOBBEBASES", "GLOBEBASE", 1, [], []),  # two keystrokes
        ("AGECONSULT", "AECONSULT", 1, [], []),  # long enough: a slip
        ("AGECONS", "AECONS", 1, [], []),  # too short to tell a slip from another name
        ("GLOBBEBASE", "GLOBEBASE", 1, ["HOLDINGS"], []),  # a sister's word
        (None, "GLOBEBASE", 1, [], []),
    ]
    con = duckdb.connect()
    con.register(
        "l_cases",
        pl.DataFrame(
            {"i": range(len(cases)), "name": [c[0] for c in cases], "words": [c[3] for c in cases]},
            schema={"i": pl.Int64, "name": pl.String, "words": pl.List(pl.String)},
        ),
    )
    con.register(
        "r_cases",
        pl.DataFrame(
            {
                "i": range(len(cases)),
                "name": [c[1] for c in cases],
                "held": [c[2] for c in cases],
                "words": [c[4] for c in cases],
            },
            schema={
                "i": pl.Int64,
                "name": pl.String,
                "held": pl.Int64,
                "words": pl.List(pl.String),
            },
        ),
    )
    got = con.execute(
        f"SELECT {level.sql(DUCKDB)} FROM l_cases l JOIN r_cases r USING (i) ORDER BY i"
    ).fetchall()
    expected = [True, True, True, True, False, False, True, False, False, False]
    assert [g[0] for g in got] == expected
    assert level.columns() == ("name", "held", "words")
    assert level_from_dict(level.to_dict()) == level


def test_near_held_once_level_in_the_comparison_and_its_checks() -> None:
    plain = CompanyNameComparison("core", held_column="held", words_column="words")
    near = CompanyNameComparison(
        "core", held_column="held", words_column="words", compact_column="compact"
    )
    assert len(near.levels) == len(plain.levels) + 1
    labels = [i.label for i in near.level_info()]
    assert "one keystroke" in labels[4] and "jaro-winkler" in labels[-2]
    with pytest.raises(SettingsError):
        CompanyNameNearHeldOnceLevel("name", "held", min_length=1)
    with pytest.raises(SettingsError):
        CompanyNameNearHeldOnceLevel("name", "")
