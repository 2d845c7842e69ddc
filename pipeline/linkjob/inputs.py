"""A link job's inputs: the config with its saved model's standardisation, the columns each
input must hold, reading and standardising them, and the known links for evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from linkage import LinkageSettings
from pipeline import io
from pipeline.errors import ConfigError
from pipeline.linkconfig import (
    ID,
    LinkJobConfig,
    StandardiseSpec,
    check_inputs,
    load_link_config,
)


def load_job(config: str | Path | LinkJobConfig) -> LinkJobConfig:
    """The job a config file (or an already parsed config) describes, standardising as its
    saved model's training job did."""
    cfg = config if isinstance(config, LinkJobConfig) else load_link_config(config)
    return with_model_standardisation(cfg, "standardise" in cfg.model_fields_set)


def read_input(cfg: LinkJobConfig, index: int, needed: list[str]) -> pl.DataFrame:
    """The id (as text, renamed to the engine's id) and the needed columns, renamed."""
    spec = cfg.inputs[index]
    path = cfg.resolve(spec.path)
    wanted = {c: spec.columns.get(c, c) for c in needed}
    frame = io.read_table(
        path,
        file_format="parquet" if spec.file_format == "parquet" else "csv",
        columns=[spec.id_column, *wanted.values()],
        label=f"inputs[{index}]: {path.name}",
    )
    return frame.select(
        pl.col(spec.id_column).cast(pl.String).alias(ID),
        *[pl.col(source).alias(name) for name, source in wanted.items()],
    )


def standardise(frame: pl.DataFrame, spec: StandardiseSpec) -> pl.DataFrame:
    """Standardise columns in place by kind (linkage's one standardiser); dates become ISO text."""
    return spec.apply(frame)


def read_truth(cfg: LinkJobConfig) -> pl.DataFrame | None:
    """Known links (``id_l``, ``id_r``), when the job gives a truth file."""
    if cfg.truth is None:
        return None
    spec, path = cfg.truth, cfg.resolve(cfg.truth.path)
    columns = {"id_l": spec.left_column, "id_r": spec.right_column}
    return io.read_truth(path, columns, label=f"truth: {path.name}")


def saved_settings(cfg: LinkJobConfig) -> LinkageSettings:
    """Settings stored in the ``model:`` file (checked against the job's mode)."""
    assert cfg.model is not None
    path = cfg.resolve(cfg.model)
    try:
        settings = LinkageSettings.from_dict(json.loads(path.read_text("utf-8"))["settings"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"model: cannot read {path.name!r} ({type(exc).__name__})") from None
    if settings.link_type != cfg.link_type:
        raise ConfigError(f"model: trained for {settings.link_type}, job mode is {cfg.mode!r}")
    if settings.unique_id_column != ID:
        raise ConfigError(f"model: not written by pprl link (id column is not {ID!r})")
    return settings


def with_model_standardisation(cfg: LinkJobConfig, given: bool) -> LinkJobConfig:
    """A job scoring with a saved model standardises as the model's training job did: the
    model's ``standardise`` is used when the job gives none, and must match when it does."""
    if cfg.model is None or not cfg.resolve(cfg.model).is_file():
        return cfg  # a missing model is reported with the other input problems
    saved = saved_settings(cfg).extra.get("standardise")
    if saved is None:
        return cfg
    try:
        trained = StandardiseSpec.model_validate(saved)
    except ValueError:
        raise ConfigError("model: its standardise section is malformed") from None
    if not given:
        return cfg.model_copy(update={"standardise": trained})
    if trained != cfg.standardise:
        raise ConfigError(
            "standardise: differs from the model's training job; remove it to "
            "use the model's, or retrain"
        )
    return cfg


def needed_columns(cfg: LinkJobConfig) -> list[str]:
    """Columns to read from each input (before standardisation adds derived ones)."""
    if cfg.model is None:
        return cfg.used_columns()
    derived = set(cfg.standardise.derived())
    model_cols = [c for c in saved_settings(cfg).required_columns() if c != ID]
    base = [c.removesuffix("_phonetic") if c in derived else c for c in model_cols]
    return list(dict.fromkeys([*cfg.standardise.columns(), *base]))


def check_job(cfg: LinkJobConfig) -> None:
    """Raise one :class:`ConfigError` listing every problem with the inputs the job reads."""
    model_ok = cfg.model is not None and cfg.resolve(cfg.model).is_file()
    problems = check_inputs(cfg, needed=needed_columns(cfg) if model_ok else None)
    if problems:
        raise ConfigError(problems)
