"""Writes the files of the format contract, all at once: built in a temporary folder beside
the destination, then renamed into place, so a reader never sees half a data set."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.unseen_business.record import Record
from benchmarks.unseen_business.world import World

_ID_COLUMNS = ("crn", "vat", "paye")
REGISTER_COLUMNS = (
    "entref", "crn", "vat", "paye", "legal_name", "trading_name", "address", "postcode",
    "status", "dissolution_date",
)  # fmt: skip
_NAME_COLUMNS = ("incoming_id", "name", "trading_name", "address", "postcode")


def register_frame(world: World, *, previous_names: bool = False) -> pl.DataFrame:
    """The register; with ``previous_names`` also ``previous_name``, each company's name
    before its change ("" when it never changed), as Companies House publishes it."""
    rows = world.register
    frame = pl.DataFrame(
        {
            "entref": [b.entref for b in rows],
            "crn": [b.crn for b in rows],
            "vat": [b.vat for b in rows],
            "paye": [b.paye for b in rows],
            "legal_name": [b.legal_name for b in rows],
            "trading_name": [b.trading_name for b in rows],
            "address": [b.address for b in rows],
            "postcode": [b.postcode for b in rows],
            "status": [b.status for b in rows],
            "dissolution_date": [b.dissolution_date for b in rows],
        },
        schema=dict.fromkeys(REGISTER_COLUMNS, pl.String),
    )
    if not previous_names:
        return frame
    changed = pl.Series("previous_name", [b.previous_name for b in rows], dtype=pl.String)
    return frame.with_columns(changed)


def register_meta_frame(world: World) -> pl.DataFrame:
    """Who is who behind the register: groups, agents, kinds, where each trades."""
    rows = world.register
    return pl.DataFrame(
        {
            "entref": pl.Series([b.entref for b in rows], dtype=pl.String),
            "family": pl.Series([b.family for b in rows], dtype=pl.Int64),
            "kind": pl.Series([b.kind for b in rows], dtype=pl.String),
            "role": pl.Series([b.role for b in rows], dtype=pl.String),
            "agent": pl.Series([b.agent for b in rows], dtype=pl.Int64),
            "vat_group": pl.Series([b.vat_group for b in rows], dtype=pl.Boolean),
            "previous_name": pl.Series([b.previous_name for b in rows], dtype=pl.String),
            "trading_address": pl.Series([b.trading_address for b in rows], dtype=pl.String),
            "trading_postcode": pl.Series([b.trading_postcode for b in rows], dtype=pl.String),
            "name_core": pl.Series([b.core for b in rows], dtype=pl.String),
        }
    )


def incoming_frame(records: list[Record]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "incoming_id": [f"IN{index:07d}" for index in range(1, len(records) + 1)],
            "name": [r.name for r in records],
            "trading_name": [r.trading_name for r in records],
            "address": [r.address for r in records],
            "postcode": [r.postcode for r in records],
            "crn": [r.crn for r in records],
            "vat": [r.vat for r in records],
            "paye": [r.paye for r in records],
        },
        schema=dict.fromkeys((*_NAME_COLUMNS, *_ID_COLUMNS), pl.String),
    )


def truth_detail_frame(records: list[Record], incoming: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "incoming_id": incoming["incoming_id"],
            "entref": pl.Series([r.entref for r in records], dtype=pl.String),
            "category": pl.Series([r.category for r in records], dtype=pl.String),
            "family": pl.Series([r.family for r in records], dtype=pl.Int64),
        }
    )


def summary(world: World, records: list[Record], seed: int) -> dict[str, Any]:
    by_category = Counter(record.category for record in records)
    return {
        "register_rows": len(world.register),
        "incoming_rows": len(records),
        "incoming_in_register": sum(1 for record in records if record.entref),
        "incoming_by_category": dict(sorted(by_category.items())),
        "seed": seed,
        "proportions": world.proportions.as_json(),
    }


def write_all(
    destination: Path,
    world: World,
    records: list[Record],
    seed: int,
    *,
    previous_names: bool = False,
) -> None:
    """Every file into ``destination`` (replaced whole if it exists); ``previous_names``: see
    :func:`register_frame`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        incoming = incoming_frame(records)
        register = register_frame(world, previous_names=previous_names)
        register.write_parquet(staging / "register.parquet")
        register_meta_frame(world).write_parquet(staging / "register_meta.parquet")
        incoming.write_csv(staging / "incoming_ids.csv")
        incoming.select(_NAME_COLUMNS).write_csv(staging / "incoming_names.csv")
        truth = truth_detail_frame(records, incoming)
        truth.select("incoming_id", "entref").write_csv(staging / "truth.csv")
        truth.write_parquet(staging / "truth_detail.parquet")
        text = json.dumps(summary(world, records, seed), indent=2) + "\n"
        (staging / "summary.json").write_text(text)
        _swap_in(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, destination: Path) -> None:
    """Rename the finished folder into place; an older data set is moved aside, then removed."""
    retired = destination.with_name(f".{destination.name}-retired")
    shutil.rmtree(retired, ignore_errors=True)
    if destination.exists():
        destination.rename(retired)
    staging.rename(destination)
    shutil.rmtree(retired, ignore_errors=True)
