"""A standalone linkage job (``pprl link CONFIG``), as loaded from YAML.

Same conventions as :mod:`pipeline.config`: strict models (unknown keys are errors), every problem
reported at once with its YAML path, paths relative to the config file. Comparisons and blocking
rules name columns *after* renaming (``inputs[].columns``) and standardisation; the job builds
:class:`linkage.LinkageSettings` from them.

>>> cfg = parse_link_config({
...     "mode": "dedupe", "output": "out",
...     "inputs": [{"path": "people.csv", "id_column": "pid"}],
...     "comparisons": [{"type": "name", "column": "surname"}],
...     "blocking": [["dob"]]}, base_dir=Path("/data"))
>>> cfg.settings().link_type, cfg.resolve(cfg.output)
('dedupe_only', PosixPath('/data/out'))
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from linkage import BlockingRule, LinkageSettings, block_on
from linkage import comparisons as cl
from linkage.errors import SettingsError
from linkage.kinds import build_comparison, comparison_kind
from linkage.standardise import (
    DEFAULT_DATE_FORMATS,
    ISO_DATE,
    Standardisation,
    standardise_columns,
)
from pipeline.config_loading import load_document, validate_document
from pipeline.errors import ConfigError, PipelineError
from pipeline.io import TableFormat, read_header

# Internal name of the id column inside the linkage engine (inputs keep their own names).
ID = "unique_id"
STD_DATE_FORMAT = ISO_DATE  # standardised dates are written as ISO text

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _known_kind(kind: str) -> str:
    comparison_kind(kind)  # raises SettingsError (a ValueError) naming the known kinds
    return kind


# A kind from linkage's registry (linkage.kinds), "dob" or "date" for dates.
ComparisonType = Annotated[str, AfterValidator(_known_kind)]
# The standardisation of the columns listed under each StandardiseSpec field.
_STANDARDISE_FIELDS: dict[str, Standardisation] = {
    "names": "name",
    "dates": "date",
    "postcodes": "postcode",
    "addresses": "address",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    """One input file. ``columns`` renames input columns: ``{name used below: input column}``."""

    path: str
    id_column: str = Field(min_length=1)
    format: Literal["csv", "parquet"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)

    @property
    def file_format(self) -> TableFormat:
        if self.format is not None:
            return self.format
        return "parquet" if self.path.lower().endswith((".parquet", ".pq")) else "csv"


class StandardiseSpec(_Strict):
    """Columns to standardise in place, by kind; ``phonetic`` adds ``<column>_phonetic``."""

    names: list[str] = Field(default_factory=list)
    dates: list[str] = Field(default_factory=list)
    postcodes: list[str] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    phonetic: list[str] = Field(default_factory=list)
    date_formats: list[str] | None = None

    def columns(self) -> list[str]:
        return [*self.names, *self.dates, *self.postcodes, *self.addresses, *self.phonetic]

    def derived(self) -> list[str]:
        return [f"{c}_phonetic" for c in self.phonetic]

    def kinds(self) -> dict[str, Standardisation]:
        """Column -> how it is standardised (phonetic keys aside)."""
        return {
            column: kind
            for field, kind in _STANDARDISE_FIELDS.items()
            for column in getattr(self, field)
        }

    def apply(self, frame: FrameT) -> FrameT:
        """Standardise the listed columns in place (dates become ISO text) and add the
        ``<column>_phonetic`` keys."""
        return standardise_columns(
            frame,
            self.kinds(),
            phonetic_keys=self.phonetic,
            date_formats=self.date_formats or DEFAULT_DATE_FORMATS,
        )


class ComparisonSpec(_Strict):
    """A comparison of a kind from :mod:`linkage.kinds` (which lists the options each takes).

    ``thresholds``: similarities (decreasing) for ``name``/``jaro_winkler``, edit distances
    (increasing) for ``levenshtein``/``damerau_levenshtein``; unused by the other types.
    """

    type: ComparisonType
    column: str = Field(min_length=1)
    name: str | None = None
    thresholds: list[float] | None = None
    term_frequency: bool = False
    reversed_with: str | None = None
    date_format: str | None = None

    @model_validator(mode="after")
    def _buildable(self) -> ComparisonSpec:
        self.build({})  # raises ValueError (SettingsError) with the problem
        return self

    def build(self, standardised: dict[str, Standardisation]) -> cl.Comparison:
        """The comparison; ``standardised`` says how columns were standardised
        (:meth:`StandardiseSpec.kinds`)."""
        return build_comparison(
            self.type,
            self.column,
            name=self.name,
            thresholds=self.thresholds,
            term_frequency=self.term_frequency,
            reversed_with=self.reversed_with,
            date_format=self.date_format,
            standardised_as=standardised.get(self.column),
        )


class SqlRule(_Strict):
    """A blocking rule written as SQL over ``l.<column>`` and ``r.<column>``."""

    sql: str = Field(min_length=1)
    name: str = ""


# YAML: a list of columns (exact equality on all of them) or {sql: ..., name: ...}
BlockingSpec = Annotated[list[str], Field(min_length=1)] | SqlRule


def build_rule(spec: BlockingSpec) -> BlockingRule:
    if isinstance(spec, SqlRule):
        return BlockingRule(spec.sql, spec.name)
    return block_on(*spec)


class TrainingSpec(_Strict):
    """u from ``u_max_pairs`` random pairs (seeded); m by EM over ``em_rules`` (default: the
    blocking rules); ``prior`` is the starting probability that two random records match."""

    u_max_pairs: int = Field(default=1_000_000, ge=1)
    seed: int = 1
    em_rules: list[BlockingSpec] | None = None
    prior: float = Field(default=1e-4, gt=0.0, lt=1.0)


class ThresholdSpec(_Strict):
    """``match``: probability or "auto" (maximises expected F1); pairs from ``review`` up to
    ``match`` go to clerical review; clusters join pairs at or above ``cluster`` (default: the
    match threshold; set it between review and match to let review-band pairs join clusters).
    ``one_to_one`` (link mode) keeps each record in at most one pair, greedily by weight."""

    match: float | Literal["auto"] = "auto"
    review: float | None = Field(default=None, ge=0.0, le=1.0)
    one_to_one: bool = False
    cluster: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdSpec:
        if isinstance(self.match, float) and not 0.0 <= self.match <= 1.0:
            raise ValueError("match must be a probability in [0, 1] or 'auto'")
        if isinstance(self.match, float) and self.review is not None and self.review > self.match:
            raise ValueError("review must not be above match (it is the band's lower edge)")
        if self.cluster is not None and self.review is not None and self.cluster < self.review:
            raise ValueError("cluster must not be below review (pairs below review are dropped)")
        return self


class TruthSpec(_Strict):
    """Known links for evaluation: a CSV or Parquet file with one pair of ids per row."""

    path: str
    left_column: str = "id_l"
    right_column: str = "id_r"


class LinkJobConfig(_Strict):
    """A whole ``pprl link`` job.

    ``source_column`` (mode ``dedupe``): the column saying which file each record came from,
    when one input holds several files' records. The probability that two records match is
    then estimated apart for pairs within one file and pairs across two, and a record links
    to at most one record of each file, its strongest (see :mod:`linkage.sources`).
    """

    mode: Literal["link", "dedupe"]
    inputs: list[InputSpec] = Field(min_length=1, max_length=2)
    standardise: StandardiseSpec = Field(default_factory=StandardiseSpec)
    comparisons: list[ComparisonSpec] = Field(default_factory=list)
    blocking: list[BlockingSpec] = Field(default_factory=list)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    thresholds: ThresholdSpec = Field(default_factory=ThresholdSpec)
    source_column: str | None = Field(default=None, min_length=1)
    truth: TruthSpec | None = None
    model: str | None = None
    save_model: str | None = None
    output: str
    audit_log: str | None = None
    memory_limit: str = "2GB"
    threads: int = Field(default=2, ge=1)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def link_type(self) -> Literal["link_only", "dedupe_only"]:
        return "link_only" if self.mode == "link" else "dedupe_only"

    def resolve(self, path: str) -> Path:
        """A config path made absolute against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def audit_path(self, output: Path) -> Path:
        """``audit_log`` if set, else ``audit.jsonl`` in the job's output folder."""
        return self.resolve(self.audit_log) if self.audit_log else output / "audit.jsonl"

    def settings(self) -> LinkageSettings:
        """Engine settings for training (not used when ``model`` is given)."""
        return LinkageSettings(
            link_type=self.link_type,
            comparisons=[c.build(self.standardise.kinds()) for c in self.comparisons],
            blocking_rules=[build_rule(r) for r in self.blocking],
            unique_id_column=ID,
            probability_two_random_records_match=self.training.prior,
            memory_limit=self.memory_limit,
            threads=self.threads,
            source_column=self.source_column,
            # saved with the model so a later batch is standardised the same way
            extra={"standardise": self.standardise.model_dump()},
        )

    def used_columns(self) -> list[str]:
        """Columns (after renaming) that comparisons, blocking and standardisation read."""
        cols = list(self.standardise.columns())
        cols += [c.column for c in self.comparisons]
        cols += [c.reversed_with for c in self.comparisons if c.reversed_with]
        rules = [*self.blocking, *(self.training.em_rules or [])]
        cols += [c for r in rules for c in build_rule(r).columns]
        cols += [self.source_column] if self.source_column else []
        derived = set(self.standardise.derived())
        return [c for c in dict.fromkeys(cols) if c not in derived]


def _cross_problems(cfg: LinkJobConfig, fields_set: set[str]) -> list[str]:
    problems: list[str] = []
    want = 2 if cfg.mode == "link" else 1
    if len(cfg.inputs) != want:
        problems.append(f"inputs: mode {cfg.mode!r} needs exactly {want} input(s)")
    if cfg.model is not None:
        given = sorted(fields_set & {"comparisons", "blocking", "training", "source_column"})
        if given:
            problems.append(
                f"model: a saved model defines the comparisons, blocking, training and "
                f"source column; remove {', '.join(given)}"
            )
    else:
        if not cfg.comparisons:
            problems.append("comparisons: at least one comparison is required (or give model)")
        if not cfg.blocking:
            problems.append("blocking: at least one blocking rule is required (or give model)")
        try:
            cfg.settings()
        except SettingsError as exc:
            problems += [f"(settings): {p}" for p in exc.problems]
    if ID in cfg.used_columns():
        problems.append(f"{ID!r} is reserved for the engine's id column: rename that column")
    for i, spec in enumerate(cfg.inputs):
        if ID in spec.columns:
            problems.append(f"inputs[{i}].columns: {ID!r} is reserved")
    flat = [c for field in _STANDARDISE_FIELDS for c in getattr(cfg.standardise, field)]
    twice = sorted({c for c in flat if flat.count(c) > 1})
    if twice:
        problems.append(f"standardise: columns listed under two kinds: {', '.join(twice)}")
    if cfg.thresholds.one_to_one and cfg.mode != "link":
        problems.append("thresholds.one_to_one: applies to mode 'link' only")
    return problems


def parse_link_config(raw: Any, *, base_dir: Path, source: str | None = None) -> LinkJobConfig:
    """Validate a parsed YAML document; raise :class:`ConfigError` with every problem."""
    cfg, problems = validate_document(LinkJobConfig, raw, base_dir=base_dir, source=source)
    problems += _cross_problems(cfg, set(raw))
    if problems:
        raise ConfigError(problems, source=source)
    return cfg


def load_link_config(path: str | Path) -> LinkJobConfig:
    """Load and validate a linkage job; paths inside resolve relative to its folder."""
    return load_document(path, parse_link_config)


def input_columns(cfg: LinkJobConfig, index: int) -> list[str] | None:
    """Header of input ``index`` (no data read), or None if the file cannot be read."""
    spec = cfg.inputs[index]
    try:
        return read_header(cfg.resolve(spec.path), file_format=spec.file_format)
    except PipelineError:
        return None


def check_inputs(cfg: LinkJobConfig, *, needed: list[str] | None = None) -> list[str]:
    """Problems with the files a job reads (missing file, missing columns), all at once.

    Only file and column names appear in the messages. ``needed`` overrides the columns the
    comparisons and blocking read (a saved model's columns).
    """
    problems = []
    wanted = needed if needed is not None else cfg.used_columns()
    for i, spec in enumerate(cfg.inputs):
        header = input_columns(cfg, i)
        name = Path(spec.path).name
        if header is None:
            problems.append(f"inputs[{i}].path: cannot read {spec.file_format} file {name!r}")
            continue
        renamed = {spec.columns.get(c, c) for c in wanted} | {spec.id_column}
        missing = sorted(renamed - set(header))
        if missing:
            problems.append(f"inputs[{i}]: {name!r} has no column(s) {', '.join(missing)}")
    if cfg.truth is not None:
        path = cfg.resolve(cfg.truth.path)
        if not path.is_file():
            problems.append(f"truth.path: file {path.name!r} not found")
    if cfg.model is not None and not cfg.resolve(cfg.model).is_file():
        problems.append(f"model: file {Path(cfg.model).name!r} not found")
    return problems
