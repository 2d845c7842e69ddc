"""The outside capabilities stages need, gathered in one object so tests can swap in fakes.

:meth:`Services.default` wires the real implementations: ``pseudonym.identifiers.check``,
``pseudonym.tokens.Pseudonymiser`` opened from the configured keystore, the ``linkage`` facade
(through :func:`pipeline.stages.link.facade_linker`) and ``pipeline.disclosure`` when present.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from pipeline.config import KeystoreRef, LinkageSpec, PipelineConfig
from pipeline.errors import ConfigError
from pipeline.stages.link_result import LinkResult

if TYPE_CHECKING:
    from pipeline.stages.link_records import LinkRecords


class PseudonymiserLike(Protocol):
    """What the pipeline needs from ``pseudonym.tokens.Pseudonymiser``."""

    def pseudonymise(self, id_type: str, values: pl.Series) -> pl.Series: ...

    def record_keys(self, values: pl.Series) -> pl.Series: ...


CheckIdentifiers = Callable[[str, pl.Series], pl.DataFrame]
PseudonymiserFactory = Callable[[PipelineConfig], PseudonymiserLike]


# (records standardised from linkage_view, spec, curators' decisions or None) -> LinkResult
Linker = Callable[["LinkRecords", LinkageSpec, pl.DataFrame | None], LinkResult]
# config -> the recipe that tags and checks audit-log entries (pseudonym.macs.RecordAuthenticator)
AuditAuthenticatorFactory = Callable[[PipelineConfig], Any]


@dataclass(frozen=True)
class Services:
    """Capabilities injected into the stages."""

    check_identifiers: CheckIdentifiers
    pseudonymiser_factory: PseudonymiserFactory
    linker: Linker | None = None
    audit_authenticator: AuditAuthenticatorFactory | None = None

    def open_audit_authenticator(self, config: PipelineConfig) -> Any:
        """The audit-log recipe: injected, or derived from the configured keystore."""
        factory = self.audit_authenticator or open_audit_authenticator
        return factory(config)

    @classmethod
    def default(cls) -> Services:
        """The real implementations from ``pseudonym`` and ``linkage``."""
        from pipeline.stages.link_engine import facade_linker

        return cls(
            check_identifiers=check_identifiers,
            pseudonymiser_factory=open_pseudonymiser,
            linker=facade_linker,
        )


def check_identifiers(id_type: str, values: pl.Series) -> pl.DataFrame:
    """``pseudonym.identifiers.check`` (imported on use)."""
    from pseudonym.identifiers import check

    return check(id_type, values)


def master_key_environ(
    ref: KeystoreRef, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment as ``pseudonym.keys`` expects it, with the configured variable name."""
    from pseudonym.keys import MASTER_KEY_ENV

    env = dict(os.environ if environ is None else environ)
    if ref.master_key_env in env:
        env[MASTER_KEY_ENV] = env[ref.master_key_env]
    return env


def open_keystore(config: PipelineConfig) -> Any:
    """The configured keystore, with its master key from the environment or the key file."""
    from pseudonym.keys import master_key_from_env, read_key_file
    from pseudonym.keystore import Keystore
    from pseudonym.secret import Secret

    ref = config.keystore
    master = master_key_from_env(master_key_environ(ref))
    if master is None and ref.key_file is not None:
        passphrase = os.environ.get(ref.passphrase_env or "PPRL_KEY_PASSPHRASE")
        if not passphrase:
            raise ConfigError(
                f"keystore.key_file: set {ref.passphrase_env or 'PPRL_KEY_PASSPHRASE'} "
                "to unlock the master key file"
            )
        master = read_key_file(config.resolve(ref.key_file), Secret(passphrase.encode("utf-8")))
    if master is None:
        raise ConfigError(
            f"keystore: master key not reachable: set {ref.master_key_env} or configure key_file"
        )
    return Keystore.open(config.resolve(ref.path), master=master)


def open_audit_authenticator(config: PipelineConfig) -> Any:
    """The audit-log key's recipe, derived from the configured keystore's master key."""
    return open_keystore(config).audit_authenticator()


def open_pseudonymiser(config: PipelineConfig) -> PseudonymiserLike:
    """``pseudonym.tokens.Pseudonymiser`` for the configured keystore and environment."""
    from pseudonym.tokens import Pseudonymiser

    pseudonymiser: PseudonymiserLike = Pseudonymiser.from_keystore(
        open_keystore(config), config.environment
    )
    return pseudonymiser


def key_ids(pseudonymiser: object, id_types: list[str]) -> dict[str, str]:
    """Key IDs (never keys) for ``id_types`` and the record key, for manifests and reports."""
    key_id = getattr(pseudonymiser, "key_id", None)
    ids = dict(getattr(pseudonymiser, "key_ids", None) or {})
    if callable(key_id):
        ids.update({t: key_id(t) for t in id_types})
    return {str(k): str(v) for k, v in sorted(ids.items())}
