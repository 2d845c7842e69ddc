"""An authenticated keystore: any edit is an error, never different pseudonyms; older keystores."""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pseudonym.errors import PseudonymError
from pseudonym.keys import MasterKeyError, generate_master_key, read_key_file
from pseudonym.keystore import (
    KEYSTORE_FILE,
    Keystore,
    KeystoreError,
    KeystoreTampered,
    KeystoreUnauthenticated,
)
from pseudonym.macs import KEYSTORE, RecordAuthenticator
from pseudonym.secret import Secret
from pseudonym.tokens import Pseudonymiser

REPO = Path(__file__).resolve().parents[2]
NHS = pl.Series(["9434765919", "4010232137", "9434765870"])


@pytest.fixture
def master() -> Secret:
    return generate_master_key()


@pytest.fixture
def ks(tmp_path: Path, master: Secret) -> Path:
    store = Keystore.create(tmp_path / "ks", master=master)
    store.add_environment("research", prefix="res")
    store.rotate("research")
    store.add_environment("other")
    return tmp_path / "ks"


def edit(ks: Path, change: Callable[[dict[str, Any]], None]) -> None:
    file = ks / KEYSTORE_FILE
    data = json.loads(file.read_text())
    change(data)
    file.write_text(json.dumps(data, indent=2, sort_keys=True))


def versions(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["environments"]["research"]["versions"]
    return result


def flip_salt_bit(data: dict[str, Any]) -> None:
    salt = bytearray(base64.b64decode(versions(data)["1"]["salt"]))
    salt[5] ^= 0x01
    versions(data)["1"]["salt"] = base64.b64encode(bytes(salt)).decode()


def swap_key_id(data: dict[str, Any]) -> None:
    versions(data)["1"]["key_id"] = versions(data)["2"]["key_id"].replace("k2-", "k1-")


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "salt bit flip": flip_salt_bit,
    "key_id replaced": swap_key_id,
    "version removed": lambda d: versions(d).pop("1"),
    "active version moved back": lambda d: d["environments"]["research"].update(active_version=1),
    "prefix changed": lambda d: d["environments"]["research"].update(prefix="rex"),
    "environment removed": lambda d: d["environments"].pop("other"),
    "status changed": lambda d: versions(d)["1"].update(status="active"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_any_edit_is_an_error_and_no_pseudonym_is_made(ks: Path, master: Secret, name: str) -> None:
    before = Pseudonymiser.from_keystore(Keystore.open(ks, master=master), "research")
    expected = before.pseudonymise("nhs", NHS)
    edit(ks, EDITS[name])
    with pytest.raises(KeystoreTampered) as info:
        Pseudonymiser.from_keystore(Keystore.open(ks, master=master), "research")
    message = str(info.value)
    assert "changed outside pprl" in message and str(ks / KEYSTORE_FILE) in message
    salts = [v["salt"] for v in versions(json.loads((ks / KEYSTORE_FILE).read_text())).values()]
    assert not any(s and s in message for s in salts)
    # the read-only view still opens (for `keys list`), but can never derive a key
    with pytest.raises(MasterKeyError):
        Keystore.open(ks).working_key("research", "nhs")
    with pytest.raises(KeystoreTampered):
        Keystore.open(ks).with_master(master)
    assert expected.len() == NHS.len()


def test_a_bit_flip_anywhere_in_the_file_is_refused(tmp_path: Path, master: Secret) -> None:
    """One bit flipped in every byte of the file, and every bit of a salt: never accepted."""
    ks = tmp_path / "small"
    Keystore.create(ks, master=master).add_environment("research")
    file = ks / KEYSTORE_FILE
    original = file.read_bytes()
    salt = json.loads(original)["environments"]["research"]["versions"]["1"]["salt"]
    start = original.index(salt.encode())
    flips = [(p, p % 8) for p in range(len(original))]
    flips += [(p, bit) for p in range(start, start + len(salt)) for bit in range(8)]
    accepted = []
    for position, bit in flips:
        changed = bytearray(original)
        changed[position] ^= 1 << bit
        file.write_bytes(bytes(changed))
        try:
            Keystore.open(ks, master=master)
        except (KeystoreError, MasterKeyError):
            continue
        accepted.append((position, bit))
    file.write_bytes(original)
    assert accepted == []
    Keystore.open(ks, master=master)  # the untouched file still opens


def test_a_retag_under_another_master_is_refused(ks: Path, master: Secret) -> None:
    attacker = RecordAuthenticator(generate_master_key(), KEYSTORE)

    def retag(data: dict[str, Any]) -> None:
        flip_salt_bit(data)
        body = {k: v for k, v in data.items() if k != "mac"}
        data["mac"] = {"algorithm": "hmac-sha256", "key_id": data["mac"]["key_id"]}
        data["mac"]["tag"] = attacker.tag(body)

    edit(ks, retag)
    with pytest.raises(KeystoreTampered, match="fails authentication"):
        Keystore.open(ks, master=master)
    edit(ks, lambda d: d["mac"].update(key_id=attacker.key_id))
    with pytest.raises(KeystoreTampered, match="not a tag this master key made"):
        Keystore.open(ks, master=master)


def test_malformed_fields_are_named_not_quoted(ks: Path, master: Secret) -> None:
    edit(ks, lambda d: versions(d)["2"].update(salt="not base64!"))
    with pytest.raises(KeystoreTampered, match=r"environments\.research\.versions\.2\.salt") as e:
        Keystore.open(ks)
    assert "not base64!" not in str(e.value)
    edit(ks, lambda d: d["environments"]["research"].update(versions=[]))
    with pytest.raises(KeystoreTampered, match=r"environments\.research\.versions: missing"):
        Keystore.open(ks)
    edit(ks, lambda d: d["environments"].update({"Bad Name": {}}))
    with pytest.raises(KeystoreTampered, match="invalid environment name"):
        Keystore.open(ks)


def test_writes_need_the_master_key_and_keep_the_tag_valid(ks: Path, master: Secret) -> None:
    with pytest.raises(MasterKeyError, match="needs the master key"):
        Keystore.open(ks).destroy("other")
    store = Keystore.open(ks, master=master)
    assert store.authenticated and store.tagged
    store.destroy("other")
    reopened = Keystore.open(ks, master=master)  # the destroyed salts are covered by the tag
    assert reopened.environment("other").status == "destroyed"
    assert reopened.check_key_ids() == 2  # research v1 and v2; destroyed versions have no salt


def untag(ks: Path) -> None:
    edit(ks, lambda d: d.pop("mac"))


def test_older_untagged_keystore_is_refused_until_upgraded(ks: Path, master: Secret) -> None:
    expected = Pseudonymiser.from_keystore(Keystore.open(ks, master=master), "research")
    pseudonyms = expected.pseudonymise("nhs", NHS)
    untag(ks)
    with pytest.raises(KeystoreUnauthenticated, match="pprl keys upgrade"):
        Keystore.open(ks, master=master)
    assert Keystore.open(ks).environment("research").active_version == 2  # read-only view
    with pytest.raises(MasterKeyError):
        Keystore.upgrade(ks, master=generate_master_key())
    upgraded = Keystore.upgrade(ks, master=master)
    assert upgraded.tagged
    again = Pseudonymiser.from_keystore(Keystore.open(ks, master=master), "research")
    assert again.pseudonymise("nhs", NHS).to_list() == pseudonyms.to_list()
    Keystore.upgrade(ks, master=master)  # a tagged keystore is only checked


def test_upgrade_refuses_an_edited_salt_and_writes_nothing(ks: Path, master: Secret) -> None:
    untag(ks)
    edit(ks, flip_salt_bit)
    before = (ks / KEYSTORE_FILE).read_bytes()
    with pytest.raises(KeystoreTampered, match=r"environments\.research\.versions\.1\.key_id"):
        Keystore.upgrade(ks, master=master)
    assert (ks / KEYSTORE_FILE).read_bytes() == before


def test_keystore_errors_pickle(ks: Path, master: Secret) -> None:
    edit(ks, flip_salt_bit)
    with pytest.raises(KeystoreTampered) as info:
        Keystore.open(ks, master=master)
    clone = pickle.loads(pickle.dumps(info.value))
    assert isinstance(clone, KeystoreTampered) and isinstance(clone, PseudonymError)
    assert str(clone) == str(info.value)


def test_bad_environment_name_is_a_keystore_error(ks: Path, master: Secret) -> None:
    with pytest.raises(KeystoreError, match="environment name must be"):
        Keystore.open(ks, master=master).add_environment("envA")


def test_committed_demo_keystore_is_tagged_and_opens() -> None:
    folder = REPO / "configs/demo-data/keystore"
    demo_master = read_key_file(folder / "demo-master.key", Secret(b"pprl-demo-only"))
    store = Keystore.open(folder, master=demo_master)
    assert store.tagged and store.check_key_ids() == 1
