"""The commented YAML ``pprl init`` writes from its guesses (:mod:`pipeline.scaffold`).

Written by hand rather than dumped, so that every section says what it is for and what to
check; names are quoted as YAML needs, no value of the data appears.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.scaffold import SourceGuess

_KINDS = {
    "first_name": "name",
    "surname": "name",
    "date_of_birth": "date",
    "postcode": "postcode",
    "sex": "exact",
}


@dataclass(frozen=True)
class Names:
    """What the user gave on the command line (or the defaults)."""

    project: str
    environment: str
    keystore: str
    key_file: str
    delivery: str


def _q(text: str) -> str:
    """A YAML scalar for ``text`` (JSON strings are valid YAML)."""
    return json.dumps(text)


def render_config(sources: Sequence[SourceGuess], names: Names) -> str:
    """The whole config file."""
    lines = [
        "# Written by 'pprl init' from a sample of your files. Check every guessed role, then,",
        "# in this file's folder, with PPRL_KEY_PASSPHRASE set (or answer the prompts):",
        f"#   pprl keys init --keystore {names.keystore} --key-file {names.key_file}",
        f"#   pprl keys add-env {names.environment} --keystore {names.keystore}",
        "#   pprl validate THIS_FILE",
        "#   pprl run THIS_FILE --dry-run",
        "# Editors check this file against the JSON Schema from 'pprl config-schema'.",
        f"project: {_q(names.project)}",
        f"environment: {_q(names.environment)}    # the keystore environment of the pseudonyms",
        "sources:",
    ]
    for source in sources:
        lines += _source(source)
    lines += _linkage(sources)
    lines += [
        "keystore:   # where keys come from, never a key itself",
        f"  path: {_q(names.keystore)}",
        f"  key_file: {_q(names.key_file)}   # the master key, encrypted with a passphrase",
        "  passphrase_env: PPRL_KEY_PASSPHRASE   # the variable holding that passphrase",
        "  # master_key_env: PPRL_MASTER_KEY   # a base64 master key in this variable wins",
        "approved_attributes: []   # attributes researchers may receive; none until approved",
        "disclosure:",
        "  k: 5",
        "  quasi_identifiers: []   # e.g. [age_band, geography] with derive: [age_band, geography]",
        "delivery:",
        f"  path: {_q(names.delivery)}   # de-identified extracts, manifests and reports",
        "  # work_dir: .pprl-work/...   # identifying checkpoints; never inside the delivery",
    ]
    return "\n".join(lines) + "\n"


def _source(source: SourceGuess) -> list[str]:
    lines = [
        f"  - name: {_q(source.name)}",
        f"    path: {_q(source.path)}   # or a glob such as folder/*.csv for monthly files",
        f"    format: {source.file_format}",
    ]
    if source.date_format and source.file_format == "csv":
        lines.append(f"    date_format: {_q(source.date_format)}   # guessed from the sample")
    lines.append("    columns:")
    for guess in source.columns:
        entry = f"{_q(guess.column)}: {guess.role}"
        if guess.role == "attribute":
            lines.append(f"      # {entry}   # {guess.reason}; uncomment to keep it")
        else:
            lines.append(f"      {entry}   # guessed: {guess.reason}")
    return lines


def _linkage_roles(source: SourceGuess) -> set[str]:
    roles = {g.role for g in source.mapped()}
    if "full_name" in roles:  # split into first name and surname for linkage
        roles |= {"first_name", "surname"}
    return roles


def _linkage(sources: Sequence[SourceGuess]) -> list[str]:
    if len(sources) > 2 or not sources:
        return ["linkage:", "  mode: none   # link needs exactly two sources, dedupe one"]
    shared = set.intersection(*(_linkage_roles(s) for s in sources))
    comparisons = {
        role: ("identifier" if role.startswith("identifier:") else _KINDS[role])
        for role in sorted(shared)
        if role.startswith("identifier:") or role in _KINDS
    }
    if not comparisons:
        return ["linkage:", "  mode: none   # no role to link on was recognised in every source"]
    blocking = [r for r in comparisons if r.startswith("identifier:")]
    blocking += [r for r in ("date_of_birth",) if r in comparisons]
    if {"surname", "postcode"} <= set(comparisons):
        blocking.append("surname & postcode")
    blocking = blocking or [next(iter(comparisons))]
    mode = "link" if len(sources) == 2 else "dedupe"
    lines = [
        "linkage:",
        f"  mode: {mode}",
        "  blocking:   # candidate pairs share at least one of these",
        *(f"    - {_q(rule)}" for rule in blocking),
        "  comparisons:",
        *(f"    {_q(role)}: {kind}" for role, kind in comparisons.items()),
        "  thresholds: {match: auto, review: 0.2}   # auto: the model's own threshold",
    ]
    return lines
