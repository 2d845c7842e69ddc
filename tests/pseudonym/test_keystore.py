"""Keystore: environments, rotation, crypto-shredding, master-key binding, file hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pseudonym.keys import MasterKeyError, generate_master_key
from pseudonym.keystore import (
    KEYSTORE_FILE,
    EnvironmentDestroyedError,
    EnvironmentNotFoundError,
    Keystore,
    KeystoreError,
    KeyVersionError,
)
from pseudonym.secret import Secret


@pytest.fixture
def master() -> Secret:
    return generate_master_key()


@pytest.fixture
def store(tmp_path: Path, master: Secret) -> Keystore:
    ks = Keystore.create(tmp_path / "ks", master=master)
    ks.add_environment("research")
    return ks


def test_create_add_and_reopen(tmp_path: Path, store: Keystore, master: Secret) -> None:
    reopened = Keystore.open(tmp_path / "ks", master=master)
    info = reopened.environment("research")
    assert info.prefix == "research" and info.status == "active" and info.active_version == 1
    assert [v.version for v in info.versions] == [1]
    assert info.versions[0].key_id.startswith("k1-")
    key_a, kid_a = reopened.working_key("research", "nhs")
    key_b, kid_b = store.working_key("research", "nhs")
    assert key_a == key_b and kid_a == kid_b


def test_keystore_file_is_private_and_holds_no_key(
    tmp_path: Path, store: Keystore, master: Secret
) -> None:
    path = tmp_path / "ks" / KEYSTORE_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    key, _ = store.working_key("research", "nhs")
    assert master.reveal().hex() not in text and key.reveal().hex() not in text
    assert not list((tmp_path / "ks").glob(".tmp-*"))


def test_rotation_adds_active_version_and_keeps_old_readable(store: Keystore) -> None:
    old_key, old_id = store.working_key("research", "nhs")
    v2 = store.rotate("research")
    assert v2.version == 2 and store.active_version("research") == 2
    new_key, new_id = store.working_key("research", "nhs")
    assert new_key != old_key and new_id.startswith("k2-")
    assert store.working_key("research", "nhs", version=1) == (old_key, old_id)
    statuses = [v.status for v in store.environment("research").versions]
    assert statuses == ["retired", "active"]


def test_destroy_shreds_salts_keeps_key_ids(
    tmp_path: Path, store: Keystore, master: Secret
) -> None:
    store.rotate("research")
    ids_before = [v.key_id for v in store.environment("research").versions]
    store.destroy("research")
    reopened = Keystore.open(tmp_path / "ks", master=master)
    info = reopened.environment("research")
    assert info.status == "destroyed" and info.active_version is None
    assert [v.key_id for v in info.versions] == ids_before
    raw = json.loads((tmp_path / "ks" / KEYSTORE_FILE).read_text())
    assert all(v["salt"] is None for v in raw["environments"]["research"]["versions"].values())
    with pytest.raises(EnvironmentDestroyedError, match="destroyed"):
        reopened.working_key("research", "nhs")
    with pytest.raises(EnvironmentDestroyedError):
        reopened.working_key("research", "nhs", version=1)
    with pytest.raises(EnvironmentDestroyedError):
        reopened.rotate("research")


def test_environments_are_independent(store: Keystore) -> None:
    store.add_environment("audit", prefix="aud")
    assert store.working_key("research", "nhs")[0] != store.working_key("audit", "nhs")[0]
    store.destroy("audit")
    store.working_key("research", "nhs")  # still derivable


def test_wrong_master_is_rejected(tmp_path: Path, store: Keystore) -> None:
    with pytest.raises(MasterKeyError, match="not this keystore's master key"):
        Keystore.open(tmp_path / "ks", master=generate_master_key())


def test_operations_needing_master_fail_clearly_without_it(tmp_path: Path, store: Keystore) -> None:
    read_only = Keystore.open(tmp_path / "ks")
    assert read_only.environment("research").active_version == 1
    with pytest.raises(MasterKeyError, match="needs the master key"):
        read_only.working_key("research", "nhs")
    with pytest.raises(MasterKeyError):
        read_only.rotate("research")


def test_errors_for_unknown_duplicate_and_bad_input(tmp_path: Path, store: Keystore) -> None:
    with pytest.raises(EnvironmentNotFoundError, match="'nope'"):
        store.working_key("nope", "nhs")
    with pytest.raises(KeystoreError, match="already exists"):
        store.add_environment("research")
    with pytest.raises(KeystoreError, match="prefix"):
        store.add_environment("other", prefix="Has Space")
    with pytest.raises(KeyVersionError, match="no key version 7"):
        store.working_key("research", "nhs", version=7)
    with pytest.raises(KeystoreError, match="no keystore here"):
        Keystore.open(tmp_path / "empty")
    with pytest.raises(KeystoreError, match="already exists"):
        Keystore.create(tmp_path / "ks", master=generate_master_key())
