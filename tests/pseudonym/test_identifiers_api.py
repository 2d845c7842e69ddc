"""The public surface of pseudonym.identifiers: registry, errors, privacy of messages, dtypes."""

from __future__ import annotations

import logging
import pickle

import polars as pl
import pytest

from pseudonym.errors import PseudonymError
from pseudonym.identifiers import (
    IDENTIFIER_TYPES,
    IdentifierRule,
    InvalidIdentifier,
    Reason,
    UnknownIdentifierType,
    check,
    check_expr,
    normalise_one,
)
from tests.pseudonym.test_identifiers_vectors import VECTORS

EXPECTED_TYPES = {
    "nhs", "chi", "nino", "vat", "utr", "paye", "aoref", "crn", "entref", "ruref", "luref",
    "postcode",
}  # fmt: skip


def test_registry_lists_exactly_the_documented_types() -> None:
    assert set(IDENTIFIER_TYPES) == EXPECTED_TYPES
    for name, rule in IDENTIFIER_TYPES.items():
        assert isinstance(rule, IdentifierRule)
        assert rule.name == name
        assert rule.description
        assert rule.examples


@pytest.mark.parametrize("id_type", sorted(EXPECTED_TYPES))
def test_examples_are_valid_and_already_canonical(id_type: str) -> None:
    rule = IDENTIFIER_TYPES[id_type]
    result = check(id_type, pl.Series(list(rule.examples)))
    assert result["normalised"].to_list() == list(rule.examples)
    assert result["reason"].null_count() == len(rule.examples)


def test_unknown_type_names_the_known_types_in_every_entry_point() -> None:
    calls = [
        lambda: check("passport", pl.Series(["x"])),
        lambda: check_expr("passport", pl.col("x")),
        lambda: normalise_one("passport", "x"),
    ]
    for call in calls:
        with pytest.raises(UnknownIdentifierType) as caught:
            call()
        assert isinstance(caught.value, PseudonymError)
        assert isinstance(caught.value, ValueError)
        message = str(caught.value)
        assert "passport" in message
        assert all(name in message for name in EXPECTED_TYPES)


def test_invalid_identifier_is_a_pseudonym_error_and_a_value_error() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_one("nhs", "4000000005")
    error = caught.value
    assert isinstance(error, PseudonymError)
    assert isinstance(error, ValueError)
    assert error.id_type == "nhs"
    assert error.reason is Reason.BAD_CHECK_DIGIT
    assert str(error) == "invalid nhs identifier: bad_check_digit"


def test_errors_survive_pickling() -> None:
    for error in (InvalidIdentifier("vat", "bad_format"), UnknownIdentifierType("x", ["nhs"])):
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error)
        assert str(clone) == str(error)
    clone = pickle.loads(pickle.dumps(InvalidIdentifier("vat", "bad_format")))
    assert isinstance(clone, InvalidIdentifier)
    assert clone.reason is Reason.BAD_FORMAT


def _identifying_parts(value: str) -> list[str]:
    """The value, its compact form, and each alphanumeric run of 3 or more characters."""
    compact = "".join(ch for ch in value if ch.isalnum())
    runs = [run for run in value.replace("-", " ").split() if len(run) >= 3]
    return [part for part in {value.strip(), compact, compact.upper(), *runs} if len(part) >= 3]


def test_invalid_identifier_messages_never_contain_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    invalid = [v for v in VECTORS if v.reason is not None and v.value is not None]
    assert len(invalid) > 100
    caplog.set_level(logging.DEBUG)
    for vector in invalid:
        with pytest.raises(InvalidIdentifier) as caught:
            normalise_one(vector.id_type, vector.value or "")
        error = caught.value
        texts = [str(error), repr(error), *map(str, error.args)]
        pickled = pickle.dumps(error)
        for part in _identifying_parts(vector.value or ""):
            for text in texts:
                assert part not in text, (vector.label, "value leaked into the error")
            assert part.encode() not in pickled, (vector.label, "value leaked into the pickle")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for vector in invalid:
        for part in _identifying_parts(vector.value or ""):
            assert part not in logged, vector.label


def test_check_keeps_length_and_order_with_nulls_and_mixed_validity() -> None:
    values = ["4000000004", None, "bad", "6000000006", "", "400 000 0004", None]
    result = check("nhs", pl.Series(values, dtype=pl.String))
    assert result.rows() == [
        ("4000000004", None),
        (None, "missing"),
        (None, "bad_format"),
        ("6000000006", None),
        (None, "missing"),
        ("4000000004", None),
        (None, "missing"),
    ]


def test_check_of_an_empty_series() -> None:
    result = check("postcode", pl.Series([], dtype=pl.String))
    assert result.shape == (0, 2)
    assert result.schema == {"normalised": pl.String, "reason": pl.String}


def test_integer_input_is_read_as_digits() -> None:
    result = check("nhs", pl.Series([4000000004, 4000000005, None]))
    assert result.rows() == [("4000000004", None), (None, "bad_check_digit"), (None, "missing")]


def test_check_rejects_non_series_input() -> None:
    with pytest.raises(TypeError):
        check("nhs", ["4000000004"])  # type: ignore[arg-type]


def test_normalise_one_rejects_non_string_and_reports_missing() -> None:
    with pytest.raises(TypeError):
        normalise_one("nhs", 4000000004)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_one("postcode", "   ")
    assert caught.value.reason is Reason.MISSING


def test_allow_test_numbers_accepts_the_test_range_only() -> None:
    values = pl.Series(["9434765919", "QQ123456C"])
    assert check("nhs", values[:1])["reason"].to_list() == ["test_range"]
    assert check("nhs", values[:1], allow_test_numbers=True)["normalised"].to_list() == [
        "9434765919"
    ]
    assert normalise_one("nino", "QQ123456C", allow_test_numbers=True) == "QQ123456C"
    with pytest.raises(InvalidIdentifier):
        normalise_one("nino", "QQ123456C")


def test_check_expr_works_in_a_lazy_query_beside_other_columns() -> None:
    frame = pl.LazyFrame(
        {
            "id": [1, 2, 3],
            "nino": ["ab 12 34 56 c", "DA123456A", None],
            "pc": ["sw1a1aa", "x", "M11AE"],
        }
    )
    nino, nino_reason = check_expr("nino", pl.col("nino"))
    postcode, postcode_reason = check_expr("postcode", pl.col("pc"))
    out = (
        frame.with_columns(
            nino.alias("nino_norm"),
            nino_reason.alias("nino_reason"),
            postcode.alias("pc_norm"),
            postcode_reason.alias("pc_reason"),
        )
        .filter(pl.col("id") != 2)
        .collect()
    )
    assert out["nino_norm"].to_list() == ["AB123456C", None]
    assert out["nino_reason"].to_list() == [None, "missing"]
    assert out["pc_norm"].to_list() == ["SW1A 1AA", "M1 1AE"]
    assert out["pc_reason"].to_list() == [None, None]


def test_reason_codes_are_the_documented_strings() -> None:
    assert {r.value for r in Reason} == {
        "missing", "bad_format", "bad_prefix", "placeholder", "bad_date", "bad_check_digit",
        "test_range", "out_of_range",
    }  # fmt: skip
    observed = {v.reason for v in VECTORS if v.reason is not None}
    assert observed == {r.value for r in Reason}


def test_check_never_modifies_the_callers_series() -> None:
    values = pl.Series("nhs", ["400 000 0004", "4000000004", " 400-000-0004", None])
    frame = pl.DataFrame({"nhs": values})
    before = values.to_list()
    check("nhs", values)
    check("nhs", frame["nhs"])
    assert values.to_list() == before
    assert frame["nhs"].to_list() == before
