"""k-anonymity, local suppression, l-diversity and generalisation ladders."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.standardise.regions import ONS_REGIONS
from pipeline.disclosure import (
    KAnonymitySettings,
    SuppressionBudgetExceeded,
    anonymise,
    count_unsafe,
    dob_ladder,
    frequency_counts,
    local_suppression,
    postcode_ladder,
    recode_ladder,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "disclosure" / "sdcmicro_freqcalc.json"


def _brute_force_fk(rows: list[tuple[object, ...]]) -> list[int]:
    """Independent O(n^2) reference: j matches i when every key is equal or either is missing."""

    def match(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
        return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))

    return [sum(match(r, s) for s in rows) for r in rows]


@pytest.mark.parametrize("case", json.loads(VECTORS.read_text())["cases"], ids=lambda c: c["name"])
def test_frequency_counts_match_sdcmicro_freqcalc(case: dict[str, list[object]]) -> None:
    # Source of the vectors: see "source" in the vector file (sdcMicro test_freqCalc.R).
    keys = [k for k in case if len(k) == 1 and k != "w"]
    df = pl.DataFrame({k: pl.Series(case[k], dtype=pl.Int64) for k in keys} | {"w": case["w"]})
    out = frequency_counts(df, keys, weight="w")
    assert out["fk"].to_list() == case["fk"]
    assert out["Fk"].to_list() == pytest.approx(case["Fk"])
    assert out.select([*keys, "w"]).equals(df)  # input columns and row order untouched


QI_VALUE = st.one_of(st.none(), st.integers(0, 2))


@given(st.lists(st.tuples(QI_VALUE, QI_VALUE, QI_VALUE), min_size=1, max_size=40))
def test_frequency_counts_agree_with_brute_force(rows: list[tuple[int | None, ...]]) -> None:
    df = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64, "c": pl.Int64}, orient="row")
    assert frequency_counts(df, ["a", "b", "c"])["fk"].to_list() == _brute_force_fk(rows)


@given(
    st.lists(st.tuples(QI_VALUE, QI_VALUE, QI_VALUE), min_size=6, max_size=60),
    st.integers(2, 4),
)
def test_local_suppression_leaves_every_record_k_anonymous(
    rows: list[tuple[int | None, ...]], k: int
) -> None:
    df = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64, "c": pl.Int64}, orient="row")
    df = df.with_row_index("id")
    treated, per_var, touched = local_suppression(df, ["a", "b", "c"], k)
    fk = _brute_force_fk(list(treated.select("a", "b", "c").iter_rows()))
    assert min(fk) >= k
    # Only nulls were introduced, and only into quasi-identifiers; ids and order are kept.
    assert treated["id"].to_list() == df["id"].to_list()
    for col in ("a", "b", "c"):
        changed = (treated[col].is_null() & df[col].is_not_null()).sum()
        assert ((treated[col] != df[col]) & treated[col].is_not_null()).sum() == 0
        assert changed == per_var[col]
    assert touched <= df.height
    # Deterministic rerun.
    again, _, _ = local_suppression(df, ["a", "b", "c"], k)
    assert again.equals(treated)


def test_local_suppression_prefers_the_first_variable_in_order() -> None:
    df = pl.DataFrame({"a": [1, 1, 1, 2], "b": ["x", "x", "x", "x"], "c": [5, 5, 5, 6]})
    treated, per_var, touched = local_suppression(df, ["a", "b", "c"], 2, order=["c", "a", "b"])
    # The unique record (2, x, 6) needs both a and c gone: c (first in order) goes first and is
    # not enough, so a goes too. Nobody else is touched.
    assert treated.row(3) == (None, "x", None)
    assert treated.head(3).equals(df.head(3))
    assert per_var == {"a": 1, "b": 0, "c": 1} and touched == 1


def test_single_suppression_suffices_when_possible() -> None:
    df = pl.DataFrame({"a": [1, 1, 1, 2], "b": ["x", "x", "x", "x"]})
    treated, per_var, _ = local_suppression(df, ["a", "b"], 2, order=["a", "b"])
    assert treated.row(3) == (None, "x")
    assert per_var == {"a": 1, "b": 0}


def _people(n: int, seed: int = 7) -> pl.DataFrame:
    import random

    rnd = random.Random(seed)
    postcodes = ["SW1A 1AA", "M1 1AE", "LS1 4AP", "B33 8TH", "CF10 1EP", "EH1 1YZ", "NE1 7RU"]
    return pl.DataFrame(
        {
            "dob": [
                dt.date(1930, 1, 1) + dt.timedelta(days=rnd.randrange(30000)) for _ in range(n)
            ],
            "postcode": [rnd.choice(postcodes) for _ in range(n)],
            "sex": [rnd.choice("FM") for _ in range(n)],
            "diagnosis": [rnd.choice(["a", "b", "c", "d"]) for _ in range(n)],
        }
    )


def test_anonymise_steps_up_ladders_then_suppresses_within_budget() -> None:
    df = _people(400)
    settings = KAnonymitySettings(
        k=5, quasi_identifiers=["dob", "postcode", "sex"], suppression_budget=0.05
    )
    ladders = {
        "dob": dob_ladder("dob", dt.date(2025, 1, 1)),
        "postcode": postcode_ladder("postcode"),
    }
    out, report = anonymise(df, settings, ladders)
    assert count_unsafe(out, ["dob", "postcode", "sex"], 5) == 0
    assert report.unsafe_after == 0 and report.unsafe_before > 0
    assert report.levels["dob"] in {"age_band", "broad_age_band"}  # year of birth was too fine
    assert report.levels["postcode"] == "region"
    assert report.records_suppressed <= 20
    assert sum(report.suppressed.values()) >= report.records_suppressed
    regions = set(out["postcode"].drop_nulls().to_list())
    assert regions <= {"London", "North West", "Yorkshire and The Humber", "West Midlands",
                       "Wales", "Scotland", "North East"}  # fmt: skip
    assert out["diagnosis"].equals(df["diagnosis"])


def test_anonymise_fails_closed_when_budget_too_small() -> None:
    df = _people(60)
    settings = KAnonymitySettings(k=10, quasi_identifiers=["dob", "sex"], suppression_budget=0.0)
    with pytest.raises(SuppressionBudgetExceeded) as info:
        anonymise(df, settings, {"dob": dob_ladder("dob", dt.date(2025, 1, 1))})
    assert info.value.exit_code == 3
    assert "budget is 0" in str(info.value)


def test_l_diversity_is_enforced() -> None:
    df = pl.DataFrame(
        {
            "age": ["30-39"] * 6 + ["40-49"] * 6,
            "sex": ["F"] * 12,
            "diagnosis": ["flu"] * 6 + ["flu", "cold", "flu", "cold", "flu", "asthma"],
        }
    )
    counted = frequency_counts(df, ["age", "sex"], sensitive="diagnosis")
    assert counted["l"].to_list() == [1] * 6 + [3] * 6  # every 30-39 record shares "flu"
    settings = KAnonymitySettings(
        k=3, quasi_identifiers=["age", "sex"], l_diversity=2, sensitive="diagnosis",
        suppression_budget=1.0,
    )  # fmt: skip
    out, report = anonymise(df, settings)
    after = frequency_counts(out, ["age", "sex"], sensitive="diagnosis")
    assert after["l"].min() >= 2 and after["fk"].min() >= 3
    assert report.suppressed["age"] == 6 and report.suppressed["sex"] == 0


@given(st.lists(st.sampled_from(["SW1A 1AA", "M1 1AE", "EH1 1YZ", "BT1 1AA", "bad", ""]),
                min_size=1, max_size=30))  # fmt: skip
def test_postcode_ladder_never_delivers_below_the_floor(postcodes: list[str]) -> None:
    df = pl.DataFrame({"postcode": postcodes})
    ladder = postcode_ladder("postcode", floor="area")
    for level in range(len(ladder.levels)):
        values = df.select(ladder.apply(level))["postcode"].drop_nulls().to_list()
        # Only areas (letters only) or regions: never a sector or district.
        assert all(re.fullmatch("[A-Z]{1,2}", v) or v in ONS_REGIONS for v in values)


def test_recode_ladder_applies_maps_cumulatively() -> None:
    ladder = recode_ladder("job", [{"nurse": "health", "doctor": "health"}, {"health": "public"}])
    df = pl.DataFrame({"job": ["nurse", "doctor", "baker"]})
    assert df.select(ladder.apply(0))["job"].to_list() == ["nurse", "doctor", "baker"]
    assert df.select(ladder.apply(1))["job"].to_list() == ["health", "health", "baker"]
    assert df.select(ladder.apply(2))["job"].to_list() == ["public", "public", "baker"]
    assert df.select(ladder.apply(3))["job"].to_list() == [None, None, None]


POSTCODES = ["SW1A 1AA", "M1 1AE", "LS1 4AP", "B33 8TH", "CF10 1EP", None, "bad"]


@given(
    st.lists(
        st.tuples(
            st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)),
            st.sampled_from(POSTCODES),
            st.sampled_from(["F", "M", None]),
        ),
        min_size=1,
        max_size=50,
    ),
    st.integers(2, 5),
)
def test_anonymised_extracts_are_k_anonymous_and_above_the_floor(
    rows: list[tuple[dt.date, str | None, str | None]], k: int
) -> None:
    df = pl.DataFrame(rows, schema=["dob", "postcode", "sex"], orient="row")
    settings = KAnonymitySettings(
        k=k, quasi_identifiers=["dob", "postcode", "sex"], suppression_budget=1.0
    )
    ladders = {
        "dob": dob_ladder("dob", dt.date(2025, 1, 1)),
        "postcode": postcode_ladder("postcode"),
    }
    try:
        out, report = anonymise(df, settings, ladders)
    except SuppressionBudgetExceeded:
        assert df.height < k  # only when even all-null records are too few
        return
    assert min(_brute_force_fk(list(out.select("dob", "postcode", "sex").iter_rows()))) >= k
    assert report.unsafe_after == 0 and report.records == df.height
    assert set(out["postcode"].drop_nulls()) <= set(ONS_REGIONS)
    assert not out["dob"].drop_nulls().str.contains(r"^\d{4}-").any()  # never a full date
    again, _ = anonymise(df, settings, ladders)
    assert again.equals(out)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", None]), st.sampled_from([1, 2, 3, None])),
        min_size=1,
        max_size=40,
    )
)
def test_pairwise_and_join_counting_agree(rows: list[tuple[str | None, int | None]]) -> None:
    # Small inputs are counted pairwise; large ones by joins per missing-value pattern.
    from pipeline.disclosure import matching

    df = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.Int64}, orient="row")
    pairwise = frequency_counts(df, ["x", "y"])["fk"].to_list()
    saved = matching.PAIRWISE_MAX
    matching.PAIRWISE_MAX = -1
    try:
        joined = frequency_counts(df, ["x", "y"])["fk"].to_list()
    finally:
        matching.PAIRWISE_MAX = saved
    assert pairwise == joined


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from([1, 2, None])),
        min_size=3,
        max_size=60,
    ),
    st.integers(2, 4),
)
def test_suppressed_members_are_the_rows_local_suppression_nulls(
    rows: list[tuple[str | None, int | None]], k: int
) -> None:
    from pipeline.disclosure.errors import SuppressionBudgetExceeded
    from pipeline.disclosure.kanon import suppressed_members

    df = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.Int64}, orient="row")
    df = df.with_row_index("unit")
    try:
        treated, _, _ = local_suppression(df, ["x", "y"], k, order=["y", "x"])
    except SuppressionBudgetExceeded:
        with pytest.raises(SuppressionBudgetExceeded):
            suppressed_members(df, ["x", "y"], k, "unit", order=["y", "x"])
        return
    lost = suppressed_members(df, ["x", "y"], k, "unit", order=["y", "x"])
    for q in ("x", "y"):
        nulled = df.filter(df[q].is_not_null() & treated[q].is_null())["unit"]
        assert sorted(lost[q].to_list()) == sorted(nulled.to_list())
