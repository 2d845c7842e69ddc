"""Extract pseudopeople's bundled sample datasets into prepared Parquet files (pandas only).

Run in an interpreter that has ``pseudopeople`` (it pins scipy < 1.17 and old pandas-stubs, so
it lives in ``.venv-bench``, not the project environment)::

    .venv-bench/bin/python -m benchmarks.independent.sources --out DIR --seed 0

For each source the default noise of pseudopeople 1.3 is applied (``generate_*(seed=...)``,
default year 2020: the 2020 census, tax year 2020, the 2020 ACS and CPS interviews, SSA events
up to 2020). Each output file has ``record_id`` (assigned after a seeded shuffle, so ids say
nothing about who matches whom), the truth columns ``simulant_id`` and ``household_id`` (null
where the source has none), and the link fields, lower-cased, trimmed, blanks as null, dates of
birth rewritten as ``YYYY-MM-DD`` text by position (a noised, impossible date stays text).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.independent.tasks import PREFIX

SOURCES = ("census", "acs", "cps", "w2_1099", "ssa")
GENERATORS = {
    "census": "generate_decennial_census",
    "acs": "generate_american_community_survey",
    "cps": "generate_current_population_survey",
    "w2_1099": "generate_taxes_w2_and_1099",
    "ssa": "generate_social_security",
}
TEXT_FIELDS = (
    "first_name",
    "middle_initial",
    "last_name",
    "sex",
    "street_number",
    "street_name",
    "unit_number",
)


def _text(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip().str.lower()
    return out.mask(out == "")


def _dob_from_mdy(series: pd.Series) -> pd.Series:
    """MM/DD/YYYY -> YYYY-MM-DD by position (noise may break the date; it stays text)."""
    s = _text(series)
    ok = s.str.fullmatch(r"\d{2}/\d{2}/\d{4}").fillna(False)
    return s.where(~ok, s.str[6:10] + "-" + s.str[0:2] + "-" + s.str[3:5])


def _dob_from_ymd(series: pd.Series) -> pd.Series:
    """YYYYMMDD -> YYYY-MM-DD by position."""
    s = _text(series)
    ok = s.str.fullmatch(r"\d{8}").fillna(False)
    return s.where(~ok, s.str[0:4] + "-" + s.str[4:6] + "-" + s.str[6:8])


def _person_fields(raw: pd.DataFrame) -> pd.DataFrame:
    """census, ACS, CPS: names, dob, sex and the residential address."""
    out = pd.DataFrame(index=raw.index)
    for col in TEXT_FIELDS:
        out[col] = _text(raw[col])
    out["dob"] = _dob_from_mdy(raw["date_of_birth"])
    return out


def _tax_fields(raw: pd.DataFrame) -> pd.DataFrame:
    """W-2/1099: names and the mailing address (no dob, no sex)."""
    out = pd.DataFrame(index=raw.index)
    for col in ("first_name", "middle_initial", "last_name"):
        out[col] = _text(raw[col])
    for col in ("street_number", "street_name", "unit_number"):
        out[col] = _text(raw[f"mailing_address_{col}"])
    out["sex"] = pd.Series(pd.NA, index=raw.index, dtype="string")
    out["dob"] = pd.Series(pd.NA, index=raw.index, dtype="string")
    return out


def _ssa_fields(raw: pd.DataFrame) -> pd.DataFrame:
    """SSA: names (middle initial from the middle name), dob, sex; no address."""
    out = pd.DataFrame(index=raw.index)
    for col in ("first_name", "last_name", "sex"):
        out[col] = _text(raw[col])
    out["middle_initial"] = _text(raw["middle_name"]).str[0]
    out["dob"] = _dob_from_ymd(raw["date_of_birth"])
    for col in ("street_number", "street_name", "unit_number"):
        out[col] = pd.Series(pd.NA, index=raw.index, dtype="string")
    return out


FIELD_BUILDERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "census": _person_fields,
    "acs": _person_fields,
    "cps": _person_fields,
    "w2_1099": _tax_fields,
    "ssa": _ssa_fields,
}


def prepare_source(name: str, raw: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Prepared frame of one source: record_id, simulant_id, household_id, link fields."""
    fields = FIELD_BUILDERS[name](raw)
    household = (
        raw["household_id"].astype("string")
        if "household_id" in raw
        else pd.Series(pd.NA, index=raw.index, dtype="string")
    )
    out = pd.concat(
        [
            pd.DataFrame(
                {"simulant_id": raw["simulant_id"].astype("string"), "household_id": household},
                index=raw.index,
            ),
            fields,
        ],
        axis=1,
    )
    order = np.random.default_rng(seed).permutation(len(out))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "record_id", [f"{PREFIX[name]}{i:07d}" for i in range(len(out))])
    return out


def extract(out_dir: Path, seed: int) -> dict[str, int]:
    """Write ``<source>.parquet`` for every source; return row counts."""
    import pseudopeople  # type: ignore[import-not-found]  # lives in .venv-bench only

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for k, name in enumerate(SOURCES):
        raw = getattr(pseudopeople, GENERATORS[name])(seed=seed)
        prepared = prepare_source(name, raw, seed + k)
        tmp = out_dir / f".{name}.parquet.tmp"
        prepared.to_parquet(tmp, index=False)
        tmp.replace(out_dir / f"{name}.parquet")
        rows[name] = len(prepared)
    meta = {
        "pseudopeople_version": pseudopeople.__version__,
        "seed": seed,
        "year": "pseudopeople default (2020)",
        "rows": rows,
    }
    (out_dir / "sources.json").write_text(json.dumps(meta, indent=2))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Extract pseudopeople sample data.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    extract(args.out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
