"""Synthetic people: determinism, valid NHS numbers, truth, overlap, corruption rates."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re

import jellyfish
import numpy as np
import polars as pl
import pytest

from linkage.standardise import normalise_postcode, postcode_region
from synthetic import (
    PERSON_COLUMNS,
    Corruption,
    generate_person_pair,
    generate_persons,
)
from synthetic.checkdigits import is_valid_nhs_number
from synthetic.corruption import digit_typo, typo
from synthetic.errors import SyntheticError


def independent_nhs_valid(number: str) -> bool:
    """Mod 11 written from the NHS Data Dictionary text, independently of the generator."""
    if not re.fullmatch(r"[0-9]{10}", number):
        return False
    total = sum(int(digit) * (10 - i) for i, digit in enumerate(number[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


# 943 476 5919 is the example NHS number used in NHS Digital's guidance; the others are edits.
@pytest.mark.parametrize(
    ("number", "valid"),
    [("9434765919", True), ("9434765918", False), ("943476591", False), ("94347659I9", False)],
)
def test_nhs_rule_agrees_with_independent_implementation(number: str, valid: bool) -> None:
    assert is_valid_nhs_number(number) is valid
    assert independent_nhs_valid(number) is valid


def test_generate_persons_is_deterministic_by_seed() -> None:
    first = generate_persons(500, seed=11)
    assert first.equals(generate_persons(500, seed=11))
    assert not first.equals(generate_persons(500, seed=12))
    assert tuple(first.columns) == PERSON_COLUMNS


def test_persons_have_valid_unique_nhs_numbers_in_the_right_ranges() -> None:
    people = generate_persons(5000, seed=3)
    numbers = people["nhs_number"].to_list()
    assert all(independent_nhs_valid(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)
    assert {number[0] for number in numbers} == {"4", "6", "7"}
    assert people["record_id"].n_unique() == people.height


def test_persons_fields_are_well_formed() -> None:
    people = generate_persons(3000, seed=4)
    checked = people.select(
        pc=normalise_postcode(pl.col("postcode")),
        region=postcode_region(pl.col("postcode")),
        dob=pl.col("dob").str.to_date("%Y-%m-%d", strict=False),
    )
    assert checked["pc"].to_list() == people["postcode"].to_list()  # already canonical
    assert checked["region"].null_count() == 0
    assert checked["region"].n_unique() == 12  # every ONS region is represented
    assert checked["dob"].null_count() == 0
    assert set(people["sex"]) == {"F", "M"}
    assert people["house_number"].str.contains(r"^[0-9]+[AB]?$").all()
    # children have no income and a "not applicable" employment status
    ages = 2025 - checked["dob"].dt.year()
    children = people.filter(ages < 15)
    assert children["income"].null_count() == children.height
    assert set(children["employment_status"]) == {"not applicable"}


def test_name_frequencies_are_skewed_like_real_registers() -> None:
    people = generate_persons(20_000, seed=5)
    surnames = people["surname"].value_counts(sort=True)
    assert surnames["surname"][0] == "SMITH"
    smith_share = surnames["count"][0] / people.height
    assert 0.01 < smith_share < 0.04
    assert surnames.height > 1000  # long tail of rarer surnames
    # households: many people share a postcode and surname with someone else
    shared = people.group_by("postcode", "surname").len().filter(pl.col("len") > 1)
    assert shared["len"].sum() > 0.3 * people.height


@pytest.mark.parametrize(
    ("n_left", "n_right", "overlap"), [(1000, 800, 0.8), (500, 500, 0.0), (300, 600, 1.0)]
)
def test_pair_truth_and_overlap(n_left: int, n_right: int, overlap: float) -> None:
    left, right, truth = generate_person_pair(n_left, n_right, overlap=overlap, seed=6)
    assert (left.height, right.height) == (n_left, n_right)
    assert truth.height == round(overlap * min(n_left, n_right))
    assert truth["record_id_left"].is_in(left["record_id"].implode()).all()
    assert truth["record_id_right"].is_in(right["record_id"].implode()).all()
    assert truth["record_id_left"].n_unique() == truth.height
    assert truth["record_id_right"].n_unique() == truth.height


def test_pair_is_deterministic_and_ids_carry_no_signal() -> None:
    a = generate_person_pair(400, 400, seed=8)
    b = generate_person_pair(400, 400, seed=8)
    for x, y in zip(a, b, strict=True):
        assert x.equals(y)
    truth = a[2]
    same_number = truth["record_id_left"].str.slice(1) == truth["record_id_right"].str.slice(1)
    assert same_number.sum() < 5


def test_without_corruption_true_pairs_are_identical() -> None:
    left, right, truth = generate_person_pair(500, 500, seed=9, corruption=Corruption.none())
    joined = truth.join(left, left_on="record_id_left", right_on="record_id").join(
        right, left_on="record_id_right", right_on="record_id", suffix="_r"
    )
    for column in PERSON_COLUMNS[1:]:
        assert joined[column].equals(joined[f"{column}_r"], null_equal=True), column


def _within(observed: int, n: int, rate: float) -> bool:
    """Observed count within 4 binomial standard deviations of n * rate."""
    return abs(observed - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate)) + 1


def test_corruption_rates_are_honoured() -> None:
    rates = dataclasses.replace(
        Corruption.none(), nhs_missing=0.2, move=0.3, missing_dob=0.05, surname_typo=0.1
    )
    left, right, truth = generate_person_pair(8000, 8000, overlap=1.0, seed=10, corruption=rates)
    pairs = truth.join(left, left_on="record_id_left", right_on="record_id").join(
        right, left_on="record_id_right", right_on="record_id", suffix="_r"
    )
    n = pairs.height
    assert _within(pairs["nhs_number_r"].null_count(), n, 0.2)
    assert _within(pairs["dob_r"].null_count(), n, 0.05)
    moved = (pairs["postcode"] != pairs["postcode_r"]) | (pairs["street"] != pairs["street_r"])
    assert _within(int(moved.sum()), n, 0.3 * (1 - 1 / 3000))  # a donor may share the address
    changed = pairs.filter(pl.col("surname") != pl.col("surname_r"))
    assert _within(changed.height, n, 0.1)
    distances = [
        jellyfish.damerau_levenshtein_distance(a, b)
        for a, b in zip(changed["surname"], changed["surname_r"], strict=True)
    ]
    assert set(distances) == {1}
    # untouched fields stay identical
    assert (pairs["first_name"] == pairs["first_name_r"]).all()


def test_left_corruption_is_optional_and_independent() -> None:
    rates = dataclasses.replace(Corruption.none(), missing_dob=0.3)
    clean = generate_person_pair(2000, 2000, overlap=1.0, seed=14, corruption=Corruption.none())
    left, right, _ = generate_person_pair(
        2000, 2000, overlap=1.0, seed=14, corruption=Corruption.none(), left_corruption=rates
    )
    assert clean[0]["dob"].null_count() == 0
    assert _within(left["dob"].null_count(), 2000, 0.3)
    assert right["dob"].null_count() == 0


def test_default_corruption_makes_linkage_non_trivial() -> None:
    left, right, truth = generate_person_pair(5000, 5000, overlap=0.8, seed=12)
    pairs = truth.join(left, left_on="record_id_left", right_on="record_id").join(
        right, left_on="record_id_right", right_on="record_id", suffix="_r"
    )
    fields = ["first_name", "surname", "dob", "postcode"]
    exact = pl.all_horizontal([pl.col(f).eq_missing(pl.col(f"{f}_r")) for f in fields])
    exact_share = pairs.select(exact.mean()).item()
    assert 0.5 < exact_share < 0.85
    mistyped = pairs["nhs_number_r"].drop_nulls()
    assert not all(independent_nhs_valid(x) for x in mistyped)  # some NHS numbers mistyped


def test_invalid_arguments_raise_synthetic_errors() -> None:
    with pytest.raises(SyntheticError) as info:
        Corruption(move=1.5, nhs_missing=-0.1)
    assert len(info.value.problems) == 2 and isinstance(info.value, ValueError)
    assert "move" in str(info.value) and "nhs_missing" in str(info.value)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is SyntheticError and copy.problems == info.value.problems
    with pytest.raises(SyntheticError):
        generate_person_pair(10, 10, overlap=1.2, seed=1)
    with pytest.raises(SyntheticError):
        generate_persons(-1, seed=1)


def test_typo_is_one_edit_and_digit_typo_changes_one_digit() -> None:
    rng = np.random.default_rng(0)
    words = ["SMITH", "JO", "MACDONALD", "O'BRIEN", "A"]
    for _ in range(400):
        word = words[int(rng.integers(len(words)))]
        changed = typo(word, rng)
        assert jellyfish.damerau_levenshtein_distance(word, changed) <= 1
    for _ in range(200):
        number = "9434765919"
        changed = digit_typo(number, rng)
        assert sum(a != b for a, b in zip(number, changed, strict=True)) == 1


@pytest.mark.parametrize("n", [0, 1, 100_000])
def test_generate_persons_makes_exactly_n_distinct_people(n: int) -> None:
    # Its speed (1M people within 60 s) is measured by benchmarks/bench_budgets.py.
    people = generate_persons(n, seed=13)
    assert people.height == n
    assert people["nhs_number"].n_unique() == n and people["record_id"].n_unique() == n


def test_docstring_examples_run() -> None:
    import doctest

    import synthetic

    result = doctest.testmod(synthetic)
    assert result.attempted > 0 and result.failed == 0
