"""``pprl keys``: create a keystore, add environments, rotate and destroy their keys.

Every command that changes the keystore appends an entry to ``<keystore>/audit.jsonl`` (key IDs,
never keys), authenticated with the audit key derived from the master key; no command ever
prints key material. The master key comes from ``--key-file`` (encrypted with a passphrase from
``PPRL_KEY_PASSPHRASE`` or a prompt), from ``PPRL_MASTER_KEY``, or from the key file recorded in
the keystore, in that order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.audit import AuditLog
from pipeline.commands.results import json_wanted
from pseudonym.keys import (
    PASSPHRASE_ENV,
    MasterKeyError,
    generate_master_key,
    master_key_from_env,
    read_key_file,
    write_key_file,
)
from pseudonym.keystore import Keystore, KeystoreError
from pseudonym.secret import Secret

AUDIT_FILE = "audit.jsonl"
KEYSTORE_ENV = "PPRL_KEYSTORE"

F = TypeVar("F", bound=Callable[..., Any])


def keystore_option(func: F) -> F:
    """``--keystore DIR`` (or env ``PPRL_KEYSTORE``), shared by every key-using command."""
    return click.option(
        "--keystore",
        "keystore_dir",
        envvar=KEYSTORE_ENV,
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Keystore directory (or set {KEYSTORE_ENV}).",
    )(func)


def key_file_option(func: F) -> F:
    """``--key-file F``: the passphrase-encrypted master key file."""
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Master key file encrypted with a passphrase (default: PPRL_MASTER_KEY, then the"
        " key file recorded in the keystore).",
    )(func)


def audit_log(keystore: Keystore | Path) -> AuditLog:
    """The keystore's audit log, keyed with the audit key of the keystore's master key.

    Pass the keystore :func:`open_keystore` returned. Given only its directory (as older
    callers do), the keystore this process last opened there is used, else the master key is
    loaded again (``PPRL_MASTER_KEY``, else the key file the keystore records).
    """
    if not isinstance(keystore, Keystore):
        directory = Path(keystore).resolve()
        opened = [k for k in _last_opened if k.path.resolve() == directory]
        keystore = opened[0] if opened else open_keystore(directory, None)
    return AuditLog(keystore.path / AUDIT_FILE, authenticator=keystore.audit_authenticator())


# The keystore open_keystore returned last, for audit_log callers that pass a directory.
_last_opened: list[Keystore] = []


def read_passphrase(*, confirm: bool = False) -> Secret:
    """Passphrase from ``PPRL_KEY_PASSPHRASE``, else an interactive prompt (hidden input)."""
    text = os.environ.get(PASSPHRASE_ENV)
    if text is None:
        text = click.prompt(
            "Key file passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
    if not text:
        raise MasterKeyError("the key file passphrase must not be empty")
    return Secret(text.encode("utf-8"))


def load_master_key(keystore_dir: Path, key_file: Path | None) -> Secret:
    """The master key for an existing keystore: ``--key-file``, env, then the recorded file."""
    if key_file is not None:
        return read_key_file(key_file, read_passphrase())
    from_env = master_key_from_env()
    if from_env is not None:
        return from_env
    recorded = Keystore.open(keystore_dir).master_key_file
    if recorded:
        return read_key_file(recorded, read_passphrase())
    raise MasterKeyError(
        "no master key: set PPRL_MASTER_KEY or pass --key-file (this keystore records no key file)"
    )


def open_keystore(keystore_dir: Path, key_file: Path | None) -> Keystore:
    """Open the keystore with its master key (checked against the recorded master key ID)."""
    Keystore.open(keystore_dir)  # fail on a missing keystore before asking for a passphrase
    keystore = Keystore.open(keystore_dir, master=load_master_key(keystore_dir, key_file))
    _last_opened[:] = [keystore]
    return keystore


@click.group("keys", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Manage the keystore: environments, key versions, rotation and destruction.

    The keystore holds salts and key IDs, never keys; working keys are derived from the master
    key. Every command writes an audit entry to KEYSTORE/audit.jsonl.

    \b
    Example:
        export PPRL_KEY_PASSPHRASE=...   # or answer the prompt
        pprl keys init --keystore ks --key-file master.key
        pprl keys add-env research --keystore ks
    """


@command.command("init")
@keystore_option
@key_file_option
def init_command(keystore_dir: Path, key_file: Path | None) -> None:
    """Create a keystore bound to a master key.

    With --key-file F: if F does not exist, generate a new 32-byte master key and save it in F,
    encrypted with a passphrase (asked twice, or PPRL_KEY_PASSPHRASE); if F exists, use its key.
    Without --key-file, the master key comes from PPRL_MASTER_KEY (base64 of >= 32 random bytes,
    e.g. from `openssl rand -base64 32`).

    \b
    Example:
        pprl keys init --keystore /secure/ks --key-file /secure/master.key
    """
    created_key_file = False
    if key_file is not None:
        if key_file.exists():
            master = read_key_file(key_file, read_passphrase())
        else:
            master = generate_master_key()
            write_key_file(key_file, master, read_passphrase(confirm=True))
            created_key_file = True
    else:
        env_master = master_key_from_env()
        if env_master is None:
            raise MasterKeyError("no master key: pass --key-file F or set PPRL_MASTER_KEY")
        master = env_master
    recorded = str(key_file.resolve()) if key_file is not None else None
    keystore = Keystore.create(keystore_dir, master=master, master_key_file=recorded)
    audit_log(keystore).append(
        "keys.init",
        details={
            "master_key_id": keystore.master_key_id,
            "master_key_source": "key-file" if key_file is not None else "environment",
            "key_file_created": created_key_file,
        },
    )
    click.echo(f"Created keystore {keystore_dir} (master key {keystore.master_key_id}).")
    if created_key_file:
        click.echo(f"Wrote new master key file {key_file}: keep it and its passphrase safe.")


@command.command("add-env")
@click.argument("environment")
@click.option(
    "--prefix",
    default=None,
    help="1-8 letters that start this environment's pseudonyms (default: the letters of its name).",
)
@keystore_option
@key_file_option
def add_env_command(
    environment: str, prefix: str | None, keystore_dir: Path, key_file: Path | None
) -> None:
    """Add an environment (a project or TRE) with key version 1.

    \b
    Example:
        pprl keys add-env research --prefix res --keystore ks
    """
    keystore = open_keystore(keystore_dir, key_file)
    version = keystore.add_environment(environment, prefix=prefix)
    info = keystore.environment(environment)
    audit_log(keystore).append(
        "keys.add-env",
        details={
            "environment": environment,
            "prefix": info.prefix,
            "key_version": version.version,
            "key_id": version.key_id,
        },
    )
    click.echo(f"Added environment {environment}: version {version.version}, key {version.key_id}.")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@keystore_option
def list_command(as_json: bool, keystore_dir: Path) -> None:
    """List environments and their key versions (key IDs only), as the keystore file holds them.

    Needs no master key, so nothing is verified and no audit entry is written: 'pprl keys
    verify' checks the file with the master key.

    \b
    Example:
        pprl keys list --keystore ks --json
    """
    keystore = Keystore.open(keystore_dir)
    environments = keystore.environments()
    if json_wanted(as_json):  # --json, or pprl --log-format json (engineer N)
        payload = {
            "master_key_id": keystore.master_key_id,
            "environments": [
                {
                    "name": env.name,
                    "prefix": env.prefix,
                    "status": env.status,
                    "active_version": env.active_version,
                    "versions": [
                        {
                            "version": v.version,
                            "key_id": v.key_id,
                            "status": v.status,
                            "created": v.created,
                            "destroyed": v.destroyed,
                        }
                        for v in env.versions
                    ],
                }
                for env in environments
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"master key {keystore.master_key_id}")
    if not environments:
        click.echo("no environments (add one with 'pprl keys add-env')")
    for env in environments:
        click.echo(f"{env.name}  prefix={env.prefix}  status={env.status}")
        for v in env.versions:
            marker = "*" if v.version == env.active_version else " "
            click.echo(f"  {marker} v{v.version}  {v.key_id}  {v.status}  created {v.created}")


@command.command("rotate")
@click.argument("environment")
@keystore_option
@key_file_option
def rotate_command(environment: str, keystore_dir: Path, key_file: Path | None) -> None:
    """Add key version N+1 and make it active; older versions stay readable until destroyed.

    \b
    Example:
        pprl keys rotate research --keystore ks
    """
    keystore = open_keystore(keystore_dir, key_file)
    previous = keystore.active_version(environment)
    version = keystore.rotate(environment)
    audit_log(keystore).append(
        "keys.rotate",
        details={
            "environment": environment,
            "previous_version": previous,
            "key_version": version.version,
            "key_id": version.key_id,
        },
    )
    click.echo(f"Rotated {environment}: version {version.version} ({version.key_id}) is active.")


@command.command("destroy")
@click.argument("environment")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@keystore_option
@key_file_option
def destroy_command(environment: str, yes: bool, keystore_dir: Path, key_file: Path | None) -> None:
    """Destroy every key of an environment by deleting its salts (crypto-shredding).

    Pseudonyms already made stay as they are, but no new ones can be made and the old ones can
    no longer be reproduced or matched, even with the master key. Key IDs are kept for the audit
    trail. This cannot be undone. Needs the master key (the keystore is re-tagged).

    \b
    Example:
        pprl keys destroy research --yes --keystore ks
    """
    keystore = Keystore.open(keystore_dir)
    keystore.environment(environment)  # unknown environment: fail before asking
    if not yes:
        click.confirm(
            f"Destroy every key of environment {environment!r}? This cannot be undone",
            abort=True,
            err=True,
        )
    # the rewritten keystore is tagged, which needs the master key
    keystore = open_keystore(keystore_dir, key_file)
    info = keystore.destroy(environment)
    audit_log(keystore).append(
        "keys.destroy",
        details={
            "environment": environment,
            "key_ids": [v.key_id for v in info.versions],
        },
    )
    click.echo(
        f"Destroyed environment {environment}: {len(info.versions)} key version(s) shredded."
    )


@command.command("verify")
@keystore_option
@key_file_option
def verify_command(keystore_dir: Path, key_file: Path | None) -> None:
    """Check a keystore with its master key: after a restore from backup, or at any time.

    Checks the keystore's authentication tag, its master key, every key ID against the key
    derived from its salt, its audit log, and that every key version the audit log recorded is
    still in the keystore (an older backup that misses a rotation fails). Exit 2 if not.

    \b
    Example:
        pprl keys verify --keystore /secure/ks
    """
    keystore = open_keystore(keystore_dir, key_file)  # checks the tag and every key ID
    log = audit_log(keystore)
    summary = f"{len(keystore.environments())} environments, {keystore.check_key_ids()} key IDs"
    if log.path.exists():
        result = log.verify()
        _check_recorded_versions(keystore, log)
        summary += f"; audit log {result.entries} entries, head {result.head[:16]}"
    else:
        summary += "; no audit log"
    click.echo(f"ok: keystore {keystore_dir} (master key {keystore.master_key_id}): {summary}")


def _check_recorded_versions(keystore: Keystore, log: AuditLog) -> None:
    """Every key version the audit log says was made is still in the keystore."""
    held = {
        (env.name, v.version, v.key_id) for env in keystore.environments() for v in env.versions
    }
    for entry in log.entries():
        details = entry.get("details", {})
        if entry.get("action") not in ("keys.add-env", "keys.rotate"):
            continue
        made = (details.get("environment"), details.get("key_version"), details.get("key_id"))
        if made not in held and None not in made:
            raise KeystoreError(
                f"{keystore.path}: key version {made[1]} of environment {made[0]} ({made[2]}) is"
                f" in the audit log (entry {entry.get('seq')}) but not in the keystore: restored"
                " from an older backup?"
            )


@command.command("upgrade")
@keystore_option
@key_file_option
def upgrade_command(keystore_dir: Path, key_file: Path | None) -> None:
    """Authenticate a keystore and its audit log written by an older pprl.

    Checks every key ID against the master key, then adds the keystore's authentication tag;
    an audit log in the old unkeyed format is checked and authenticated from here on (an
    audit.upgrade entry). The key-ID check cannot see a removed key version or a changed prefix
    or active version: compare 'pprl keys list' with your records first. Does nothing to a
    keystore that is already authenticated.

    \b
    Example:
        pprl keys upgrade --keystore /secure/ks
    """
    tagged_before = Keystore.open(keystore_dir).tagged
    keystore = Keystore.upgrade(keystore_dir, master=load_master_key(keystore_dir, key_file))
    log = audit_log(keystore)
    log_upgrade = log.upgrade() if log.path.exists() else None
    if tagged_before and log_upgrade is None:
        click.echo(f"Keystore {keystore_dir} is already authenticated; nothing to do.")
        return
    log.append(
        "keys.upgrade",
        details={
            "master_key_id": keystore.master_key_id,
            "keystore_tagged": not tagged_before,
            "audit_log_upgraded": log_upgrade is not None,
            "key_ids_checked": keystore.check_key_ids(),
        },
    )
    click.echo(f"Upgraded keystore {keystore_dir}: it and its audit log are now authenticated.")
