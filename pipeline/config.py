"""Pipeline configuration: pydantic models loaded from YAML, with every problem reported at once.

A config names its sources (files or globs, with a mapping from columns to roles), the linkage
spec (:mod:`pipeline.linkage_spec`, re-exported here), the target environment, a keystore
*reference* (never a secret), approved attributes, disclosure settings and the delivery
location. Relative paths are resolved against the folder that holds the config file, so a
config runs the same from any working directory.

>>> cfg = PipelineConfig.model_validate({
...     "project": "demo", "environment": "dev",
...     "sources": [{"name": "a", "path": "a.csv",
...                  "columns": {"nhs": "identifier:nhs", "forename": "first_name"}}],
...     "keystore": {"path": "keys"}, "delivery": {"path": "out"}})
>>> cfg.sources[0].columns["nhs"].id_type
'nhs'
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkage.kinds import KINDS
from pipeline.approvals import Approvals
from pipeline.config_loading import (
    find_secrets,
    load_document,
    read_config_document,
    validate_document,
)
from pipeline.disclosure.settings import KAnonymitySettings
from pipeline.errors import ConfigError
from pipeline.executor_settings import ExecutionSettings
from pipeline.linkage_spec import (
    PERSON_ROLES,
    LinkageSpec,
    PersonRole,
    Thresholds,
    blocking_roles,
    identifier_types,
    role_column,
)

__all__ = [
    "ACCOUNTING_COLUMNS",
    "ATTRIBUTE_TYPES",
    "COMPARISON_KINDS",
    "DERIVED_FROM",
    "PERSON_ROLES",
    "AttributeType",
    "ColumnSpec",
    "DeliveryConfig",
    "DisclosureSettings",
    "KeystoreRef",
    "LinkageSpec",
    "PipelineConfig",
    "SourceConfig",
    "Thresholds",
    "blocking_roles",
    "find_secrets",
    "identifier_types",
    "load_config",
    "parse_config",
    "read_config_document",
    "role_column",
    "validate_document",
]

# A nested Literal flattens: the person roles are spelt once, in linkage_spec.
Role = Literal["identifier", PersonRole, "attribute"]
# Comparison kinds a role may be compared by: linkage's registry (linkage.kinds), whose
# aliases ("dob" for "date") are accepted too.
COMPARISON_KINDS: tuple[str, ...] = tuple(KINDS)

# Columns the pipeline adds to every ingested row for accounting.
ACCOUNTING_COLUMNS: tuple[str, ...] = ("_source", "_file", "_row")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AttributeType = Literal["integer", "decimal", "date", "category", "text"]
ATTRIBUTE_TYPES: tuple[str, ...] = ("integer", "decimal", "date", "category", "text")


class ColumnSpec(_Strict):
    """What one input column holds. YAML shorthand: ``role:type``, as in ``first_name``,
    ``identifier:nhs`` or ``attribute:integer``; or a mapping ``{role: attribute, type: date}``.

    Identifiers take an identifier type (``id_type``). Attributes take a value type (``type``):
    ``integer`` (delivered as Int64), ``decimal`` (Float64), ``date`` (Date, read with the
    source's ``date_format``), ``category`` (Categorical) or ``text`` (String, the default).
    A value that does not parse as its type sends the row to quarantine (see
    :mod:`pipeline.ingest`). Other roles take no type.
    """

    role: Role
    id_type: str | None = None
    type: AttributeType | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            role, _, suffix = (part.strip() for part in value.partition(":"))
            if role == "attribute":
                return {"role": role, "type": suffix or None}
            return {"role": role, "id_type": suffix or None}
        return value

    @model_validator(mode="after")
    def _type_matches_role(self) -> ColumnSpec:
        if self.role == "identifier":
            if not self.id_type:
                raise ValueError("identifier columns need a type, e.g. 'identifier:nhs'")
            known = identifier_types()
            if self.id_type not in known:
                raise ValueError(f"unknown identifier type {self.id_type!r}")
        elif self.id_type is not None:
            raise ValueError(
                f"only identifier and attribute columns take a type (role is {self.role!r})"
            )
        if self.type is not None and self.role != "attribute":
            raise ValueError(f"only attribute columns take a value type (role is {self.role!r})")
        return self

    @property
    def value_type(self) -> str:
        """An attribute's declared value type (``text`` when none is declared)."""
        return self.type or "text"

    def output_name(self, column: str) -> str:
        """Canonical column name after ingest: ``id_<type>``, the role, or the attribute name."""
        if self.role == "identifier":
            return f"id_{self.id_type}"
        if self.role == "attribute":
            return column
        return self.role


class SourceConfig(_Strict):
    """One input source: a file or a glob of files sharing a layout.

    A glob that matches no file is an error (a misspelt folder would otherwise deliver the
    other sources alone) unless ``allow_empty`` says this source may have no files yet.
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    path: str
    format: Literal["csv", "parquet"] = "csv"
    encoding: Literal["utf-8", "utf-8-sig", "latin-1"] = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    date_format: str = "%Y-%m-%d"
    on_bad_rows: Literal["quarantine", "error"] = "quarantine"
    invalid_identifiers: Literal["quarantine", "keep_row"] = "quarantine"
    allow_empty: bool = False
    columns: dict[str, ColumnSpec]

    @field_validator("columns")
    @classmethod
    def _columns_are_distinct(cls, columns: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        if not columns:
            raise ValueError("map at least one column")
        names = Counter(spec.output_name(col) for col, spec in columns.items())
        clashes = sorted(name for name, n in names.items() if n > 1)
        if clashes:
            raise ValueError(f"several columns map to the same role: {', '.join(clashes)}")
        reserved = sorted(
            col
            for col, spec in columns.items()
            if spec.role == "attribute" and (col in PERSON_ROLES or col.startswith(("_", "id_")))
        )
        if reserved:
            raise ValueError(f"attribute names clash with reserved names: {', '.join(reserved)}")
        return columns

    def is_glob(self) -> bool:
        """Whether ``path`` is a pattern (an incremental folder) rather than one file."""
        return any(ch in self.path for ch in "*?[")

    def identifier_columns(self) -> dict[str, str]:
        """Canonical identifier column name -> identifier type."""
        return {
            spec.output_name(col): str(spec.id_type)
            for col, spec in self.columns.items()
            if spec.role == "identifier"
        }

    def attribute_columns(self) -> list[str]:
        """Canonical names of research attributes."""
        return [spec.output_name(c) for c, spec in self.columns.items() if spec.role == "attribute"]

    def attribute_types(self) -> dict[str, str]:
        """Canonical attribute name -> declared value type (``text`` when undeclared)."""
        return {
            spec.output_name(c): spec.value_type
            for c, spec in self.columns.items()
            if spec.role == "attribute"
        }


class KeystoreRef(_Strict):
    """Where keys live. Secrets never appear here: only an env var name or a key file path."""

    path: str
    master_key_env: str = Field(default="PPRL_MASTER_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    key_file: str | None = None
    passphrase_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")


DerivedAttribute = Literal["geography", "age_band", "year_of_birth"]
# Which person role each derived attribute is generalised from.
DERIVED_FROM: dict[str, str] = {
    "geography": "postcode",
    "age_band": "date_of_birth",
    "year_of_birth": "date_of_birth",
}


class DisclosureSettings(KAnonymitySettings):
    """Record-level disclosure control for the extract: the k-anonymity, l-diversity and
    re-identification risk settings of :class:`~pipeline.disclosure.KAnonymitySettings` (the
    single definition of those fields and their checks), plus what the pipeline derives.

    ``derive`` adds generalised attributes: ``geography`` (postcode at ``geography_floor`` or
    coarser), ``age_band`` (age on ``reference_date`` in ``age_bands``) and ``year_of_birth``.
    When ``quasi_identifiers`` are listed, each source's extract is made ``k``-anonymous on them
    (generalisation up the ladders, then local suppression within ``suppression_budget``; the
    run fails rather than exceed it), and then so is every join of the delivery's files and of
    earlier deliveries to the same recipient, per person (``pipeline.disclosure.protect_linked``,
    see :mod:`pipeline.stages.deidentify`); with ``l_diversity`` and ``sensitive`` (approved
    attributes) each source's classes also hold at least l distinct values of each sensitive
    attribute; ``risk`` limits the individual and expected re-identification risk of every
    join (the run fails closed, exit 3, above them; ``risk.weight`` does not apply: the linked
    view counts persons).
    """

    geography_floor: Literal["sector", "district", "area", "region"] = "region"
    age_bands: list[int] = Field(default_factory=lambda: [0, 16, 25, 35, 45, 55, 65, 75, 85])
    reference_date: date | None = None
    derive: list[DerivedAttribute] = Field(default_factory=list)

    @field_validator("age_bands")
    @classmethod
    def _increasing(cls, bands: list[int]) -> list[int]:
        if not bands or any(b <= a for a, b in itertools.pairwise(bands)) or bands[0] < 0:
            raise ValueError("age bands must be non-negative and strictly increasing")
        return bands

    @model_validator(mode="after")
    def _age_needs_date(self) -> DisclosureSettings:
        if "age_band" in self.derive and self.reference_date is None:
            raise ValueError("age_band needs a reference_date (ages change; reruns must not)")
        return self


class DeliveryConfig(_Strict):
    """Where de-identified extracts go (``path``), and the two folders a run keeps for itself.

    ``work_dir`` holds stage checkpoints, the entity registry, clerical-review files and the
    staging folder a delivery is assembled in: identifying data, so it must sit in the
    identifiable zone, never inside the delivery folder. Default: ``.pprl-work/<project>-
    <environment>`` beside the config file. ``state_dir`` holds the run catalogue, the audit log
    and the run lock (no record values, and it outlives ``pprl project close``). Default:
    ``.pprl-state/<project>-<environment>`` beside the config file. Neither may be inside the
    delivery folder (it would travel with a copy of it), and the state folder may not be
    inside the work folder (closing a project deletes that one).
    """

    path: str
    work_dir: str | None = None
    state_dir: str | None = None


class PipelineConfig(_Strict):
    """A whole pipeline run, as loaded from YAML."""

    project: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    environment: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    sources: list[SourceConfig] = Field(min_length=1)
    linkage: LinkageSpec = Field(default_factory=LinkageSpec)
    keystore: KeystoreRef
    approved_attributes: list[str] = Field(default_factory=list)
    disclosure: DisclosureSettings = Field(default_factory=DisclosureSettings)
    delivery: DeliveryConfig
    approvals: Approvals | None = None
    # how a run is executed, not what it delivers: left out of the config digest (run IDs)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings, exclude=True)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineConfig:
        names = Counter(s.name for s in self.sources)
        dupes = sorted(n for n, c in names.items() if c > 1)
        if dupes:
            raise ValueError(f"source names must be unique: {', '.join(dupes)}")
        attributes = {a for s in self.sources for a in s.attribute_columns()}
        unknown = sorted(set(self.approved_attributes) - attributes)
        if unknown:
            raise ValueError(f"approved attributes not mapped by any source: {', '.join(unknown)}")
        releasable = set(self.approved_attributes) | set(self.disclosure.derive)
        stray = sorted(set(self.disclosure.quasi_identifiers) - releasable)
        if stray:
            raise ValueError(
                "disclosure.quasi_identifiers must be approved or derived attributes: "
                + ", ".join(stray)
            )
        self._check_folders()
        if self.linkage.mode != "none":
            mapped = {spec.output_name(c) for s in self.sources for c, spec in s.columns.items()}
            if "full_name" in mapped:  # split into first name and surname for linkage
                mapped |= {"first_name", "surname"}
            unmapped = sorted(r for r in self.linkage.roles() if role_column(r) not in mapped)
            if unmapped:
                raise ValueError(f"linkage uses roles no source maps: {', '.join(unmapped)}")
        if self.linkage.mode == "link" and len(self.sources) != 2:
            raise ValueError("linkage mode 'link' needs exactly two sources")
        problems = _attribute_problems(self)  # value types and disclosure settings (issue 12)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_folders(self) -> None:
        """The work and state folders stay out of the delivery folder, and state out of work."""

        def inside(path: Path, folder: Path) -> bool:
            return path == folder or folder in path.parents

        if inside(self.work_dir, self.delivery_dir):
            raise ValueError(
                "delivery.work_dir holds identifying data: it must not be inside delivery.path"
            )
        if inside(self.state_dir, self.delivery_dir):
            raise ValueError(
                "delivery.state_dir holds the audit log and run state: it must not be inside"
                " delivery.path"
            )
        if inside(self.state_dir, self.work_dir):
            raise ValueError(
                "delivery.state_dir must not be inside delivery.work_dir (closing the project"
                " deletes the work folder, and the audit log must outlive it)"
            )

    def attribute_types(self) -> dict[str, str]:
        """Approved attribute -> its declared value type (one per attribute: cross-checked)."""
        types = {a: t for s in self.sources for a, t in s.attribute_types().items()}
        return {a: types[a] for a in self.approved_attributes}

    def resolve(self, path: str) -> Path:
        """A config path made absolute against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def delivery_dir(self) -> Path:
        """Absolute delivery folder."""
        return self.resolve(self.delivery.path)

    @property
    def work_dir(self) -> Path:
        """Checkpoints, registry, review files, staging (identifying data): outside the
        delivery folder."""
        if self.delivery.work_dir is not None:
            return self.resolve(self.delivery.work_dir)
        return self.resolve(f".pprl-work/{self.project}-{self.environment}")

    @property
    def state_dir(self) -> Path:
        """Run catalogue, audit log and run lock: outside the delivery and work folders."""
        if self.delivery.state_dir is not None:
            return self.resolve(self.delivery.state_dir)
        return self.resolve(f".pprl-state/{self.project}-{self.environment}")


def _attribute_problems(config: PipelineConfig) -> list[str]:
    """Attributes mapped by several sources with different value types, and disclosure
    settings naming attributes the delivery does not hold."""
    problems = []
    declared: dict[str, set[str]] = {}
    for source in config.sources:
        for name, value_type in source.attribute_types().items():
            declared.setdefault(name, set()).add(value_type)
    mixed = sorted(name for name, types in declared.items() if len(types) > 1)
    if mixed:
        problems.append(f"attributes declared with different types by two sources: {mixed}")
    disclosure = config.disclosure
    unapproved = sorted(set(disclosure.sensitive) - set(config.approved_attributes))
    if unapproved:
        problems.append(
            f"disclosure.sensitive must be approved attributes: {', '.join(unapproved)}"
        )
    if disclosure.risk.weight is not None:
        problems.append(
            "disclosure.risk.weight: the pipeline assesses the linked delivery per person, "
            "so sampling weights do not apply"
        )
    uses = {"l_diversity": disclosure.l_diversity is not None, "risk": disclosure.risk.active}
    needs_qis = [name for name, used in uses.items() if used]
    if needs_qis and not disclosure.quasi_identifiers:
        problems.append(f"disclosure.{' and '.join(needs_qis)} need quasi_identifiers")
    return problems


# --- loading -----------------------------------------------------------------------------------


def parse_config(raw: Any, *, base_dir: Path, source: str | None = None) -> PipelineConfig:
    """Validate an already-parsed YAML document; raise :class:`ConfigError` with every problem."""
    config, problems = validate_document(PipelineConfig, raw, base_dir=base_dir, source=source)
    if problems:
        raise ConfigError(problems, source=source)
    return config


def load_config(path: str | Path) -> PipelineConfig:
    """Load and validate a YAML config file; paths inside resolve relative to its folder."""
    return load_document(path, parse_config)
