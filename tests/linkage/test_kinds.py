"""The comparison-kind registry (linkage/kinds.py): one translator from a configured kind to a
comparison, used by both the pipeline config and the ``pprl link`` job config."""

from __future__ import annotations

import pytest

from linkage import comparisons as cl
from linkage.errors import SettingsError
from linkage.kinds import KINDS, IdentifierComparison, build_comparison, comparison_kind, kind_names
from linkage.standardise import ISO_DATE, STANDARDISATIONS

# kind -> the ready-made comparison its defaults build
EXPECTED = {
    "exact": cl.ExactComparison("x"),
    "name": cl.NameComparison("x", term_frequency=True),
    "jaro_winkler": cl.JaroWinklerAtThresholds("x", (0.9, 0.7)),
    "levenshtein": cl.LevenshteinAtThresholds("x", (1, 2)),
    "damerau_levenshtein": cl.DamerauLevenshteinAtThresholds("x", (1, 2)),
    "date": cl.DateOfBirthComparison("x"),
    "postcode": cl.PostcodeComparison("x"),
    "identifier": IdentifierComparison("x"),
}


def test_every_kind_builds_its_documented_comparison_by_default() -> None:
    assert set(KINDS) == set(EXPECTED)
    for kind, expected in EXPECTED.items():
        assert build_comparison(kind, "x").to_dict() == expected.to_dict(), kind


def test_standardisations_named_by_kinds_exist() -> None:
    for kind in KINDS.values():
        assert kind.standardise is None or kind.standardise in STANDARDISATIONS


def test_dob_is_an_alias_of_date_and_a_standardised_date_is_iso_text() -> None:
    assert comparison_kind("dob") is comparison_kind("date")
    assert kind_names() == (*KINDS, "dob")
    raw = build_comparison("dob", "birth")
    iso = build_comparison("date", "birth", standardised_as="date")
    given = build_comparison("date", "birth", date_format="%Y%m%d", standardised_as="date")
    assert raw.to_dict() == cl.DateOfBirthComparison("birth").to_dict()
    assert iso.to_dict() == cl.DateOfBirthComparison("birth", date_format=ISO_DATE).to_dict()
    assert given.to_dict() == cl.DateOfBirthComparison("birth", date_format="%Y%m%d").to_dict()
    # a column standardised as something else is not ISO date text
    other = build_comparison("date", "birth", standardised_as="name")
    assert other.to_dict() == raw.to_dict()


def test_options_reach_the_comparison() -> None:
    name = build_comparison(
        "name",
        "surname",
        name="family",
        thresholds=[0.95, 0.8],
        term_frequency=False,
        reversed_with="forename",
    )
    expected = cl.NameComparison(
        "surname", thresholds=(0.95, 0.8), reversed_with="forename", name="family"
    )
    assert name.to_dict() == expected.to_dict() and name.tf_column is None
    assert build_comparison("postcode", "pc", term_frequency=True).tf_column == "pc"
    lev = build_comparison("levenshtein", "nino", thresholds=[1.0, 3.0])
    assert lev.to_dict() == cl.LevenshteinAtThresholds("nino", (1, 3)).to_dict()


def test_options_a_kind_does_not_take_are_all_reported() -> None:
    with pytest.raises(SettingsError) as info:
        build_comparison(
            "exact", "x", thresholds=[1], reversed_with="y", date_format="%Y", term_frequency=True
        )
    assert info.value.problems == [
        "thresholds does not apply to type 'exact'",
        "reversed_with does not apply to type 'exact'",
        "date_format does not apply to type 'exact'",
    ]
    with pytest.raises(SettingsError, match="term_frequency does not apply to type 'dob'"):
        build_comparison("dob", "x", term_frequency=True)
    build_comparison("levenshtein", "x", term_frequency=False)  # off is every kind's default
    with pytest.raises(SettingsError, match="whole numbers"):
        build_comparison("damerau_levenshtein", "x", thresholds=[1.5])
    with pytest.raises(SettingsError, match="strictly decreasing"):
        build_comparison("jaro_winkler", "x", thresholds=[0.7, 0.9])


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(SettingsError) as info:
        build_comparison("soundex", "x")
    message = str(info.value)
    assert "'soundex'" in message
    assert all(name in message for name in kind_names())


def test_identifier_kind_is_null_exact_else_and_takes_no_options() -> None:
    built = build_comparison("identifier", "id_nhs")
    assert [info.label for info in built.level_info()] == [
        level.label for level in cl.ExactComparison("id_nhs").levels
    ]
    assert [info.gamma for info in built.level_info()] == [-1, 1, 0]
    assert comparison_kind("identifier").standardise is None
    with pytest.raises(SettingsError, match="term_frequency does not apply to type 'identifier'"):
        build_comparison("identifier", "id_nhs", term_frequency=True)
