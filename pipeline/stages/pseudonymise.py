"""Stage 3: replace identifiers by keyed pseudonyms, chunk by chunk.

Each ``id_<type>`` column becomes ``pid_<type>``; a keyed ``record_key`` (UInt8, 0-255) is added
for the cell-key method of disclosure control; the entity id from linkage becomes
``person_id``, a pseudonym of type ``person`` (stable across the project's runs, unrelated to
any other environment's). The pseudonymiser is built *inside* the task from
the config, so under a distributed executor keys are derived on the worker and never shipped.
"""

from __future__ import annotations

import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.config import PipelineConfig
from pipeline.entities import ENTITY
from pipeline.stages.services import PseudonymiserFactory, PseudonymiserLike

PERSON_TYPE = "person"


def pseudonymise_frame(frame: pl.DataFrame, pseudonymiser: PseudonymiserLike) -> pl.DataFrame:
    """Swap ``id_*`` columns for ``pid_*`` pseudonyms, ``_entity`` for ``person_id``, and add
    ``record_key``."""
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
    if ENTITY in frame.columns:
        entity = frame[ENTITY].cast(pl.String)
        replaced.append(pseudonymiser.pseudonymise(PERSON_TYPE, entity).alias("person_id"))
    record_key = pseudonymiser.record_keys(record_ids).cast(pl.UInt8).alias("record_key")
    ids = [c for c in frame.columns if c.startswith("id_") or c == ENTITY]
    return frame.drop(ids).with_columns([*replaced, record_key])


def pseudonymise_part(
    prepared: str,
    entities: str | None,
    out: str,
    config: PipelineConfig,
    factory: PseudonymiserFactory,
) -> int:
    """Executor task: pseudonymise one prepared part (with its entity columns from the link
    stage, when linking) into ``out``; returns its row count. Paths in, a count out: no
    records pass through a dask scheduler."""
    frame = pl.read_parquet(prepared)
    if entities is not None:
        frame = frame.hstack(pl.read_parquet(entities, columns=[ENTITY, "linked"]))
    result = pseudonymise_chunk(frame, config, factory)
    write_with_atomic(out, result.write_parquet)
    return result.height


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
