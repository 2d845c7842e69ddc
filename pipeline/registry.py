"""The entity registry on disk, indexed by blocking key: a new batch reads only the earlier
records it can be linked with, and a run appends its records instead of rewriting history.

The registry (:mod:`pipeline.entities` says what it is for) lives in ``<work>/registry/``:

* ``part-<generation>-<n>.parquet``: registry rows (``_uid``, ``_source``, the link fields,
  ``_entity``), one ``_key_<i>`` column per lookup key: a 64-bit hash of the record's
  standardised values of a blocking rule's roles, or of a deterministic identifier (null when
  any value is missing, as a blocking rule never pairs a missing value), and one
  ``_std_<column>`` per column the linkage engine reads: the record standardised as the link
  stage standardised it, so a later batch does not standardise the records it reads again.
* ``manifest.json``: the parts that make up the registry, with each part's row count and
  the input files (``source|file``) its rows come from, and how the
  keys were computed. Replacing it (atomically) is the one step that commits a run's rows.

A run's records are one new part. Rows are keyed by ``_uid``: a batch that is processed again
(a rerun after a killed run, ``--all``, a changed file with the same name) replaces its own
rows, so the parts that hold rows of the batch's files are rewritten without them, in the
same commit. Files the manifest does not list (left by a run killed before its commit) are
deleted when the registry is next opened, under the run lock. A run killed after the commit
but before its delivery was promoted reruns to the same entity ids: its own rows are left out
of the history it links against. Entity ids are text (:mod:`pipeline.entities`); parts written
when they were whole numbers are read as text.

Keys are hashed with polars, whose hashes are stable within one version only, and computed
with pprl's standardisation: the manifest records both versions, the keys and the standardised
columns kept, and the keys and standardised columns of every part are computed again (from the
part's own link fields, a slice at a time, committed at once) when any of them differs: so a
registry written before the standardised columns were kept is rewritten with them when first
opened. An ``entities.parquet`` written by an older pprl (the whole registry in one file) is
converted on first use.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import pyarrow.parquet as pq

from pipeline.atomic import atomic_path, private_dir, write_text_atomic
from pipeline.entities import ENTITY, UID
from pipeline.errors import DataError

logger = logging.getLogger(__name__)

REGISTRY_DIR = "registry"
LEGACY_FILE = "entities.parquet"  # the registry of pprl before the keyed index
MANIFEST = "manifest.json"
FORMAT = "pprl-entity-registry/2"
KEY_PREFIX = "_key_"
STD_PREFIX = "_std_"  # a standardised link column
DERIVED = f"^({KEY_PREFIX}|{STD_PREFIX}).*$"  # the columns the index computes
ROW_GROUP_ROWS = 262_144
SLICE_ROWS = 1_000_000  # rows read at once when keys are computed again
_ENTITY_TEXT = pl.col(ENTITY).cast(pl.String)  # parts of older pprl hold whole numbers


class KeyIndex(Protocol):
    """How registry rows are keyed (:class:`pipeline.stages.link_keys.BlockKeys`)."""

    @property
    def fingerprint(self) -> str: ...

    def registry_columns(self, view: pl.DataFrame) -> pl.DataFrame:
        """For the rows of ``view``: one UInt64 column ``_key_<i>`` per key, null where a
        value the key needs is missing, and the ``_std_<column>`` columns."""
        ...


@dataclass(frozen=True)
class RegistryPart:
    """One Parquet file of the registry, as the manifest lists it."""

    name: str
    rows: int
    files: tuple[str, ...]  # "source|file" of its rows

    def sources(self) -> set[str]:
        return {f.split("|", 1)[0] for f in self.files}


@dataclass(frozen=True)
class Earlier:
    """The registry's records that are not in the batch being linked: how many, their
    sources, and whether the registry holds rows of the batch's files already (the batch is
    processed again)."""

    records: int
    sources: frozenset[str]
    reprocessed: bool


def batch_files(uids: pl.Series) -> set[str]:
    """``source|file`` of record ids ``source|file|row``."""
    return set(uids.str.replace(r"\|[^|]*$", "").unique().to_list())


class Registry:
    """The parts of the registry in ``folder`` (module docstring); open with :meth:`open`."""

    def __init__(
        self, folder: Path, index: KeyIndex, parts: list[RegistryPart], generation: int
    ) -> None:
        self.folder = folder
        self.index = index
        self.parts = parts
        self.generation = generation

    @classmethod
    def open(cls, work_dir: Path, index: KeyIndex) -> Registry:
        """The registry of ``work_dir``: converted from an older pprl's file, cleared of a
        killed run's files, and its keys computed again if ``index`` computes them otherwise."""
        folder = work_dir / REGISTRY_DIR
        legacy = work_dir / LEGACY_FILE
        manifest = _read_manifest(folder / MANIFEST)
        if manifest is None:
            registry = cls(folder, index, [], 0)
            if legacy.exists():
                registry._migrate(legacy)
        else:
            parts = [
                RegistryPart(p["name"], p["rows"], tuple(p["files"])) for p in manifest["parts"]
            ]
            registry = cls(folder, index, parts, int(manifest["generation"]))
            registry._remove_unlisted()
            if manifest.get("index") != index.fingerprint:
                registry._rekey()
        legacy.unlink(missing_ok=True)  # converted, now or by a run killed before this line
        return registry

    # --- reading ---------------------------------------------------------------------------------

    def _scan(self, part: RegistryPart) -> pl.LazyFrame:
        return pl.scan_parquet(self.folder / part.name)

    def _batches(self, part: RegistryPart) -> Iterator[pl.DataFrame]:
        """A part's rows, :data:`SLICE_ROWS` at a time."""
        for batch in pq.ParquetFile(self.folder / part.name).iter_batches(SLICE_ROWS):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame

    def _touching(self, files: set[str]) -> list[RegistryPart]:
        return [p for p in self.parts if files & set(p.files)]

    def earlier(self, uids: pl.Series) -> Earlier:
        """The registry's records other than those of ``uids`` (this batch's record ids)."""
        files = batch_files(uids)
        touched = self._touching(files)
        kept = [p for p in self.parts if p not in touched]
        records = sum(p.rows for p in kept)
        sources = set().union(*(p.sources() for p in kept))
        for part in touched:
            rest = (
                self._scan(part)
                .select(UID, "_source")
                .filter(~pl.col(UID).is_in(uids.implode()))
                .collect()
            )
            records += rest.height
            sources |= set(rest["_source"].unique().to_list())
        return Earlier(records, frozenset(sources), bool(touched))

    def lookup(self, keys: pl.DataFrame, uids: pl.Series) -> pl.DataFrame:
        """Every record (not of ``uids``) that shares a key value with a row of ``keys``
        (its ``_key_<i>`` columns): the history a batch can be linked with, with the
        records' ``_std_<column>`` columns."""
        wanted = [
            pl.col(c).is_in(keys[c].drop_nulls().unique().implode())
            for c in keys.columns
            if c.startswith(KEY_PREFIX) and keys[c].null_count() < keys.height
        ]
        if not wanted:
            return self._empty()
        return self._select(pl.any_horizontal(wanted), uids)

    def records(self, wanted: pl.Series, uids: pl.Series) -> pl.DataFrame:
        """The records with ids in ``wanted`` (and not in ``uids``)."""
        return self._select(pl.col(UID).is_in(wanted.implode()), uids)

    def everything(self, uids: pl.Series) -> pl.DataFrame:
        """Every record not of ``uids`` (to link a batch with the whole history), with its
        ``_std_<column>`` columns."""
        return self._select(pl.lit(True), uids, whole=True)

    def _select(self, predicate: pl.Expr, uids: pl.Series, *, whole: bool = False) -> pl.DataFrame:
        """The rows matching ``predicate`` (not of ``uids``), in part order, collected by
        polars' in-memory engine, which reads each row group with the predicate applied: twice
        as fast as the streaming engine for a 100k batch's lookup in a 20M registry (same rows,
        same order). ``whole`` (every row) streams."""
        touched = self._touching(batch_files(uids))
        frames = []
        for part in self.parts:
            rows = self._scan(part).filter(predicate)
            if part in touched:
                rows = rows.filter(~pl.col(UID).is_in(uids.implode()))
            frames.append(rows.select(pl.exclude(f"^{KEY_PREFIX}.*$")).with_columns(_ENTITY_TEXT))
        if not frames:
            return self._empty()
        rows = pl.concat(frames, how="diagonal_relaxed")
        return rows.collect(engine="streaming") if whole else rows.collect()

    def entities_held(self, names: pl.Series, uids: pl.Series) -> pl.Series:
        """Which of ``names`` are entity ids of records not of ``uids``: a batch processed
        again must not found an entity under an id that later records took from it."""
        held = self._select(pl.col(ENTITY).cast(pl.String).is_in(names.implode()), uids)
        return held.get_column(ENTITY).unique()

    @staticmethod
    def _empty() -> pl.DataFrame:
        return pl.DataFrame(schema={UID: pl.String, "_source": pl.String, ENTITY: pl.String})

    # --- writing ---------------------------------------------------------------------------------

    def commit(self, rows: Iterable[pl.DataFrame], schema: pl.Schema) -> None:
        """Add a batch's registry rows (``schema``: the link view and ``_entity``; given in
        chunks, with or without their ``_key_<i>`` and ``_std_<column>`` columns) as one new
        part, replacing any earlier rows of the same records (module docstring)."""
        generation = self.generation + 1
        name = f"part-{generation:06d}-0.parquet"
        written = self._write_part(name, self._keyed(rows), self._keyed_schema(schema))
        if written is None:
            return
        uids = pl.read_parquet(self.folder / written.name, columns=[UID])[UID]
        touched = self._touching(set(written.files))
        parts = [p for p in self.parts if p not in touched]
        for n, part in enumerate(touched, start=1):
            kept = (b.filter(~pl.col(UID).is_in(uids.implode())) for b in self._batches(part))
            schema = pl.read_parquet_schema(self.folder / part.name)  # type: ignore[assignment]
            rewritten = self._write_part(f"part-{generation:06d}-{n}.parquet", kept, schema)
            parts += [rewritten] if rewritten is not None else []
        self._commit([*parts, written], generation)

    def _keyed_schema(self, schema: pl.Schema) -> pl.Schema:
        """``schema`` (the link view and ``_entity``) with the key columns."""
        view = pl.DataFrame(schema={c: t for c, t in schema.items() if c != ENTITY})
        derived = self.index.registry_columns(view).schema
        return pl.Schema({**schema, ENTITY: pl.String(), **derived})

    def _keyed(self, rows: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """Rows with their keys and standardised columns: computed here unless the caller
        computed every one of them already."""
        derived: set[str] | None = None
        for frame in rows:
            if derived is None:
                derived = set(self.index.registry_columns(frame.clear()).columns)
            if derived <= set(frame.columns):
                yield frame
            else:
                view = frame.select(pl.exclude(ENTITY, DERIVED))
                yield frame.select(pl.exclude(DERIVED)).hstack(self.index.registry_columns(view))

    def _write_part(
        self, name: str, frames: Iterable[pl.DataFrame], schema: pl.Schema
    ) -> RegistryPart | None:
        """Write ``frames`` into one Parquet file of ``schema`` (a column a frame lacks is
        null); None when there are no rows."""
        files: set[str] = set()
        rows = 0
        private_dir(self.folder)
        with _parquet_writer(self.folder / name, schema) as writer:
            for frame in frames:
                if not frame.height:
                    continue
                unified = frame.select(
                    pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                    for c, t in schema.items()
                )
                writer.write_table(unified.to_arrow(), row_group_size=ROW_GROUP_ROWS)
                files |= batch_files(frame[UID])
                rows += frame.height
        if not rows:
            (self.folder / name).unlink()
            return None
        return RegistryPart(name, rows, tuple(sorted(files)))

    def _commit(self, parts: list[RegistryPart], generation: int) -> None:
        document = {
            "format": FORMAT,
            "generation": generation,
            "index": self.index.fingerprint,
            "parts": [{"name": p.name, "rows": p.rows, "files": list(p.files)} for p in parts],
        }
        write_text_atomic(self.folder / MANIFEST, json.dumps(document, indent=1) + "\n")
        self.parts, self.generation = parts, generation
        self._remove_unlisted()

    def _remove_unlisted(self) -> None:
        listed = {p.name for p in self.parts} | {MANIFEST}
        for path in self.folder.iterdir():
            if path.name not in listed:
                path.unlink()

    def _migrate(self, legacy: Path) -> None:
        """Convert an older pprl's registry file into the first part."""
        try:
            frame = pl.read_parquet(legacy)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DataError(
                f"entity registry {legacy.name}: unreadable ({type(exc).__name__})"
            ) from None
        missing = [c for c in (UID, "_source", ENTITY) if c not in frame.columns]
        if missing:
            raise DataError(
                f"entity registry {legacy.name}: missing column(s) {', '.join(missing)}"
            )
        logger.info("converting the entity registry (%d records) to the keyed index", frame.height)
        slices = (frame.slice(start, SLICE_ROWS) for start in range(0, frame.height, SLICE_ROWS))
        schema = self._keyed_schema(frame.schema)
        written = self._write_part("part-000001-0.parquet", self._keyed(slices), schema)
        self._commit([] if written is None else [written], 1)

    def _rekey(self) -> None:
        """Compute every part's keys and standardised columns again (the way they are
        computed has changed, or the part was written before they were kept)."""
        logger.info(
            "computing the entity registry's keys and standardised columns again"
            " (%d parts, %d records)",
            len(self.parts),
            sum(p.rows for p in self.parts),
        )
        generation = self.generation + 1
        parts = []
        for n, part in enumerate(self.parts):
            rows = (b.select(pl.exclude(DERIVED)) for b in self._batches(part))
            stored = pl.read_parquet_schema(self.folder / part.name)
            schema = pl.Schema(
                {c: t for c, t in stored.items() if not c.startswith((KEY_PREFIX, STD_PREFIX))}
            )
            name = f"part-{generation:06d}-{n}.parquet"
            rekeyed = self._write_part(name, self._keyed(rows), self._keyed_schema(schema))
            parts += [rekeyed] if rekeyed is not None else []
        self._commit(parts, generation)


def read_registry(work_dir: Path) -> pl.DataFrame | None:
    """Every row of a work folder's registry (without its keys and standardised columns), as
    it stands; None before the first linked run. For inspection and tests: a run reads only
    what it needs."""
    folder = work_dir / REGISTRY_DIR
    manifest = _read_manifest(folder / MANIFEST)
    if manifest is None:
        return None
    frames = [
        pl.scan_parquet(folder / p["name"]).select(pl.exclude(DERIVED)).with_columns(_ENTITY_TEXT)
        for p in manifest["parts"]
    ]
    return pl.concat(frames, how="diagonal_relaxed").collect() if frames else None


@contextlib.contextmanager
def _parquet_writer(path: Path, schema: pl.Schema) -> Iterator[pq.ParquetWriter]:
    """A Parquet writer whose file appears at ``path`` only once it is whole."""
    with atomic_path(path) as tmp:
        writer = pq.ParquetWriter(tmp, pl.DataFrame(schema=schema).to_arrow().schema)
        try:
            yield writer
        finally:
            writer.close()


def _read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"entity registry {path.parent.name}/{path.name}: unreadable") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"entity registry {path.parent.name}/{path.name}: not a registry manifest")
    return document
