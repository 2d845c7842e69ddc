"""Stage 3: replace identifiers by keyed pseudonyms, chunk by chunk.

Each ``id_<type>`` column becomes ``pid_<type>``; a keyed ``record_key`` (UInt8, 0-255) is added
for the cell-key method of disclosure control. The pseudonymiser is built *inside* the task from
the config, so under a distributed executor keys are derived on the worker and never shipped.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import PipelineConfig
from pipeline.stages.services import PseudonymiserFactory, PseudonymiserLike


def pseudonymise_frame(frame: pl.DataFrame, pseudonymiser: PseudonymiserLike) -> pl.DataFrame:
    """Swap ``id_*`` columns for ``pid_*`` pseudonyms and add ``record_key``."""
    uid = pl.concat_str(
        [pl.col("_source"), pl.col("_file"), pl.col("_row").cast(pl.String)], separator="|"
    )
    record_ids = frame.select(uid.alias("uid")).to_series()
    replaced = [
        pseudonymiser.pseudonymise(col.removeprefix("id_"), frame[col]).alias(
            "pid_" + col.removeprefix("id_")
        )
        for col in frame.columns
        if col.startswith("id_")
    ]
    record_key = pseudonymiser.record_keys(record_ids).cast(pl.UInt8).alias("record_key")
    ids = [c for c in frame.columns if c.startswith("id_")]
    return frame.drop(ids).with_columns([*replaced, record_key])


def pseudonymise_chunk(
    frame: pl.DataFrame, config: PipelineConfig, factory: PseudonymiserFactory
) -> pl.DataFrame:
    """Executor task: build (or reuse) the pseudonymiser for ``config`` and apply it."""
    config_json = config.model_dump_json() + "\n" + str(config.base_dir)
    return pseudonymise_frame(frame, _pseudonymiser_for(factory, config, config_json))


def _pseudonymiser_for(
    factory: PseudonymiserFactory, config: PipelineConfig, key: str
) -> PseudonymiserLike:
    cache = _CACHE.setdefault(factory, {})
    if key not in cache:
        cache.clear()
        cache[key] = factory(config)
    return cache[key]


_CACHE: dict[PseudonymiserFactory, dict[str, PseudonymiserLike]] = {}
