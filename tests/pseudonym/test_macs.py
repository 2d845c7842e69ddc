"""Record MACs: the construction checked against an independent implementation, tamper cases."""

from __future__ import annotations

import json
import pickle

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from pseudonym.keys import derive_key, derive_master_purpose_key, generate_master_key
from pseudonym.macs import (
    AUDIT_LOG,
    KEYSTORE,
    AuthenticationError,
    RecordAuthenticator,
    canonical_json,
)
from pseudonym.secret import Secret

MASTER = Secret(bytes(range(32)))


def independent_tag(master: bytes, purpose: str, document: dict[str, object]) -> str:
    """The documented construction, built from pyca/cryptography rather than pprl's own HKDF."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"pprl/v1/master|" + purpose.encode()
    ).derive(master)
    mac = crypto_hmac.HMAC(key, hashes.SHA256())
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    mac.update(b"pprl-mac/1|" + purpose.encode() + b"|" + body.encode("ascii"))
    return mac.finalize().hex()


@given(
    document=st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.text(max_size=12), st.booleans(), st.none()),
        max_size=6,
    ),
    purpose=st.sampled_from([AUDIT_LOG, KEYSTORE]),
)
def test_tag_matches_an_independent_implementation(
    document: dict[str, object], purpose: str
) -> None:
    auth = RecordAuthenticator(MASTER, purpose)  # type: ignore[arg-type]
    assert auth.tag(document) == independent_tag(MASTER.reveal(), purpose, document)


def test_purposes_and_masters_give_unrelated_keys() -> None:
    doc = {"a": 1}
    audit, keystore = RecordAuthenticator(MASTER, AUDIT_LOG), RecordAuthenticator(MASTER, KEYSTORE)
    other = RecordAuthenticator(generate_master_key(), AUDIT_LOG)
    assert len({audit.tag(doc), keystore.tag(doc), other.tag(doc)}) == 3
    assert audit.key_id.startswith("audit-log-") and keystore.key_id.startswith("keystore-")
    assert audit.key_id != other.key_id
    # an environment named like a purpose still derives a different key (salt and info differ)
    env_key = derive_key(MASTER, salt=b"", environment="master", purpose=AUDIT_LOG, version=1)
    assert env_key != derive_master_purpose_key(MASTER, AUDIT_LOG)


def test_verify_raises_on_any_change_and_on_malformed_tags() -> None:
    auth = RecordAuthenticator(MASTER, AUDIT_LOG)
    doc = {"seq": 1, "details": {"rows": 5}}
    tag = auth.tag(doc)
    auth.verify({"details": {"rows": 5}, "seq": 1}, tag)
    for changed in ({"seq": 1, "details": {"rows": 6}}, {"seq": 1}, {**doc, "extra": None}):
        with pytest.raises(AuthenticationError, match="does not match"):
            auth.verify(changed, tag)
    flipped = format(int(tag[0], 16) ^ 1, "x") + tag[1:]
    with pytest.raises(AuthenticationError):
        auth.verify(doc, flipped)
    for bad in (None, 5, tag.upper(), tag[:-2], ""):
        with pytest.raises(AuthenticationError, match="missing or malformed"):
            auth.verify(doc, bad)


def test_authenticator_never_shows_or_pickles_its_key() -> None:
    auth = RecordAuthenticator(MASTER, KEYSTORE)
    key = derive_master_purpose_key(MASTER, KEYSTORE).reveal()
    assert key.hex() not in repr(auth) and MASTER.reveal().hex() not in repr(auth)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(auth)
    with pytest.raises(TypeError):
        RecordAuthenticator(b"raw bytes", AUDIT_LOG)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RecordAuthenticator(MASTER, "other")  # type: ignore[arg-type]


def test_canonical_json_is_order_independent_and_ascii() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'
    with pytest.raises(TypeError):
        canonical_json([1, 2])  # type: ignore[arg-type]
