"""The extracts a recipient already holds: earlier deliveries of the same project, read back from
the delivery folder so that the de-identify stage can keep joins with them k-anonymous.

An earlier delivery is a folder ``<delivery>/<run_id>/`` whose ``manifest.json`` is a pipeline
run of the same project and environment (pseudonyms and person IDs are keyed per environment,
so only those can be joined) to the same recipient (``approvals.recipient``; none on both
sides counts as the same). Its extracts are the ``<source>.parquet`` files of the sources the
manifest lists; each is checked against the manifest's SHA-256 first, and only its key
columns (``person_id``, ``pid_*``) and quasi-identifiers are read. A listed extract that is
missing or changed is a :class:`DataError` (exit 3): the risk of what the recipient holds
cannot be assessed without it. Extracts with no key column are skipped: they join nothing.

:func:`earlier_extracts` reads them all (:class:`WholeExtracts`); the pipeline reads a summary
of them kept in the state folder instead (:mod:`pipeline.stages.earlier_summary`), which uses
:func:`delivered_extracts` and :func:`read_extract` to stay in step with this folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import polars as pl

from pipeline.config import PipelineConfig
from pipeline.errors import DataError
from pseudonym.digests import file_sha256

if TYPE_CHECKING:
    from pipeline.disclosure.held import HeldFiles

logger = logging.getLogger(__name__)

RUN_KIND = "pipeline-run"  # pipeline.stages.deliver.MANIFEST_KIND (not imported: no cycle)


def is_key_column(column: str) -> bool:
    """Columns a recipient joins extracts on: the person ID and per-environment pseudonyms."""
    return column == "person_id" or column.startswith("pid_")


@runtime_checkable
class Holdings(Protocol):
    """What a recipient already holds, able to give the part of it that can meet a delivery."""

    def relevant(self, keys: Sequence[str], current: Mapping[str, pl.DataFrame]) -> HeldFiles:
        """The earlier files holding any of ``keys`` (the delivery's, hashed as
        :func:`hashed_key`), or the rows of them that can meet ``current``."""
        ...


class WholeExtracts:
    """Earlier extracts read whole (:func:`earlier_extracts`), their keys hashed here (or
    already, without ``hash_keys``)."""

    def __init__(self, frames: Mapping[str, pl.DataFrame], *, hash_keys: bool = True) -> None:
        self.frames = {
            name: frame.with_columns(
                hashed_key(c) for c in frame.columns if hash_keys and is_key_column(c)
            )
            for name, frame in frames.items()
        }

    def relevant(self, keys: Sequence[str], current: Mapping[str, pl.DataFrame]) -> HeldFiles:
        from pipeline.disclosure.held import HeldFiles

        return HeldFiles({n: f for n, f in self.frames.items() if set(keys) & set(f.columns)})


def hashed_key(column: str) -> pl.Expr:
    """A key as a non-negative 63-bit hash (null stays null): equal keys stay equal (see
    :mod:`pipeline.stages.deidentify`), and integers are what the linked views code keys as."""
    key = pl.col(column)
    return pl.when(key.is_not_null()).then((key.hash(seed=0) // 2).cast(pl.Int64)).alias(column)


@dataclass(frozen=True)
class Delivered:
    """One extract listed in an earlier delivery's manifest: ``label`` is
    ``<run folder>/<source>.parquet``, ``entry`` the manifest's ``{"sha256", "rows"}``."""

    label: str
    path: Path
    entry: dict[str, Any]


def delivered_extracts(config: PipelineConfig, *, exclude: str | None = None) -> list[Delivered]:
    """Every extract of an earlier delivery to this config's recipient, oldest run folder name
    first, then in its manifest's source order; ``exclude`` is the current run."""
    root = config.delivery_dir
    if not root.is_dir():
        return []
    out = []
    for manifest_path in sorted(root.glob("*/manifest.json")):
        folder = manifest_path.parent
        if folder.name.startswith(".") or folder.name == exclude:
            continue
        manifest = _read(manifest_path)
        if manifest is None or not _same_recipient(manifest, config):
            continue
        outputs = manifest.get("outputs", {})
        for source in manifest.get("sources", {}):
            name = f"{source}.parquet"
            if name in outputs:
                out.append(Delivered(f"{folder.name}/{name}", folder / name, outputs[name]))
    return out


def earlier_extracts(
    config: PipelineConfig,
    quasi_identifiers: Sequence[str],
    *,
    exclude: str | None = None,
) -> dict[str, pl.DataFrame]:
    """``{"<run_id>/<source>.parquet": keys and quasi-identifiers}`` of every earlier delivery
    to this config's recipient, oldest run folder name first; ``exclude`` is the current run."""
    out: dict[str, pl.DataFrame] = {}
    for extract in delivered_extracts(config, exclude=exclude):
        frame = read_extract(extract, quasi_identifiers)
        if frame is not None:
            out[extract.label] = frame
    if out:
        logger.info("%d earlier extracts to this recipient join this delivery", len(out))
    return out


def _read(path: Path) -> dict[str, Any] | None:
    """A manifest, or None for a file that is not a pipeline run's manifest."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path.parent.name}/manifest.json: unreadable manifest") from None
    if not isinstance(document, dict) or document.get("kind") != RUN_KIND:
        return None
    return document


def _same_recipient(manifest: dict[str, Any], config: PipelineConfig) -> bool:
    recipient = (manifest.get("approvals") or {}).get("recipient")
    ours = config.approvals.recipient if config.approvals else None
    return (
        manifest.get("project") == config.project
        and manifest.get("environment") == config.environment
        and recipient == ours
    )


def check_extract(extract: Delivered) -> None:
    """Raise :class:`DataError` if the extract is missing or differs from its manifest."""
    if not extract.path.is_file():
        raise DataError(
            f"{extract.label}: earlier delivered extract listed in its manifest is missing"
        )
    if file_sha256(extract.path) != extract.entry.get("sha256"):
        raise DataError(
            f"{extract.label}: earlier delivered extract differs from its manifest's SHA-256"
        )


def read_extract(
    extract: Delivered, quasi_identifiers: Sequence[str], *, hashed: bool = False
) -> pl.DataFrame | None:
    """The extract's key columns and quasi-identifiers, once checked (:func:`check_extract`);
    None for an extract with no key column (it joins nothing). With ``hashed`` the keys come
    hashed (:func:`hashed_key`), computed while reading: the key text is never held whole."""
    check_extract(extract)
    path = extract.path
    columns = pl.read_parquet_schema(path)
    keys = [c for c in columns if is_key_column(c)]
    if not keys:
        return None
    wanted = [*keys, *(q for q in quasi_identifiers if q in columns and q not in keys)]
    if not hashed:
        return pl.read_parquet(path, columns=wanted)
    scan = pl.scan_parquet(path).select(wanted).with_columns(hashed_key(k) for k in keys)
    return scan.collect(engine="streaming")
