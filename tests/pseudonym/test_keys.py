"""Key derivation (RFC 5869 vectors), key IDs, master keys from env and encrypted key files."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from pseudonym.keys import (
    DecryptionError,
    KeyFileError,
    MasterKeyError,
    derive_key,
    encode_master_key,
    generate_master_key,
    hkdf_expand,
    hkdf_extract,
    hkdf_sha256,
    key_id,
    master_key_from_env,
    read_key_file,
    read_key_file_header,
    write_key_file,
)
from pseudonym.secret import Secret
from tests.vectors.rfc_parser import load_vectors

HKDF_CASES = load_vectors("rfc5869_hkdf_sha256.txt")
PASS = Secret(b"correct horse battery staple")


def test_vector_file_holds_rfc5869_cases_1_to_3() -> None:
    assert [c["case"] for c in HKDF_CASES] == [1, 2, 3]


@pytest.mark.parametrize("case", HKDF_CASES, ids=lambda c: f"rfc5869-{c['case']}")
def test_hkdf_matches_rfc5869(case: dict[str, object]) -> None:
    ikm, salt, info = case["IKM"], case["salt"], case["info"]
    assert isinstance(ikm, bytes) and isinstance(salt, bytes) and isinstance(info, bytes)
    length = case["L"]
    assert isinstance(length, int)
    prk = hkdf_extract(salt, ikm)
    assert prk == case["PRK"]
    assert hkdf_expand(prk, info, length) == case["OKM"]
    assert hkdf_sha256(ikm, salt=salt, info=info, length=length) == case["OKM"]


@given(
    ikm=st.binary(min_size=1, max_size=64),
    salt=st.binary(max_size=64),
    info=st.binary(max_size=64),
    length=st.integers(1, 200),
)
def test_hkdf_agrees_with_cryptography(ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    expected = HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)
    assert hkdf_sha256(ikm, salt=salt, info=info, length=length) == expected


def test_derive_key_matches_documented_info_string() -> None:
    master, salt = Secret(b"m" * 32), b"s" * 32
    key = derive_key(master, salt=salt, environment="research", purpose="nhs", version=3)
    expected = hkdf_sha256(b"m" * 32, salt=salt, info=b"pprl/v1|research|nhs|3")
    assert key.reveal() == expected


def test_derived_keys_differ_by_environment_purpose_version_and_salt() -> None:
    master, salt = Secret(b"m" * 32), b"s" * 32
    base = dict(salt=salt, environment="a", purpose="nhs", version=1)
    variants = [
        base,
        {**base, "environment": "b"},
        {**base, "purpose": "crn"},
        {**base, "version": 2},
        {**base, "salt": b"t" * 32},
    ]
    keys = {derive_key(master, **v).reveal() for v in variants}  # type: ignore[arg-type]
    assert len(keys) == len(variants)


def test_derive_key_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="environment name"):
        derive_key(Secret(b"m" * 32), salt=b"s" * 32, environment="a|b", purpose="nhs", version=1)


def test_key_id_is_versioned_fingerprint_and_not_the_key() -> None:
    key = Secret(bytes(range(32)))
    kid = key_id(key, 2)
    assert kid.startswith("k2-") and len(kid) == 3 + 16
    assert bytes(range(32)).hex()[:16] not in kid
    assert key_id(Secret(bytes(range(1, 33))), 2) != kid


def test_master_key_from_env() -> None:
    raw = os.urandom(32)
    got = master_key_from_env({"PPRL_MASTER_KEY": base64.b64encode(raw).decode()})
    assert got is not None and got.reveal() == raw
    assert master_key_from_env({}) is None


@pytest.mark.parametrize("value", ["not base64!!", base64.b64encode(b"short").decode()])
def test_bad_master_key_env_raises_without_echoing(value: str) -> None:
    with pytest.raises(MasterKeyError) as info:
        master_key_from_env({"PPRL_MASTER_KEY": value})
    assert value not in str(info.value)


def test_key_file_round_trip_and_format(tmp_path: Path) -> None:
    master = generate_master_key()
    path = tmp_path / "master.key"
    kid = write_key_file(path, master, PASS)
    assert read_key_file(path, PASS) == master
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no temporary left behind
    header = read_key_file_header(path)
    assert header["format"] == "pprl-master-key" and header["format_version"] == 1
    assert header["key_id"] == kid
    assert header["kdf"]["n"] == 2**15 and header["kdf"]["r"] == 8 and header["kdf"]["p"] == 1
    assert len(base64.b64decode(header["kdf"]["salt"])) == 16
    text = path.read_text()
    assert master.reveal().hex() not in text and encode_master_key(master) not in text


def test_wrong_passphrase_raises_specific_vague_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    write_key_file(path, generate_master_key(), PASS)
    with pytest.raises(DecryptionError, match="cannot decrypt") as info:
        read_key_file(path, Secret(b"wrong passphrase"))
    assert "wrong passphrase" in str(info.value)  # the hint, not the passphrase
    assert "correct horse" not in str(info.value)


def test_tampered_header_fails_decryption(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    write_key_file(path, generate_master_key(), PASS)
    document = json.loads(path.read_text())
    document["key_id"] = "m-0000000000000000"
    path.write_text(json.dumps(document))
    with pytest.raises(DecryptionError):
        read_key_file(path, PASS)


def test_key_file_refuses_overwrite_and_reports_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    write_key_file(path, generate_master_key(), PASS)
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(path, generate_master_key(), PASS)
    with pytest.raises(KeyFileError, match="not found"):
        read_key_file(tmp_path / "missing.key", PASS)
    (tmp_path / "junk.key").write_text("{}")
    with pytest.raises(KeyFileError, match="not a pprl master key"):
        read_key_file(tmp_path / "junk.key", PASS)
