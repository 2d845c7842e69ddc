"""k-anonymity on the linked view: every join of a delivery's files (and of earlier deliveries
to the same recipient) on every shared key has no class below k, checked by an intruder's
brute-force join (tests/pipeline/linked_attack.py) over random multi-source deliveries."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.disclosure import (
    KAnonymitySettings,
    ReidentificationRiskExceeded,
    RiskLimits,
    TableSpecError,
    anonymise_linked,
    assess_linked,
    check_linked_risk,
    linked_risk,
    protect_linked,
)
from tests.pipeline.disclosure.linked_attack import expected_reidentifications, joins, violations

QIS = ["yob", "sex", "region"]
DOMAINS = {"yob": [1950, 1951, 1952, 1953], "sex": ["F", "M"], "region": ["N", "S", "W"]}


def _delivery(
    seed: int,
) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame], list[str], int]:
    """Current files, earlier files, keys and k: persons in 2-3 current sources (and maybe one
    earlier delivery), 1-2 records each, QI subsets per source, discrepancies and gaps between
    a person's records, and sometimes a pseudonym key shared by some files (with noise)."""
    rng = np.random.default_rng(seed)
    persons = int(rng.integers(20, 60))
    truth = {q: rng.choice(len(v), persons) for q, v in DOMAINS.items()}
    use_pid = rng.random() < 0.5
    files: dict[str, pl.DataFrame] = {}
    names = [f"src{i}" for i in range(int(rng.integers(2, 4)))]
    if rng.random() < 0.4:
        names.append("earlier0")
    for name in names:
        members = np.flatnonzero(rng.random(persons) < rng.uniform(0.5, 0.95))
        members = np.repeat(members, np.where(rng.random(members.size) < 0.2, 2, 1))
        frame = {"person_id": [f"P{p:03d}" for p in members]}
        if use_pid and rng.random() < 0.7:
            pid = members + 1000
            noisy = rng.random(members.size) < 0.05
            pid[noisy] = rng.integers(1000, 1000 + persons, int(noisy.sum()))
            frame["pid"] = [None if rng.random() < 0.05 else int(v) for v in pid]
        qis = [q for q in QIS if rng.random() < 0.7] or [QIS[int(rng.integers(3))]]
        for q in qis:
            index = truth[q][members].copy()
            wrong = rng.random(members.size) < 0.05
            index[wrong] = rng.integers(0, len(DOMAINS[q]), int(wrong.sum()))
            values = [DOMAINS[q][i] for i in index]
            frame[q] = [None if rng.random() < 0.05 else v for v in values]
        frame["episode"] = list(range(members.size))
        files[name] = pl.DataFrame(frame)
    current = {n: f for n, f in files.items() if n.startswith("src")}
    earlier = {n: f for n, f in files.items() if n.startswith("earlier")}
    keys = (
        ["person_id", "pid"] if any("pid" in f.columns for f in files.values()) else ["person_id"]
    )
    return current, earlier, keys, int(rng.integers(2, 4))


def _treat(seed: int) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame], list[str], int]:
    current, earlier, keys, k = _delivery(seed)
    settings = KAnonymitySettings(k=k, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, report = anonymise_linked(current, settings, keys=keys, earlier=earlier)
    assert report.unsafe_after is not None
    assert all(v == 0 for v in report.unsafe_after.values())
    _only_nulled(current, treated, keys)
    return treated, earlier, keys, k


def _only_nulled(
    before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame], keys: list[str]
) -> None:
    """Same rows and columns; QIs and keys only set missing, never changed; the rest intact."""
    assert before.keys() == after.keys()
    for name, old in before.items():
        new = after[name]
        assert new.columns == old.columns and new.height == old.height
        assert new["episode"].to_list() == old["episode"].to_list()
        for column in set(old.columns) & {*QIS, *keys}:
            changed = new[column].is_not_null() & (new[column] != old[column]).fill_null(True)
            assert not changed.any(), f"{name}.{column} changed a value"


@given(st.integers(0, 2**32 - 1))
def test_every_join_of_a_treated_delivery_is_k_anonymous(seed: int) -> None:
    treated, earlier, keys, k = _treat(seed)
    found = violations({**treated, **earlier}, QIS, k, keys, must_include=list(treated))
    assert found == []
    # ... so no view gives any person a re-identification risk above 1/k.
    risks = linked_risk(treated, QIS, keys=keys, earlier=earlier)
    assert all(r.max_individual_risk <= 1 / k + 1e-12 for r in risks.values())


def test_untreated_deliveries_do_have_small_classes_in_their_joins() -> None:
    # The property above is not vacuous: joins of the raw files break k in most deliveries,
    # and the library's own assessment sees it.
    broken = 0
    for seed in range(20):
        current, earlier, keys, k = _delivery(seed)
        found = violations({**current, **earlier}, QIS, k, keys, must_include=list(current))
        multi = [f for f in found if "+" in f]
        if multi:
            broken += 1
            assessed = assess_linked(current, QIS, k, keys=keys, earlier=earlier)
            assert any(n > 0 for n in assessed.values())
    assert broken >= 15


def test_issue_scenario_hospital_and_gp_joined_on_person_id() -> None:
    # Each file is 3-anonymous alone; joined on person_id the classes split.
    hospital = pl.DataFrame(
        {"person_id": [f"P{i}" for i in range(12)], "yob": [1950] * 6 + [1951] * 6,
         "sex": ["F", "M"] * 6}
    )  # fmt: skip
    gp = pl.DataFrame({"person_id": [f"P{i}" for i in range(12)], "region": ["N"] * 3 + ["S"] * 9})
    assert violations({"h": hospital}, QIS, 3, ["person_id"], ["h"]) == []
    assert violations({"g": gp}, QIS, 3, ["person_id"], ["g"]) == []
    assert violations({"h": hospital, "g": gp}, QIS, 3, ["person_id"], ["h", "g"])
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, report = anonymise_linked({"h": hospital, "g": gp}, settings)
    assert assess_linked({"h": hospital, "g": gp}, QIS, 3)["key:person_id"] > 0
    assert report.unsafe_after == {"file:h": 0, "file:g": 0, "key:person_id": 0}
    assert violations(treated, QIS, 3, ["person_id"], ["h", "g"]) == []
    assert report.unlinked == {"h": 0, "g": 0}


def test_fewer_than_k_persons_in_both_files_are_unlinked_not_exposed() -> None:
    # Only 2 persons are in both files: no suppression can give their join 3 rows.
    a = pl.DataFrame({"person_id": [f"P{i}" for i in range(10)], "sex": ["F", "M"] * 5})
    b = pl.DataFrame({"person_id": ["P0", "P1"] + [f"Q{i}" for i in range(8)], "sex": ["F"] * 10})
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, report = anonymise_linked({"a": a, "b": b}, settings)
    assert violations(treated, QIS, 3, ["person_id"], ["a", "b"]) == []
    assert sum(report.unlinked.values()) == 4  # P0 and P1 lose their key in both files
    assert treated["a"]["person_id"].null_count() == 2


def test_earlier_deliveries_count_and_are_not_changed() -> None:
    # The earlier delivery split persons by region; the new file alone is safe, not joined.
    earlier = pl.DataFrame(
        {"person_id": [f"P{i}" for i in range(9)], "region": ["N", "S", "W"] * 3}
    )
    new = pl.DataFrame({"person_id": [f"P{i}" for i in range(9)], "sex": ["F"] * 4 + ["M"] * 5})
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    assert violations({"new": new, "old": earlier}, QIS, 3, ["person_id"], ["new"])
    treated, _ = anonymise_linked({"new": new}, settings, earlier={"old": earlier})
    assert violations({**treated, "old": earlier}, QIS, 3, ["person_id"], ["new"]) == []


def test_budget_is_enforced_in_records() -> None:
    from pipeline.disclosure import SuppressionBudgetExceeded

    current, earlier, keys, k = _delivery(3)
    settings = KAnonymitySettings(k=k, quasi_identifiers=QIS, suppression_budget=0.0)
    assert any(assess_linked(current, QIS, k, keys=keys, earlier=earlier).values())
    with pytest.raises(SuppressionBudgetExceeded):
        anonymise_linked(current, settings, keys=keys, earlier=earlier)


def test_a_file_without_quasi_identifiers_still_links() -> None:
    # The GP file has no QIs: joins with it still restrict who is in the join.
    a = pl.DataFrame({"person_id": [f"P{i}" for i in range(12)], "sex": ["F", "M"] * 6})
    b = pl.DataFrame({"person_id": [f"P{i}" for i in range(4)], "visits": [1, 2, 3, 4]})
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, report = anonymise_linked({"a": a, "b": b}, settings)
    assert violations(treated, QIS, 3, ["person_id"], ["a", "b"]) == []
    assert treated["b"]["visits"].to_list() == [1, 2, 3, 4]
    assert report.unsafe_after == {"file:a": 0, "key:person_id": 0}


def test_text_and_integer_keys_and_negative_integers() -> None:
    # Integer person keys (negative ones too) and a key that is text in one file and
    # integer in another are matched by value.
    a = pl.DataFrame({"person_id": list(range(-6, 6)), "sex": ["F"] * 6 + ["M"] * 6})
    b = pl.DataFrame({"person_id": [str(i) for i in range(-6, 6)], "yob": [1950] * 12})
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, _ = anonymise_linked({"a": a, "b": b}, settings)
    as_text = {n: f.with_columns(pl.col("person_id").cast(pl.String)) for n, f in treated.items()}
    assert violations(as_text, QIS, 3, ["person_id"], ["a", "b"]) == []
    assert treated["a"].schema == a.schema and treated["b"].schema == b.schema


def _one_row_per_person(seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    people = [f"P{i}" for i in range(40)]
    files = {}
    for name, qis in (("a", ["yob", "sex"]), ("b", ["region"])):
        chosen = sorted(rng.choice(people, 30, replace=False).tolist())
        columns: dict[str, list[object]] = {"person_id": chosen}
        for q in qis:
            columns[q] = [
                None if rng.random() < 0.1 else DOMAINS[q][rng.integers(len(DOMAINS[q]))]
                for _ in chosen
            ]
        files[name] = pl.DataFrame(columns)
    return files


@pytest.mark.parametrize("seed", range(5))
def test_linked_risk_equals_the_intruders_expected_reidentifications(seed: int) -> None:
    files = _one_row_per_person(seed)
    (_, _, joined), *_ = [j for j in joins(files, ["person_id"], ["a"]) if j[1] == ("a", "b")]
    brute = expected_reidentifications(joined, ["a.yob", "a.sex", "b.region"])
    reports = linked_risk(files, QIS)
    assert reports["key:person_id"].expected_reidentifications == pytest.approx(brute)
    assert reports["key:person_id"].records == joined.height


def test_linked_risk_limit_fails_closed_then_holds_after_treatment() -> None:
    files = _one_row_per_person(1)
    limits = RiskLimits(max_individual_risk=1 / 3)
    with pytest.raises(ReidentificationRiskExceeded):
        check_linked_risk(files, QIS, limits)
    settings = KAnonymitySettings(k=3, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, _ = anonymise_linked(files, settings)
    reports = check_linked_risk(treated, QIS, limits)
    assert all(r.max_individual_risk <= 1 / 3 + 1e-12 for r in reports.values())
    with pytest.raises(TableSpecError, match="weight does not apply"):
        linked_risk(files, QIS, RiskLimits(weight="w"))


def test_protect_linked_treats_and_enforces_the_risk_limit() -> None:
    files = _one_row_per_person(2)
    strict = KAnonymitySettings(
        k=3, quasi_identifiers=QIS, suppression_budget=1.0,
        risk=RiskLimits(max_expected_reidentifications=0.5),
    )  # fmt: skip
    # k = 3 leaves up to 1/3 expected re-identifications per unit: far above 0.5 in total.
    with pytest.raises(ReidentificationRiskExceeded):
        protect_linked(files, strict)
    loose = strict.model_copy(update={"risk": RiskLimits(max_individual_risk=1 / 3)})
    treated, summary = protect_linked(files, loose)
    assert violations(treated, QIS, 3, ["person_id"], ["a", "b"]) == []
    risks = summary["linked_risk"]
    assert isinstance(risks, dict) and set(risks) == {"file:a", "file:b", "key:person_id"}
    assert all(r["records_above_limit"] == 0 for r in risks.values())


@given(st.integers(0, 2**32 - 1))
def test_protect_linked_reports_what_a_fresh_check_of_its_output_reports(seed: int) -> None:
    # protect_linked builds the views once, from the treated delivery with its units redrawn
    # from the keys left (as_delivered); a separate anonymise_linked then linked_risk of the
    # treated frames builds everything twice. Both must give the same frames and figures.
    current, earlier, keys, k = _delivery(seed)
    settings = KAnonymitySettings(k=k, quasi_identifiers=QIS, suppression_budget=1.0)
    treated, summary = protect_linked(current, settings, keys=keys, earlier=earlier)
    expected, report = anonymise_linked(current, settings, keys=keys, earlier=earlier)
    assert treated.keys() == expected.keys()
    for name, frame in expected.items():
        assert treated[name].equals(frame)
    fresh = linked_risk(expected, QIS, keys=keys, earlier=earlier)
    assert summary["linked_risk"] == {view: r.to_dict() for view, r in fresh.items()}
    assert summary["linked_k_anonymity"] == report.to_dict()
