"""A summary of the extracts a recipient already holds, so that a later delivery's de-identify
stage reads one compact record instead of every earlier extract (issue 16).

Kept in ``<state_dir>/earlier/`` (owner-only, never delivered): per earlier extract with a key
column, one Parquet part holding what the linked views read of it (:func:`read_extract`: the
keys, hashed as the stage hashes them, and the quasi-identifiers) plus the *unit* of each row:
rows connected through any key value across every earlier extract share a unit. Units merged
by a later extract keep their labels in the parts; a small merge table maps a label to the
unit it now belongs to. ``summary.json`` (written last, atomically: the commit point) names
the parts and records, per extract, the manifest's SHA-256 and the file's size and mtime it
was read at, the keys under which the whole extract varies
(:func:`pipeline.disclosure.varying_keys`), the unit count, the project, environment,
recipient, quasi-identifiers and a probe of the key hash.

Each run (:func:`recipient_holdings`) checks the summary against the delivery folder first:

* a summary that is absent, unreadable, for another recipient or quasi-identifiers, made with
  another key hash, or listing an extract that no manifest lists any more with that SHA-256,
  is *rebuilt* from the extracts (each checked against its manifest, as before): the summary
  is a cache of the deliveries, never a second source of truth;
* an extract it covers must still be there (missing: exit 3, as before); one whose size or
  mtime changed is checked against its manifest's SHA-256 again (differs: exit 3);
* extracts delivered since (the last delivery, normally) are read and added.

A run killed at any point leaves the last ``summary.json`` and the parts it names: the summary
only ever lists promoted deliveries, and the next run adds whatever was delivered since.

The de-identify stage then asks for the rows that can meet the delivery
(:meth:`Summary.relevant`): the units holding any of the delivery's key values, whole, with
the count of units left out, which is what :class:`~pipeline.disclosure.HeldFiles` needs to
give the same treatment and figures as all the extracts read whole. When the delivery lacks a
key column the summary holds, units could connect differently: every row is given then.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.atomic import private_dir, write_text_atomic, write_with_atomic
from pipeline.config import PipelineConfig
from pipeline.stages.earlier import (
    Delivered,
    check_extract,
    delivered_extracts,
    hashed_key,
    is_key_column,
    read_extract,
)
from pipeline.stages.earlier_units import UNIT, Units

if TYPE_CHECKING:
    from pipeline.disclosure.held import HeldFiles

logger = logging.getLogger(__name__)

FOLDER = "earlier"
INDEX = "summary.json"
FORMAT = "pprl-earlier-summary/1"


def recipient_holdings(
    config: PipelineConfig, quasi_identifiers: Sequence[str], *, exclude: str | None = None
) -> Summary:
    """The summary of every earlier delivery to this config's recipient (``exclude``: the
    current run), checked and brought up to date (module docstring)."""
    folder = config.state_dir / FOLDER
    identity = _identity(config, quasi_identifiers)
    listed = delivered_extracts(config, exclude=exclude)
    summary = Summary.load(folder, identity)
    if summary is not None and not summary.listed_in(listed):
        logger.info("earlier-delivery summary lists a delivery no manifest does: rebuilding")
        summary = None
    rebuilt = summary is None
    if summary is None:
        summary = Summary.empty(folder, identity)
    changed = summary.check_files(listed) or rebuilt
    for extract in listed:
        if extract.label not in summary.files:
            summary.add(extract, read_extract(extract, quasi_identifiers, hashed=True))
            changed = True
    summary.order([e.label for e in listed])
    if changed and listed:  # a first delivery leaves no summary behind
        summary.save()
    return summary


def _identity(config: PipelineConfig, quasi_identifiers: Sequence[str]) -> dict[str, Any]:
    probe = pl.DataFrame({"k": ["pprl-earlier-summary"]}).select(hashed_key("k")).item()
    return {
        "format": FORMAT,
        "project": config.project,
        "environment": config.environment,
        "recipient": config.approvals.recipient if config.approvals else None,
        "quasi_identifiers": list(quasi_identifiers),
        "hash_probe": probe,
    }


class Summary:
    """The summary in ``folder`` (module docstring); :meth:`relevant` serves the stage."""

    def __init__(self, folder: Path, document: dict[str, Any], units: Units) -> None:
        self.folder, self.document, self.units = folder, document, units
        self.files: dict[str, dict[str, Any]] = {f["label"]: f for f in document["files"]}

    @classmethod
    def empty(cls, folder: Path, identity: dict[str, Any]) -> Summary:
        return cls(folder, {**identity, "files": [], "next_part": 1}, Units.empty())

    @classmethod
    def load(cls, folder: Path, identity: dict[str, Any]) -> Summary | None:
        """The stored summary, or None when absent, unreadable or made for other settings."""
        try:
            document = json.loads((folder / INDEX).read_text(encoding="utf-8"))
            if {k: document.get(k) for k in identity} != identity:
                logger.info("earlier-delivery summary made for other settings: rebuilding")
                return None
            parts = [folder / f["part"] for f in document["files"] if f["part"]]
            if any(not p.is_file() for p in parts):
                return None
            return cls(folder, document, Units.load(folder, document["units"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def listed_in(self, listed: Sequence[Delivered]) -> bool:
        """Whether every extract covered is still listed, with the same SHA-256."""
        sha = {e.label: e.entry.get("sha256") for e in listed}
        return all(sha.get(label) == f["sha256"] for label, f in self.files.items())

    def check_files(self, listed: Sequence[Delivered]) -> bool:
        """Every covered extract still there (exit 3 if not); one whose size or mtime moved is
        checked against its manifest again and its new stat recorded (returns True then)."""
        moved = False
        for extract in listed:
            covered = self.files.get(extract.label)
            if covered is None:
                continue
            if not extract.path.is_file():
                check_extract(extract)  # raises: missing
            if _stat(extract.path) != covered["stat"]:
                check_extract(extract)  # raises if it differs from its manifest
                covered["stat"] = _stat(extract.path)
                moved = True
        return moved

    def add(self, extract: Delivered, hashed: pl.DataFrame | None) -> None:
        """Cover ``extract`` (``hashed``: its keys, hashed, and quasi-identifiers; None if it
        has no key column)."""
        entry: dict[str, Any] = {
            "label": extract.label,
            "sha256": extract.entry.get("sha256"),
            "stat": _stat(extract.path),
            "part": None,
        }
        if hashed is not None:
            from pipeline.disclosure.held import varying_keys

            keys = [c for c in hashed.columns if is_key_column(c)]
            qis = [c for c in hashed.columns if c not in keys]
            part = f"part-{self.document['next_part']:06d}.parquet"
            self.document["next_part"] += 1
            labelled = hashed.with_columns(self.units.label(hashed, keys, self._parts()))
            write_with_atomic(private_dir(self.folder) / part, labelled.write_parquet)
            entry.update(
                part=part, rows=hashed.height, keys=keys,
                varying=sorted(varying_keys(hashed, keys, qis)),
            )  # fmt: skip
        self.files[extract.label] = entry

    def order(self, labels: Sequence[str]) -> None:
        """Files in the order the delivery folder lists them (:func:`delivered_extracts`)."""
        self.files = {label: self.files[label] for label in labels}

    def save(self) -> None:
        """Write the merge table and ``summary.json`` (the commit point), then remove the
        files no longer named (a killed run's leftovers included)."""
        folder = private_dir(self.folder)
        self.document["units"] = self.units.save(folder, self.document["next_part"])
        self.document["next_part"] += 1
        self.document["files"] = list(self.files.values())
        write_text_atomic(folder / INDEX, json.dumps(self.document, indent=1) + "\n")
        named = {INDEX, self.document["units"]["merges"]}
        named |= {f["part"] for f in self.files.values() if f["part"]}
        for path in folder.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)
        logger.info(
            "earlier-delivery summary: %d extracts, %d units",
            len(self.files), self.units.count,
        )  # fmt: skip

    def _parts(self) -> list[tuple[Path, list[str]]]:
        return [(self.folder / f["part"], f["keys"]) for f in self.files.values() if f["part"]]

    def relevant(self, keys: Sequence[str], current: Mapping[str, pl.DataFrame]) -> HeldFiles:
        """The covered extracts holding any of ``keys``: the units sharing a key value with
        ``current`` (keys hashed), whole; every row when a summary key is not in ``keys``."""
        from pipeline.disclosure.held import HeldFiles

        parts = [f for f in self.files.values() if f["part"]]
        files = {f["label"]: f for f in parts if set(keys) & set(f["keys"])}
        if not all(set(f["keys"]) <= set(keys) for f in parts):
            frames = {n: _read_part(self.folder / f["part"], None) for n, f in files.items()}
            return HeldFiles(frames)
        values = {
            k: pl.concat([f.get_column(k) for f in current.values() if k in f.columns])
            .drop_nulls()
            .unique()
            for k in keys
        }
        roots = self.units.roots_meeting(values, self._parts())
        wanted = self.units.labels_of(roots)
        frames = {n: _read_part(self.folder / f["part"], wanted) for n, f in files.items()}
        varying = {n: frozenset(f["varying"]) for n, f in files.items()}
        held = HeldFiles(frames, varying, units_elsewhere=self.units.count - roots.len())
        logger.info(
            "%d earlier extracts to this recipient join this delivery: %d of their rows can "
            "meet it",
            len(frames), sum(f.height for f in frames.values()),
        )  # fmt: skip
        return held


def _read_part(path: Path, units: pl.Series | None) -> pl.DataFrame:
    scan = pl.scan_parquet(path)
    if units is not None:
        scan = scan.filter(pl.col(UNIT).is_in(units.implode()))
    return scan.drop(UNIT).collect()


def _stat(path: Path) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]
