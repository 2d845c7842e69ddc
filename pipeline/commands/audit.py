"""``pprl audit``: verify, list and upgrade audit logs (a log file, or a pipeline config's)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.audit import AuditLog, head_from_manifest, recorded_heads, run_log
from pipeline.audit_chain import FORMAT, LEGACY_FORMAT
from pipeline.commands.keys import key_file_option, open_keystore, read_passphrase
from pipeline.commands.results import json_wanted
from pipeline.config import load_config
from pipeline.errors import ConfigError, DataError
from pseudonym.keys import MasterKeyError, master_key_from_env, read_key_file
from pseudonym.keystore import KEYSTORE_FILE, Keystore
from pseudonym.macs import AUDIT_LOG, RecordAuthenticator

TARGET = click.argument("target", metavar="CONFIG_OR_LOG", type=click.Path(path_type=Path))


def _is_config(target: Path) -> bool:
    return target.suffix in {".yaml", ".yml"}


def _authenticator(
    target: Path, keystore_dir: Path | None, key_file: Path | None
) -> RecordAuthenticator:
    """The audit key: a config's keystore, else --keystore, --key-file or PPRL_MASTER_KEY."""
    if _is_config(target):
        from pipeline.stages.services import open_keystore as open_config_keystore

        keystore: Keystore = open_config_keystore(load_config(target))
        return keystore.audit_authenticator()
    if keystore_dir is None and (target.parent / KEYSTORE_FILE).exists():
        keystore_dir = target.parent  # a keystore's own log
    if keystore_dir is not None:
        return open_keystore(keystore_dir, key_file).audit_authenticator()
    master = read_key_file(key_file, read_passphrase()) if key_file else master_key_from_env()
    if master is None:
        raise MasterKeyError(
            "checking an audit log's tags needs the master key: set PPRL_MASTER_KEY, or pass"
            " --key-file or --keystore (or --unkeyed to check the hash chain only)"
        )
    return RecordAuthenticator(master, AUDIT_LOG)


def _log(target: Path, authenticator: RecordAuthenticator | None) -> AuditLog:
    if _is_config(target):
        return run_log(load_config(target), authenticator)
    return AuditLog(target, authenticator=authenticator)


def key_options(func: click.decorators.FC) -> click.decorators.FC:
    """``--keystore`` and ``--key-file``: where the master key for a log file comes from."""
    func = key_file_option(func)
    return click.option(
        "--keystore",
        "keystore_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Keystore whose master key made the log (default: the log's own folder if it is a"
        " keystore, else PPRL_MASTER_KEY).",
    )(func)


@click.group("audit")
def command() -> None:
    """Inspect audit logs (a log file, or the delivery log of a pipeline CONFIG).

    \b
    Example:
        pprl audit verify configs/demo.yaml
    """


@command.command("verify")
@TARGET
@click.option(
    "--expect-head",
    "heads",
    multiple=True,
    metavar="HASH",
    help="A head hash recorded elsewhere that must still be in the log (detects truncation).",
)
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A manifest whose audit_head must still be in the log.",
)
@click.option(
    "--unkeyed",
    is_flag=True,
    help="Check the hash chain only, without the master key: finds accidents, not tampering.",
)
@key_options
def verify(
    target: Path,
    heads: tuple[str, ...],
    manifests: tuple[Path, ...],
    unkeyed: bool,
    keystore_dir: Path | None,
    key_file: Path | None,
) -> None:
    """Check every entry's tag and link with the master key; exit 3 if the log was altered.

    A log cut short still verifies on its own: pass a head recorded elsewhere (--expect-head,
    or --manifest M for the audit_head a manifest recorded) to detect that. For a CONFIG, the
    heads recorded by every delivered run's manifest are checked too.

    \b
    Example:
        pprl audit verify configs/demo.yaml \\
            --manifest example-output/pipeline-demo/run-1a2b/manifest.json
    """
    if any(len(h) != 64 or h.strip("0123456789abcdef") for h in heads):
        raise ConfigError("--expect-head: give the 64-character hex hash of an entry")
    expected = [*heads, *(head_from_manifest(m) for m in manifests)]
    if _is_config(target):  # every delivered run's manifest recorded the head of its day
        expected += [head for _, head in recorded_heads(load_config(target).delivery_dir)]
    authenticator = None if unkeyed else _authenticator(target, keystore_dir, key_file)
    result = _log(target, authenticator).verify(expect_head=expected)
    how = "authenticated" if result.authenticated else "hash chain only, not authenticated"
    legacy = f", {result.legacy_entries} from before the upgrade" if result.legacy_entries else ""
    click.echo(f"ok: {result.entries} entries{legacy}, head {result.head[:16]} ({how})")


@command.command("upgrade")
@TARGET
@key_options
def upgrade(target: Path, keystore_dir: Path | None, key_file: Path | None) -> None:
    """Authenticate a log written in the older unkeyed format, from here on.

    Checks its hash chain, then appends an audit.upgrade entry, tagged with the audit key, that
    records how many entries precede it and their head: later edits of those entries are then
    detected too. Check the log (pprl audit list) before upgrading it.

    \b
    Example:
        pprl audit upgrade configs/demo.yaml
    """
    log = _log(target, _authenticator(target, keystore_dir, key_file))
    entry = log.upgrade()
    if entry is None:
        click.echo(f"{log.path}: already authenticated; nothing to do")
        return
    legacy = entry["details"]["legacy_entries"]
    click.echo(f"{log.path}: {legacy} older entries checked; the log is authenticated from here on")


@command.command("list")
@TARGET
@click.option(
    "--json", "as_json", is_flag=True, help="Print the entries as one JSON array on stdout."
)
def list_entries(target: Path, as_json: bool) -> None:
    """One line per entry: sequence, time, actor, action (not verified: use verify).

    \b
    Example:
        pprl audit list configs/demo.yaml
        pprl audit list configs/demo.yaml --json
    """
    entries = _listed_entries(_log(target, None))
    if json_wanted(as_json):  # --- --json result (engineer N): the entries as written ---
        click.echo(json.dumps(entries))
        return
    for entry in entries:
        click.echo(
            f"{entry.get('seq', '?'):>5} {entry.get('time', '?')} {entry.get('actor', '?')}"
            f" {entry.get('action', '?')}"
        )


def _listed_entries(log: AuditLog) -> list[dict[str, object]]:
    """The log's entries, refusing a file whose lines are not pprl audit entries: listing
    prints entries as written, and only a pprl audit log is known to hold no identifying
    value (a manifest or a data file given by mistake would be echoed)."""
    entries = log.entries()
    for number, entry in enumerate(entries, 1):
        shaped = (
            isinstance(entry.get("seq"), int)
            and isinstance(entry.get("hash"), str)
            and entry.get("format") in (FORMAT, LEGACY_FORMAT)
        )
        if not shaped:
            raise DataError(f"{log.path.name}: line {number} is not a pprl audit-log entry")
    return entries
