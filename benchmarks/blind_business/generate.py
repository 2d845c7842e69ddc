"""Build the register and the incoming file and write them, with the truth, to a folder.

Files (all strings; empty = missing):
  register.parquet      entref, crn, vat, paye, legal_name, trading_name, address, postcode,
                        status (active/dissolved), dissolution_date
  register_meta.parquet entref, family, sibling_word, kind, office, status: for scoring only
  incoming_ids.csv      incoming_id, name, trading_name, address, postcode, crn, vat, paye
  incoming_names.csv    the same without crn, vat, paye
  truth.csv             incoming_id, entref (empty when the business is not in the register)
  truth_detail.parquet  incoming_id, entref, category, family, flags, true legal name
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from benchmarks.blind_business.families import add_family
from benchmarks.blind_business.incoming import Incoming, build_incoming
from benchmarks.blind_business.register import Business, RegisterBuilder, RegisterSizes

ID_COLUMNS = ("crn", "vat", "paye")


@dataclass(frozen=True)
class Spec:
    seed: int = 20261207
    incoming: int = 30_000
    in_register_share: float = 0.8
    sizes: RegisterSizes = field(default_factory=RegisterSizes)


def build_register(builder: RegisterBuilder) -> list[Business]:
    sizes = builder.sizes
    plan = (
        ["family"] * sizes.families
        + ["standalone"] * sizes.standalone
        + ["unincorporated"] * sizes.unincorporated
        + ["guarantee"] * sizes.guarantee
        + ["overseas"] * sizes.overseas
    )
    builder.rng.shuffle(plan)
    makers = {
        "standalone": builder.standalone,
        "unincorporated": builder.unincorporated,
        "guarantee": builder.guarantee,
        "overseas": builder.overseas,
    }
    for kind in plan:
        if kind == "family":
            add_family(builder)
        else:
            builder.businesses.append(makers[kind]())
    return builder.businesses


def register_frames(businesses: list[Business]) -> tuple[pl.DataFrame, pl.DataFrame]:
    register = pl.DataFrame(
        {
            "entref": [b.entref for b in businesses],
            "crn": [b.crn for b in businesses],
            "vat": [b.vat for b in businesses],
            "paye": [b.paye for b in businesses],
            "legal_name": [b.name.text for b in businesses],
            "trading_name": [b.trading_name for b in businesses],
            "address": [b.place.address for b in businesses],
            "postcode": [b.place.postcode for b in businesses],
            "status": [b.status for b in businesses],
            "dissolution_date": [b.dissolved_on for b in businesses],
        }
    )
    meta = pl.DataFrame(
        {
            "entref": [b.entref for b in businesses],
            "family": [b.family for b in businesses],
            "sibling_word": [b.sibling_word for b in businesses],
            "kind": [b.kind for b in businesses],
            "office": [b.office for b in businesses],
            "status": [b.status for b in businesses],
        }
    )
    return register, meta


def incoming_frames(records: list[Incoming]) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = [f"IN{i:06d}" for i in range(len(records))]
    columns = ("name", "trading_name", "address", "postcode", *ID_COLUMNS)
    incoming = pl.DataFrame(
        {"incoming_id": ids, **{c: [r.fields[c] for r in records] for c in columns}}
    )
    detail = pl.DataFrame(
        {
            "incoming_id": ids,
            "entref": [r.business.entref for r in records],
            "category": [r.category for r in records],
            "family": [r.business.family for r in records],
            "flags": [";".join(dict.fromkeys(r.flags)) for r in records],
            "true_name": [r.business.name.text for r in records],
            "true_crn": [r.business.crn for r in records],
            "status": [r.business.status for r in records],
        }
    )
    return incoming, detail


def generate(spec: Spec, out: Path) -> dict[str, object]:
    """Write the files under ``out``; return a summary of what was built."""
    rng = random.Random(spec.seed)
    builder = RegisterBuilder(rng, spec.sizes)
    businesses = build_register(builder)
    records = build_incoming(rng, builder, spec.incoming, spec.in_register_share)
    register, meta = register_frames(businesses)
    incoming, detail = incoming_frames(records)
    out.mkdir(parents=True, exist_ok=True)
    register.write_parquet(out / "register.parquet")
    meta.write_parquet(out / "register_meta.parquet")
    incoming.write_csv(out / "incoming_ids.csv")
    incoming.drop(ID_COLUMNS).write_csv(out / "incoming_names.csv")
    detail.select("incoming_id", "entref").write_csv(out / "truth.csv")
    detail.write_parquet(out / "truth_detail.parquet")
    summary = {
        "spec": asdict(spec),
        "register_rows": register.height,
        "families": len(builder.families),
        "incoming_rows": incoming.height,
        "incoming_in_register": int((detail["entref"] != "").sum()),
        "incoming_by_category": dict(
            sorted(detail["category"].value_counts().iter_rows(), key=lambda r: -r[1])
        ),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    import sys

    print(json.dumps(generate(Spec(), Path(sys.argv[1])), indent=2))
