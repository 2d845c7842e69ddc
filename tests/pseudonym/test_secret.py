"""Secret never shows its value: repr, str, format, logging, exceptions, pickle."""

from __future__ import annotations

import logging
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pseudonym.secret import Secret

# Bytes whose text forms (hex, latin-1, repr) are long enough that a leak would be found.
secret_bytes = st.binary(min_size=16, max_size=64)


def _forms(raw: bytes) -> list[str]:
    return [raw.hex(), repr(raw), raw.decode("latin-1")]


@given(secret_bytes)
def test_text_forms_never_show_the_value(raw: bytes) -> None:
    s = Secret(raw)
    percent, dot_format = "%s" % s, "{}".format(s)  # noqa: UP031, UP032 - the forms under test
    shown = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", percent, dot_format, str([s])]
    for text in shown:
        assert "***" in text
        for form in _forms(raw):
            assert form not in text


@given(secret_bytes)
def test_logging_and_exceptions_never_show_the_value(raw: bytes) -> None:
    s = Secret(raw)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger = logging.getLogger("tests.secret")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.info("key is %s / %r", s, s)
        logger.info("dict %s", {"key": s})
        try:
            raise ValueError(f"bad key {s}")
        except ValueError:
            logger.exception("failed with %s", s)
    finally:
        logger.removeHandler(handler)
    joined = "\n".join(records)
    assert "Secret('***')" in joined
    for form in _forms(raw):
        assert form not in joined


def test_reveal_returns_the_bytes_and_len_is_exposed() -> None:
    s = Secret(b"k" * 32)
    assert s.reveal() == b"k" * 32
    assert len(s) == 32 and bool(s)


def test_equality_is_by_value_and_only_with_secrets() -> None:
    assert Secret(b"a" * 32) == Secret(b"a" * 32)
    assert Secret(b"a" * 32) != Secret(b"b" * 32)
    assert Secret(b"a" * 32) != b"a" * 32


def test_pickle_and_hash_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(b"x" * 32))
    with pytest.raises(TypeError):
        hash(Secret(b"x" * 32))


def test_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="bytes"):
        Secret("text")  # type: ignore[arg-type]
