"""The records a link stage links, standardised once, held whole only in their thin columns.

Each chunk of the batch's linkage view (:func:`pipeline.stages.link.linkage_view`) is
standardised as :data:`ROLE_STANDARDISATION` says, as it arrives (a prepared part at a time):
its registry keys are hashed from it (:mod:`pipeline.stages.link_keys`), its role columns are
written to a Parquet file of the stage's work folder for the linkage engine's database to read
(or kept as a frame when there is no folder: tests, small batches), and only ``ids`` stays in
memory: ``_uid``, ``_source`` and the identifier columns clustering reads. So the link stage
never holds the unstandardised view, a standardised copy of it and its split by side at once,
as it did; what it holds whole grows with the batch by the thin columns only.

Earlier records read from the registry come with their standardised columns
(``_std_<column>``, :mod:`pipeline.registry`), kept when they were linked: they are taken as
they are instead of being standardised again, and a batch's own are read back from its chunks
(:meth:`LinkRecords.stored`) for the registry.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from linkage.standardise import Standardisation, split_full_name, standardise_columns
from pipeline.atomic import write_with_atomic
from pipeline.entities import UID
from pipeline.errors import ConfigError
from pipeline.linkage_spec import LinkageSpec, role_column
from pipeline.registry import STD_PREFIX

#: How each person role is standardised before linkage (dates become ISO text).
ROLE_STANDARDISATION: dict[str, Standardisation] = {
    "first_name": "name",
    "surname": "name",
    "full_name": "name",
    "postcode": "postcode",
    "address": "address",
    "date_of_birth": "date",
    "sex": "sex",
}
_SPLIT = {"first_name": "__first_name_from_full", "surname": "__surname_from_full"}
#: One chunk of standardised records: a frame, or the Parquet file holding it.
Chunk = pl.DataFrame | Path


def standardised_names(columns: Iterable[str]) -> set[str]:
    """The columns :func:`standardise_view` returns for a view of ``columns``."""
    names = set(columns)
    return names | set(_SPLIT) if "full_name" in names else names


def standardise_view(view: pl.DataFrame) -> pl.DataFrame:
    """Normalised person fields for comparison (text only; dates as ISO text)."""
    roles = {r: kind for r, kind in ROLE_STANDARDISATION.items() if r in view.columns}
    if "full_name" not in view.columns:
        return standardise_columns(view, roles)
    # split the full name as given (a comma marks "SURNAME, First") before it is standardised
    first, surname = split_full_name(pl.col("full_name"))
    view = view.with_columns(first.alias(_SPLIT["first_name"]), surname.alias(_SPLIT["surname"]))
    frame = standardise_columns(view, roles)
    return frame.with_columns(
        pl.coalesce([*([pl.col(role)] if role in roles else []), pl.col(split)]).alias(role)
        for role, split in _SPLIT.items()
    ).drop(_SPLIT.values())


@dataclass(frozen=True)
class LinkRecords:
    """Standardised records to link (module docstring): ``ids`` (``_uid``, ``_source``, the
    spec's identifier columns) one row per record in link order; ``chunks`` the same records,
    each chunk from one source (tagged with it), with ``_uid`` and every role column
    (``columns``; null where a source maps none); ``mapped``: the role columns some source
    maps; ``folder``: where the chunks' files are (None: chunks are frames)."""

    ids: pl.DataFrame
    chunks: tuple[tuple[str, Chunk], ...]
    columns: tuple[str, ...]
    mapped: frozenset[str]
    folder: Path | None = None

    @classmethod
    def from_view(cls, view: pl.DataFrame, spec: LinkageSpec) -> LinkRecords:
        """The records of one linkage view, kept in memory."""
        collector = RecordCollector(spec)
        collector.add(view)
        return collector.finish()

    @property
    def height(self) -> int:
        return self.ids.height

    def sources(self) -> set[str]:
        return set(self.ids.get_column("_source").unique().to_list())

    def check_roles(self, spec: LinkageSpec) -> None:
        """Raise :class:`ConfigError` naming every role no source maps."""
        missing = [r for r in spec.roles() if role_column(r) not in self.mapped]
        if missing:
            raise ConfigError(f"linkage: no source maps the role(s) {', '.join(missing)}")

    def read(self, uids: pl.Series | None = None) -> pl.DataFrame:
        """The standardised records (of ``uids`` only, when given), chunk by chunk."""
        frames = [_scan(chunk) for _, chunk in self.chunks]
        if not frames:
            return pl.DataFrame(schema=dict.fromkeys([UID, *self.columns], pl.String))
        every = pl.concat(frames)
        if uids is not None:
            every = every.filter(pl.col(UID).is_in(uids.implode()))
        return every.collect()

    def sample(self, n: int, *, seed: int) -> pl.DataFrame:
        """The rows ``DataFrame.sample(n, seed=seed)`` picks from all records (all when there
        are at most ``n``), read from the chunks: the index drawn depends on the row count
        only, so the thin ``ids`` draws the same rows."""
        if self.height <= n:
            return self.read()
        chosen = self.ids.select(UID).sample(n, seed=seed)
        return chosen.join(self.read(chosen[UID]), on=UID, how="left", maintain_order="left")

    def side(self, sources: Iterable[str], name: Literal["left", "right"]) -> pl.DataFrame | str:
        """The records of ``sources`` as the linkage engine reads an input: one frame, or a
        Parquet glob over a folder of links to their files."""
        wanted = set(sources)
        chunks = [chunk for source, chunk in self.chunks if source in wanted]
        if self.folder is None or any(isinstance(c, pl.DataFrame) for c in chunks):
            frames = [c if isinstance(c, pl.DataFrame) else pl.read_parquet(c) for c in chunks]
            empty = pl.DataFrame(schema=dict.fromkeys([UID, *self.columns], pl.String))
            return pl.concat([empty, *frames])
        folder = self.folder / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for n, chunk in enumerate(chunks):
            assert isinstance(chunk, Path)
            os.link(chunk, folder / f"{n:05d}.parquet")
        return str(folder / "*.parquet")

    def stored(self) -> pl.LazyFrame:
        """``_uid`` and the ``_std_<column>`` columns the registry keeps, one row per record in
        the order of the chunks (the order of ``ids`` when each chunk added held one source)."""
        frames = self.stored_chunks()
        if frames:
            return pl.concat(frames)
        stored = [f"{STD_PREFIX}{c}" for c in self.columns]
        return pl.LazyFrame(schema=dict.fromkeys([UID, *stored], pl.String))

    def stored_chunks(self) -> list[pl.LazyFrame]:
        """:meth:`stored`, one frame per chunk, in order: read one after the other, each is
        read once (a slice of the concatenation at an offset reads what comes before it)."""
        rename = [pl.col(c).alias(f"{STD_PREFIX}{c}") for c in self.columns]
        return [_scan(chunk).select(UID, *rename) for _, chunk in self.chunks]

    def with_history(self, history: pl.DataFrame, spec: LinkageSpec) -> LinkRecords:
        """These records after ``history`` (a linkage view of earlier records, with or without
        their ``_std_<column>`` columns), as linked."""
        collector = RecordCollector(spec, self.folder, prefix="history-")
        collector.add(history)
        earlier = collector.finish()
        return LinkRecords(
            pl.concat([earlier.ids, self.ids]),
            (*earlier.chunks, *self.chunks),
            self.columns,
            earlier.mapped | self.mapped,
            self.folder,
        )


class RecordCollector:
    """Builds :class:`LinkRecords` a chunk at a time; chunks go to Parquet files in
    ``folder`` when given (named ``<prefix><n>.parquet``), else stay in memory."""

    def __init__(self, spec: LinkageSpec, folder: Path | None = None, prefix: str = "") -> None:
        self.columns = tuple(dict.fromkeys(role_column(r) for r in spec.roles()))
        self.identifiers = [role_column(r) for r in spec.deterministic_roles()]
        #: the view's columns standardised: only what the spec reads (an address it neither
        #: compares nor blocks on cost a third of standardising, for nothing)
        self.read_columns = {UID, "_source", *self.columns, *self.identifiers}
        if self.read_columns & {"full_name", *_SPLIT}:
            self.read_columns.add("full_name")  # first name and surname come from it
        self.folder = folder
        self.prefix = prefix
        self._ids: list[pl.DataFrame] = []
        self._chunks: list[tuple[str, Chunk]] = []
        self._mapped: set[str] = set()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def add(self, view: pl.DataFrame) -> pl.DataFrame:
        """Standardise one chunk of a linkage view and keep it (a chunk per source it holds);
        returns the standardised chunk (for its registry keys). A view holding every column's
        ``_std_<column>`` (registry records) is taken as already standardised."""
        standard, mapped = self._standardised(view)
        self._mapped |= mapped
        self._ids.append(_select(standard, ["_source", *self.identifiers]))
        for (source,), rows in standard.partition_by(
            "_source", maintain_order=True, as_dict=True
        ).items():
            chunk = _select(rows, self.columns)
            if self.folder is None:
                self._chunks.append((str(source), chunk))
                continue
            path = self.folder / f"{self.prefix}{len(self._chunks):05d}.parquet"
            write_with_atomic(path, chunk.write_parquet)
            self._chunks.append((str(source), path))
        return standard

    def _standardised(self, view: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
        """``view`` standardised, and the columns :func:`standardise_view` returns for it
        (the roles it maps)."""
        stored = {f"{STD_PREFIX}{c}": c for c in self.columns}
        raw = [c for c in view.columns if not c.startswith(STD_PREFIX)]
        if not stored.keys() <= set(view.columns):
            standard = standardise_view(view.select(c for c in raw if c in self.read_columns))
            return standard, set(standard.columns)
        kept = [c for c in raw if c not in self.columns]
        standard = view.select(*kept, *(pl.col(s).alias(c) for s, c in stored.items()))
        return standard, standardised_names(raw)

    def finish(self) -> LinkRecords:
        schema = dict.fromkeys([UID, "_source", *self.identifiers], pl.String)
        ids = pl.concat([pl.DataFrame(schema=schema), *self._ids])
        return LinkRecords(
            ids, tuple(self._chunks), self.columns, frozenset(self._mapped), self.folder
        )


def _select(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``_uid`` and ``columns`` as text, null where ``frame`` has no such column."""
    return frame.select(
        pl.col(UID).cast(pl.String),
        *(
            pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c)
            for c in columns
        ),
    )


def _scan(chunk: Chunk) -> pl.LazyFrame:
    return chunk.lazy() if isinstance(chunk, pl.DataFrame) else pl.scan_parquet(chunk)
