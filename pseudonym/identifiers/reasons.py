"""Reason codes: why a value is not a valid identifier. Stable strings for reports and manifests."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an identifier value was rejected. ``check`` reports the first reason that applies."""

    MISSING = "missing"  # null, empty, or only whitespace and separators such as "-"
    BAD_FORMAT = "bad_format"  # wrong length, characters or layout
    BAD_PREFIX = "bad_prefix"  # letters not allocated (NINO prefix, company-number prefix)
    PLACEHOLDER = "placeholder"  # a filler such as 0000000000 or 1111111111
    BAD_DATE = "bad_date"  # embedded date of birth is not a calendar date (CHI)
    BAD_CHECK_DIGIT = "bad_check_digit"  # check digit or check character does not match
    TEST_RANGE = "test_range"  # reserved for tests and examples; see ``allow_test_numbers``
    OUT_OF_RANGE = "out_of_range"  # well formed but outside the ranges ever issued
